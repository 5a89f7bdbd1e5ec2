"""The run report: one self-contained HTML page per run, and a page comparing two runs.

A capability layer: it reads run directories (and the plain types of config, findings and
runs); the Trainer and the doctor know nothing of it.
"""

from ._load import RunRecord, load_record
from ._render import compare_runs, render_report, write_report, write_report_or_warn

__all__ = [
    "RunRecord",
    "compare_runs",
    "load_record",
    "render_report",
    "write_report",
    "write_report_or_warn",
]
