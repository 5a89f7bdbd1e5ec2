"""The Trainer loop, its callback events, checkpoints and resume, precision, adversarial
training, data-parallel training (DDP).

Names are imported on first use (their list is `__init__.pyi`): the doctor of a hand-written
loop needs the rank helpers, not the Trainer's data pipeline and scikit-learn metrics.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
