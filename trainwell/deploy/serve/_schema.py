"""The request and response models, derived from the served run's `data.json`: the OpenAPI
page documents the real inputs (column names, categories, row length), and pydantic turns
every bad input into a 422 that names the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from ._model import Served

MAX_ROWS = 1024  # rows per request: bounds the time one request holds the model
LIMIT = 3.0e38  # the network computes in float32: larger numbers would become infinite
Number = Annotated[float, Field(ge=-LIMIT, le=LIMIT)]

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ModelLabel(BaseModel):
    name: str
    version: int = Field(description="The registry version (0 for a run directory).")


def request_model(served: Served) -> type[BaseModel]:
    """`{"rows": [{column: value}]}` or `{"inputs": [[number, ...]]}`, exactly one of them."""
    n = served.n_inputs
    Inputs = Annotated[
        list[Annotated[list[Number], Field(min_length=n, max_length=n)]],
        Field(
            min_length=1,
            max_length=MAX_ROWS,
            description=f"Rows of {n} numbers in data.json's feature order, as "
            "load_run(...).predict takes them (before standardisation).",
        ),
    ]
    fields: dict[str, Any] = {"inputs": (Inputs | None, None)}
    if served.columns:
        Rows = Annotated[
            list[row_model(served)],
            Field(min_length=1, max_length=MAX_ROWS, description="Rows by column name."),
        ]
        fields["rows"] = (Rows | None, None)
    return create_model(
        "PredictRequest",
        __config__=_STRICT,
        __validators__={"one_of": model_validator(mode="after")(_one_of)},
        **fields,
    )


def row_model(served: Served) -> type[BaseModel]:
    """One field per source column: a finite number, or one of the training categories (any
    text for a column of too many, `DataInfo.capped`: its rare values were no input); the
    columns training left out (an identifier: `data.json`'s `left_out`) may come along in a
    whole record, and are ignored."""
    fields: dict[str, Any] = {}
    for i, column in enumerate(served.columns):
        kind: Any = Number if column.categories is None else Literal[column.categories]
        if column.others:  # training cut its rare values: any text, those read as unseen
            kind = kind | str
        fields[f"c{i}"] = (kind, Field(alias=column.name))
    for i, (name, why) in enumerate(served.info.left_out.items()):
        help_ = f"Not an input ({why}): ignored."
        fields[f"ignored{i}"] = (Any, Field(None, alias=name, description=help_))
    return create_model("Row", __config__=_STRICT, **fields)


def response_model(served: Served) -> type[BaseModel]:
    classification = served.info.task == "classification"
    Prediction: Any = Literal[tuple(served.info.classes)] if classification else float
    probability_help = (
        f"Per row, the probability of each class in the order {list(served.info.classes)}."
        if classification
        else "null: a regression has no class probabilities."
    )
    return create_model(
        "PredictResponse",
        predictions=(list[Prediction], ...),
        probabilities=(list[list[float]] | None, Field(description=probability_help)),
        model=(ModelLabel, Field(description="The version that made these predictions.")),
    )


def _one_of(request: Any) -> Any:
    given = [k for k in ("rows", "inputs") if getattr(request, k, None) is not None]
    if len(given) != 1:
        names = "'rows' or 'inputs'" if "rows" in type(request).model_fields else "'inputs'"
        raise ValueError(f"give exactly one of {names}; got {len(given)}")
    return request


class Problem(BaseModel):
    """The body of 401 and 413 answers."""

    detail: str
