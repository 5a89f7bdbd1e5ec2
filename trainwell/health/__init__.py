"""The training doctor: probes -> rules -> findings (and, in repair mode, remedies).

Names are imported on first use (their list is `__init__.pyi`): `trainwell.Doctor` in a
hand-written loop loads the probes and rules, not the Trainer, the data pipeline and
scikit-learn behind `DoctorCallback`; `DoctorLightningCallback` needs the `lightning` extra.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
