"""Data sources, splits, corruption and (later) audit and augmentation."""

from ._dataset import DataInfo, Dataset, load_table, prepare_data
from ._split import Split, Standardizer
from ._table import Table

__all__ = ["DataInfo", "Dataset", "Split", "Standardizer", "Table", "load_table", "prepare_data"]
