"""The public verbs: each runs its job through the layers below, then writes the page a
person reads (`report.html`) into the directory the job wrote.

Every verb takes `report=False` to skip the page (about a second): `trainwell report DIR`
writes it later.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from . import pipeline
from .compress import compress as _compress
from .deploy.monitor import monitor as _monitor
from .deploy.retrain import retrain as _retrain
from .explain import explain as _explain
from .robust import attack as _attack
from .tune import tune as _tune


def _writes_report(job: Callable[..., Any]) -> Callable[..., Any]:
    """`job` (whose result has a `run_dir`, or `report_dirs` when it wrote several runs),
    then their `report.html` unless `report=False`; the signature and docstring are the
    job's, plus `report`."""

    @functools.wraps(job)
    def verb(*args: Any, report: bool = True, **kwargs: Any) -> Any:
        result = job(*args, **kwargs)
        if report:
            from .report import write_report_or_warn  # matplotlib takes a second to import

            # the job is complete on disk: a failure warns
            for directory in getattr(result, "report_dirs", [result.run_dir]):
                write_report_or_warn(directory)
        return result

    signature = inspect.signature(job)
    params = list(signature.parameters.values())
    at = len(params) - (params[-1].kind is inspect.Parameter.VAR_KEYWORD)
    flag = inspect.Parameter(
        "report", inspect.Parameter.KEYWORD_ONLY, default=True, annotation=bool
    )
    verb.__signature__ = signature.replace(parameters=[*params[:at], flag, *params[at:]])
    return verb


fit = _writes_report(pipeline.fit)
resume = _writes_report(pipeline.resume)
audit = _writes_report(pipeline.audit)
tune = _writes_report(_tune)
compress = _writes_report(_compress)
attack = _writes_report(_attack)
explain = _writes_report(_explain)
monitor = _writes_report(_monitor)
retrain = _retrain  # writes the challenger's page itself, before the registry copies the run
