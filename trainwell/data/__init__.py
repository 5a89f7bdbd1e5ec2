"""Data sources, splits, corruption; the audit lives in `trainwell.data.audit`."""

from ._dataset import DataInfo, Dataset, finish_data, load_splits, load_table, prepare_data
from ._split import Split, Standardizer
from ._table import Table

__all__ = [
    "DataInfo",
    "Dataset",
    "Split",
    "Standardizer",
    "Table",
    "finish_data",
    "load_splits",
    "load_table",
    "prepare_data",
]
