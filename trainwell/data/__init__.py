"""Data sources, splits, corruption, remedies, augmentation; the audit lives in
`trainwell.data.audit`.

Names are imported on first use (their list is `__init__.pyi`): augmenting a batch should not
load pandas and scikit-learn's datasets.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
