"""Running a config end to end: plan (validate, audit and remedy the data, build the model),
train with the doctor, evaluate, and write the run directory.

The layer between the doctor and the capabilities built on training: tuning runs its
trials through `fit`, the LR range test starts from `plan_run`. Writing the HTML report
is left to the API above (`trainwell.fit`), which the report layer sits below.
"""

from ._audit import Audit, audit, remembered_audits
from ._fit import fit
from ._plan import Plan, plan_run, transfer_untold
from ._reference import calibrated, embed, on_grid, reference_arrays
from ._resume import resume
from ._run import Run, load_run, own_model_refusal

__all__ = [
    "Audit",
    "Plan",
    "Run",
    "audit",
    "calibrated",
    "embed",
    "fit",
    "load_run",
    "on_grid",
    "own_model_refusal",
    "plan_run",
    "reference_arrays",
    "remembered_audits",
    "resume",
    "transfer_untold",
]
