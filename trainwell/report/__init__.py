"""The run report: one self-contained HTML page per run, and a page comparing two runs."""

from ._environment import environment
from ._render import compare_runs, write_report

__all__ = ["compare_runs", "environment", "write_report"]
