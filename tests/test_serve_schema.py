"""schemathesis over the service's own OpenAPI schema (ASGI transport, bounded examples):
valid and invalid requests alike get only documented status codes, never a 5xx, and
answers that match their documented schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serve_helpers import AUTH, TOKEN

from trainwell.data import DataInfo
from trainwell.deploy.serve import Settings, create_app
from trainwell.deploy.serve._model import Served, columns, encode_rows
from trainwell.deploy.serve._schema import row_model

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])  # fmt: skip
def test_generated_requests_get_documented_answers_and_no_5xx(two_runs, mode):
    _, first, _ = two_runs
    app = create_app(Settings(str(first), token=TOKEN, log_sample=0.0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/predict", "/health", "/ready", "/metrics"}
    for operation in operations:
        if mode == schemathesis.GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # no parameters to get wrong

        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH)
            case.validate_response(response, checks=CHECKS)

        check()


@pytest.mark.parametrize("capped", [True, False])
def test_a_column_cut_to_its_most_frequent_values_takes_any_text(capped):
    """A column of too many values is one-hot of its 100 most frequent (`many_categories`):
    a row with one of the others is a row the model reads (none of its inputs set), as
    monitor does, not a 422; a column of a few values still takes only those."""
    cut = {"zip": {"categories": 500, "rows_kept": 0.1}} if capped else {}
    info = DataInfo(
        "t.csv", "classification", [3], ["a", "b"], ["x", "zip=Z1", "zip=Z2"],
        encoding={"zip": ["Z1", "Z2"]}, capped=cut,
    )  # fmt: skip
    served = Served("m", 0, None, info, columns(info), "m")
    Row = row_model(served)
    assert Row.model_validate({"x": 1.0, "zip": "Z2"})
    if capped:
        row = Row.model_validate({"x": 1.0, "zip": "Z77"})
        assert encode_rows([row.model_dump(by_alias=True)], served).tolist() == [[1.0, 0.0, 0.0]]
    else:
        with pytest.raises(ValidationError):
            Row.model_validate({"x": 1.0, "zip": "Z77"})
