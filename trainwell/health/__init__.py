"""The training doctor: probes -> rules -> findings (and, in repair mode, remedies).

`DoctorLightningCallback` is imported on first use: it needs the `lightning` extra.
"""

from ._doctor import DoctorCallback
from ._evidence import Evidence, gather_evidence
from ._examiner import DEFAULT_EVERY, Examiner
from ._history import ProbeHistory
from ._loop import Doctor
from ._probes import Probe
from ._rebuild import Rebuild
from ._remedy_order import ORDERS, REMEDIES
from ._repair import Repairer
from ._replay import first_nonfinite_layer
from ._rules import CURVE_CODES, CURVE_RULES, PROBE_RULES, Thresholds
from ._silent import LOOP_RULES, LoopThresholds

__all__ = [
    "CURVE_CODES",
    "CURVE_RULES",
    "DEFAULT_EVERY",
    "LOOP_RULES",
    "ORDERS",
    "PROBE_RULES",
    "REMEDIES",
    "Doctor",
    "DoctorCallback",
    "DoctorLightningCallback",
    "Evidence",
    "Examiner",
    "LoopThresholds",
    "Probe",
    "ProbeHistory",
    "Rebuild",
    "Repairer",
    "Thresholds",
    "first_nonfinite_layer",
    "gather_evidence",
]


def __getattr__(name: str):
    if name == "DoctorLightningCallback":
        from ._lightning import DoctorLightningCallback

        return DoctorLightningCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
