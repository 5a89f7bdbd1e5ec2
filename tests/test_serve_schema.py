"""schemathesis over the service's own OpenAPI schema (ASGI transport, bounded examples):
valid and invalid requests alike get only documented status codes, never a 5xx, and
answers that match their documented schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serve_helpers import AUTH, TOKEN

from trainwell.deploy.serve import Settings, create_app

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
