"""Data that ships with scikit-learn, and generated problems: nothing is downloaded."""

from __future__ import annotations

import math

import numpy as np
from sklearn import datasets

from ..config import Synthetic
from ..errors import DataError
from ._table import Table

BUILTIN = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}
NAMES = (*BUILTIN, "synthetic")


def load_builtin(name: str, *, as_image: bool, synthetic: Synthetic, seed: int) -> Table:
    """Load a bundled dataset; digits come as 1x8x8 images when `as_image` (for a cnn)."""
    if name == "synthetic":
        return _synthetic(synthetic, seed)
    bunch = BUILTIN[name]()
    X = np.asarray(bunch.data, dtype=np.float32)
    features = [str(f) for f in bunch.get("feature_names", [])] or [
        f"f{i}" for i in range(X.shape[1])
    ]
    if name == "diabetes":
        return Table(X, bunch.target.astype(np.float32), "regression", feature_names=features)
    if name == "digits" and as_image:
        X, features = X.reshape(-1, 1, 8, 8), []
    classes = [str(c) for c in bunch.target_names]
    return Table(X, bunch.target.astype(np.int64), "classification", classes, features)


def _synthetic(spec: Synthetic, seed: int) -> Table:
    needed = math.ceil(math.log2(spec.classes))  # make_classification: classes <= 2**informative
    informative = spec.informative or min(spec.features, max(2, spec.features // 2, needed))
    if informative < needed or informative > spec.features:
        raise DataError(
            f"data.synthetic: {spec.classes} classes need {needed} to {spec.features} "
            f"informative features; got {informative}"
        )
    X, y = datasets.make_classification(
        n_samples=spec.samples,
        n_features=spec.features,
        n_informative=informative,
        n_redundant=min(2, spec.features - informative),
        n_classes=spec.classes,
        n_clusters_per_class=1,
        random_state=spec.seed if spec.seed is not None else seed,
    )
    classes = [str(c) for c in range(spec.classes)]
    features = [f"f{i}" for i in range(spec.features)]
    return Table(X.astype(np.float32), y.astype(np.int64), "classification", classes, features)
