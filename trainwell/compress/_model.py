"""`OnnxModel`: predict from an exported (or int8) ONNX file, with the run's preprocessing.

The ONNX graph takes the inputs the network trained on (standardised, in the shape of
`data.json`'s `input_shape`); this class applies the same preprocessing as
`load_run(...).predict`, read from the `data.json` beside the file: feature order,
standardisation by the training split's mean and std, and the regression target's scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data import DataInfo, frame_features, standardise
from ..errors import InputError
from ..runs import read_json
from ._onnx import run_session, session


class OnnxModel:
    """An ONNX variant written by `trainwell compress`, ready to predict.

    `OnnxModel("runs/x/compressed/int8")` (the variant's directory, or its `model.onnx`)
    needs only onnxruntime and numpy at prediction time. Inputs are raw rows in
    `data.json`'s feature order, or a DataFrame of the training file's columns (picked by
    name, text columns encoded as in training), exactly as `load_run(...).predict` takes
    them.
    """

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        path = Path(path)
        file = path / "model.onnx" if path.is_dir() else path
        if not file.is_file():
            raise InputError(f"{path} has no model.onnx: is it a variant of `trainwell compress`?")
        described = file.parent / "data.json"
        if not described.is_file():
            raise InputError(f"{file.parent} has no data.json beside {file.name}")
        self.path = file
        self.info = DataInfo(**read_json(described))
        self.session = session(file, threads)

    def outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs: logits (classification) or standardised values."""
        return run_session(self.session, self.preprocess(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class ids (classification) or values in the target's units (regression)."""
        out = self.outputs(X)
        if self.info.task == "classification":
            return out.argmax(1)
        return out.reshape(-1) * self.info.y_std + self.info.y_mean

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (the softmax of the logits)."""
        if self.info.task != "classification":
            raise InputError("predict_proba needs a classification model")
        logits = self.outputs(X)
        exp = np.exp(logits - logits.max(1, keepdims=True))
        return exp / exp.sum(1, keepdims=True)

    def preprocess(self, X: Any) -> np.ndarray:
        """Raw rows -> what the graph takes: ordered, standardised, shaped, float32."""
        if hasattr(X, "columns") and self.info.feature_names:  # a DataFrame
            X, _ = frame_features(X, self.info, "the DataFrame")
        return standardise(X, self.info)
