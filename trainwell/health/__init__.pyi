from ._doctor import DoctorCallback
from ._evidence import Evidence, gather_evidence
from ._examiner import DEFAULT_EVERY, Examiner
from ._history import ProbeHistory
from ._lightning import DoctorLightningCallback
from ._loop import Doctor
from ._loop_rules import LOOP_RULES
from ._model_remedies import swap_relus, swapped_relus
from ._probes import Probe
from ._rebuild import Rebuild
from ._remedy_order import ORDERS, REMEDIES
from ._repair import Repairer
from ._replay import first_nonfinite_layer
from ._rules import CURVE_CODES, CURVE_RULES, PROBE_RULES, Thresholds
from ._silent import LoopThresholds
