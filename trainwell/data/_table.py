"""What every data source returns: all rows of the source, in source order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "regression"]


@dataclass
class Table:
    """A loaded source before splitting.

    Row `i` of `X`/`y` is row `i` of the source: that index identifies the row everywhere
    (splits, corruption.json, findings).
    """

    X: np.ndarray  # float32: (n, features) for tables, (n, channels, height, width) for images
    y: np.ndarray  # int64 class ids for classification, float32 for regression
    task: Task
    classes: list[str] = field(default_factory=list)  # class id -> name; [] for regression
    feature_names: list[str] = field(default_factory=list)
    encoding: dict[str, Any] = field(default_factory=dict)  # categorical column -> categories
    masks: np.ndarray | None = None  # images: (n, height, width) bool, where each defect is
    left_out: dict[str, str] = field(default_factory=dict)  # source column -> why not an input
    # text columns with more categories than are one-hot: how many, and the rows they cover
    capped: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return self.X.ndim == 4

    @property
    def n_rows(self) -> int:
        return len(self.y)
