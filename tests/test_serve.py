"""The service, started for real with uvicorn on loopback: the same predictions as
`load_run(...).predict`, auth, every kind of bad input a 4xx naming the field, metrics, the
request log, and hot swaps under concurrent load with every answer labelled."""

import json
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from serve_helpers import (
    AUTH,
    TOKEN,
    fit,
    rows_and_inputs,
    running,
)

import trainwell
from trainwell import registry
from trainwell.deploy.serve import Settings, create_app
from trainwell.deploy.serve._app import _non_finite
from trainwell.deploy.serve._log import RequestLog


@pytest.fixture(scope="module")
def service(two_runs, tmp_path_factory):
    """version 1 of `people` served as people@champion, with a small body limit."""
    csv, first, _ = two_runs
    home = tmp_path_factory.mktemp("registry")
    registry.add(first, "people", home=home)
    registry.promote("people", 1, home=home)
    logs = home / "logs"
    settings = Settings("people@champion", home=str(home), token=TOKEN, max_body=20_000,
                        request_log=str(logs))  # fmt: skip
    with running(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, csv, first, logs


def test_predictions_are_those_of_load_run_by_name_and_by_array(service):
    client, csv, run_dir, _ = service
    rows, X = rows_and_inputs(csv, run_dir)
    run = trainwell.load_run(run_dir)
    assert "customer" in rows[0] and list(run.info.left_out) == ["customer"]  # sent, ignored
    expected = [run.info.classes[i] for i in run.predict(X)]
    by_name = client.post("/predict", json={"rows": rows}, headers=AUTH)
    by_array = client.post("/predict", json={"inputs": X.tolist()}, headers=AUTH)
    for response in (by_name, by_array):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["predictions"] == expected
        assert body["model"] == {"name": "people", "version": 1}
        assert np.allclose(np.sum(body["probabilities"], axis=1), 1, atol=1e-5)
    assert by_name.json()["probabilities"] == by_array.json()["probabilities"]


def test_without_the_right_token_only_health_and_ready_answer(service):
    client, *_ = service
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        for path, method in (("/predict", "POST"), ("/metrics", "GET")):
            response = client.request(method, path, headers=headers, content=b"{}")
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"ready": True, "model": {"name": "people", "version": 1}}
    assert client.get("/metrics", headers=AUTH).status_code == 200


ROW = {"size": 1.0, "weight": 0.5, "colour": "red"}
BAD = [
    ({"rows": [{**ROW, "height": 2.0}]}, ["rows", 0, "height"], "extra_forbidden"),
    ({"rows": [{"size": 1.0, "colour": "red"}]}, ["rows", 0, "weight"], "missing"),
    ({"rows": [{**ROW, "size": "big"}]}, ["rows", 0, "size"], "float_type"),
    ({"rows": [{**ROW, "size": True}]}, ["rows", 0, "size"], "float_type"),
    ({"rows": [{**ROW, "colour": "purple"}]}, ["rows", 0, "colour"], "literal_error"),
    ({"rows": []}, ["rows"], "too_short"),
    ({"inputs": [[1.0, 2.0]]}, ["inputs", 0], "too_short"),
    ({"inputs": [[0] * 5] * 1025}, ["inputs"], "too_long"),
    ({"inputs": [[1, 2, 3, 4, "x"]]}, ["inputs", 0, 4], "float_type"),
    ({"inputs": [[0.0] * 5], "rows": [ROW]}, [], "value_error"),
    ({}, [], "value_error"),
    ({"columns": [1]}, ["columns"], "extra_forbidden"),
    ([ROW], [], "model_attributes_type"),
]


@pytest.mark.parametrize(("body", "field", "kind"), BAD)
def test_bad_input_is_a_422_that_names_the_field(service, body, field, kind):
    client, *_ = service
    response = client.post("/predict", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"] == ["body", *field] and e["type"] == kind for e in errors), errors


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b'{"inputs": [[NaN, 1, 0, 0, 1]]}', "finite_number"),
        (b'{"inputs": [[1e999, 1, 0, 0, 1]]}', "finite_number"),
        (b'{"inputs": [[1e300, 1, 0, 0, 1]]}', "less_than_equal"),  # float32 would overflow
        (b'{"rows": [', "json_invalid"),
        (b'{"rows": "\xff\xfe"}', "body_unreadable"),  # not UTF-8
        (b"\xff\xfe{}", "json_invalid"),  # a UTF-16 mark: not JSON
    ],
)
def test_non_finite_numbers_and_broken_bodies_are_422_never_500(service, raw, kind):
    client, *_ = service
    headers = {**AUTH, "content-type": "application/json"}
    response = client.post("/predict", content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert kind in {e["type"] for e in response.json()["detail"]}


def test_rows_the_network_overflows_on_are_named_and_finite_ones_are_not():
    assert _non_finite(["a", "b", "a"], [[0.5, 0.5], [np.nan, np.nan], [1.0, 0.0]]) == [1]
    assert _non_finite([1.5, np.inf], None) == [1]
    assert _non_finite(["a"], [[0.25, 0.75]]) == []


def test_a_body_over_the_limit_is_413_and_one_under_it_is_served(service):
    client, *_ = service
    big = {"inputs": [[0.125] * 5] * 800}  # about 24 kB > 20 kB
    assert client.post("/predict", json=big, headers=AUTH).status_code == 413
    chunks = (b"x" * 1000 for _ in range(30))  # no Content-Length: counted as it streams
    assert client.post("/predict", content=chunks, headers=AUTH).status_code == 413
    small = {"inputs": [[0.125] * 5] * 100}
    assert client.post("/predict", json=small, headers=AUTH).status_code == 200


def test_metrics_count_requests_validation_failures_and_the_version(service):
    client, *_ = service
    client.post("/predict", json={"inputs": [[0.0] * 5]}, headers=AUTH)
    client.post("/predict", json={"inputs": [[0.0] * 4]}, headers=AUTH)
    text = client.get("/metrics", headers=AUTH).text
    assert 'trainwell_requests_total{path="/predict",status="200"}' in text
    assert 'trainwell_requests_total{path="/predict",status="422"}' in text
    assert 'trainwell_validation_failures_total{type="too_short"}' in text
    assert 'trainwell_model_version{name="people"} 1.0' in text
    assert 'trainwell_request_seconds_bucket{le="0.005",path="/predict"}' in text


def test_the_request_log_holds_encoded_rows_predictions_and_the_version(service):
    client, csv, run_dir, logs = service
    rows, X = rows_and_inputs(csv, run_dir, n=3)
    answer = client.post("/predict", json={"rows": rows}, headers=AUTH).json()
    deadline = time.monotonic() + 10  # a thread of its own writes the log
    while True:
        lines = [json.loads(x) for f in sorted(logs.glob("requests-*.jsonl")) for x in f.open()]
        if (lines and lines[-1]["predictions"] == answer["predictions"]) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.02)
    last = lines[-1]
    assert set(last) == {"time", "model", "inputs", "predictions", "probabilities"}
    assert last["time"].endswith("Z") and last["model"] == {"name": "people", "version": 1}
    assert np.allclose(last["inputs"], X) and last["predictions"] == answer["predictions"]


def test_the_request_log_is_sampled_rotated_and_bounded(tmp_path):
    X = np.zeros((2, 5), np.float32)
    log = RequestLog(tmp_path / "log", max_bytes=400, keep=2)
    for _ in range(20):
        log.write({"name": "m", "version": 1}, X, ["a", "b"], [[1.0, 0.0], [0.0, 1.0]])
    log.close()
    files = list((tmp_path / "log").glob("requests-*.jsonl"))
    assert len(files) == 2 and all(f.stat().st_size <= 400 for f in files)
    off = RequestLog(tmp_path / "off", sample=0.0)
    off.write({"name": "m", "version": 1}, X, ["a", "b"], None)
    assert not (tmp_path / "off").exists()


def test_a_worker_whose_file_another_pruned_writes_to_a_new_one(tmp_path):
    """`serve --workers K`: K logs share a folder and prune it to the newest `keep` files;
    a worker's open file pruned by another must not swallow its later lines."""
    X, model = np.zeros((2, 5), np.float32), {"name": "m", "version": 1}
    first, second = (RequestLog(tmp_path, max_bytes=10_000, keep=1) for _ in range(2))
    first._append("t0", model, X, ["a", "b"], None)
    time.sleep(0.002)  # a later stamp: the second file is the newest
    second._append("t1", model, X, ["a", "b"], None)  # prunes the first worker's file
    first._append("t2", model, X, ["a", "b"], None)
    lines = [json.loads(line) for f in tmp_path.glob("requests-*.jsonl") for line in f.open()]
    assert "t2" in {line["time"] for line in lines}


def test_a_service_without_auth_answers_anyone(two_runs):
    _, first, _ = two_runs
    app = create_app(Settings(str(first), token=None, log_sample=0.0))
    with running(app) as url:
        answer = httpx.post(f"{url}/predict", json={"inputs": [[0.0] * 5]})
    assert answer.status_code == 200 and answer.json()["model"]["version"] == 0


def test_promote_and_rollback_swap_models_under_load_without_a_failed_request(
    two_runs,
    tmp_path,
):
    csv, first, second = two_runs
    registry.add(first, "people", home=tmp_path)
    registry.add(second, "people", home=tmp_path)
    registry.promote("people", 1, home=tmp_path)
    rows, X = rows_and_inputs(csv, first, n=40)
    expected = {
        v: [r.info.classes[i] for i in r.predict(X)]
        for v, r in ((1, trainwell.load_run(first)), (2, trainwell.load_run(second)))
    }
    assert expected[1] != expected[2]  # so a wrong label would show
    settings = Settings("people@champion", home=str(tmp_path), token=TOKEN, poll_s=0.05,
                        log_sample=0.0)  # fmt: skip
    answers: list[tuple[int, int | None, bool]] = []
    stop = threading.Event()

    def client(url: str) -> None:
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as http:
            for _ in range(2000):  # bounded, whatever happens
                if stop.is_set():
                    return
                response = http.post("/predict", json={"rows": rows})
                body = response.json() if response.status_code == 200 else {}
                version = body.get("model", {}).get("version")
                right = body.get("predictions") == expected.get(version)
                answers.append((response.status_code, version, right))

    def wait_for(version: int) -> None:
        deadline = time.monotonic() + 20
        while not any(v == version for _, v, _ in answers[-5:]):
            assert time.monotonic() < deadline, f"version {version} never served"
            time.sleep(0.02)

    with running(create_app(settings)) as url:
        threads = [threading.Thread(target=client, args=(url,)) for _ in range(6)]
        for t in threads:
            t.start()
        wait_for(1)
        registry.promote("people", 2, reason="test", home=tmp_path)
        wait_for(2)
        registry.rollback("people", home=tmp_path)
        wait_for(1)
        stop.set()
        for t in threads:
            t.join(30)
    assert answers and all(status == 200 for status, _, _ in answers)
    assert all(right for _, _, right in answers)  # each answer made by the version it names
    assert {v for _, v, _ in answers} == {1, 2}


def test_a_version_with_other_inputs_is_not_swapped_in(two_runs, tmp_path):
    _, first, _ = two_runs
    other = fit("iris", tmp_path / "iris", epochs=1)
    registry.add(first, "people", home=tmp_path)
    registry.add(other, "people", home=tmp_path)
    registry.promote("people", 1, home=tmp_path)
    settings = Settings("people@champion", home=str(tmp_path), token=TOKEN, poll_s=0.05,
                        log_sample=0.0)  # fmt: skip
    with running(create_app(settings)) as url, httpx.Client(base_url=url, headers=AUTH) as http:
        registry.promote("people", 2, home=tmp_path)
        deadline = time.monotonic() + 20
        refused = 'trainwell_model_swaps_total{outcome="refused"} 1.0'
        while refused not in http.get("/metrics").text:
            assert time.monotonic() < deadline, "the swap was neither refused nor done"
            time.sleep(0.05)
        answer = http.post("/predict", json={"inputs": [[0.0] * 5]})
        assert answer.status_code == 200 and answer.json()["model"]["version"] == 1


def test_another_alias_moving_reloads_nothing(two_runs, tmp_path):
    """The alias file changes when any alias of the name moves: the service reads which
    version its own alias names before loading anything. Proof: the served version's
    weights are damaged on disk, which a reload would refuse (hash check) and count."""
    _, first, second = two_runs
    served = registry.add(first, "people", home=tmp_path)
    registry.add(second, "people", home=tmp_path)
    registry.promote("people", 1, home=tmp_path)
    settings = Settings("people@champion", home=str(tmp_path), token=TOKEN, poll_s=0.05,
                        log_sample=0.0)  # fmt: skip
    with running(create_app(settings)) as url, httpx.Client(base_url=url, headers=AUTH) as http:
        weights = served.path / "model.pt"
        weights.chmod(0o644)
        weights.write_bytes(weights.read_bytes() + b"damaged")
        registry.promote("people", 2, alias="candidate", home=tmp_path)
        time.sleep(0.5)  # ten polls
        metrics = http.get("/metrics").text
        answer = http.post("/predict", json={"inputs": [[0.0] * 5]})
        registry.promote("people", 2, home=tmp_path)  # its own alias: the watcher does swap
        deadline = time.monotonic() + 20
        while 'trainwell_model_swaps_total{outcome="done"} 1.0' not in http.get("/metrics").text:
            assert time.monotonic() < deadline, "the watcher never swapped: was it polling?"
            time.sleep(0.05)
    assert 'trainwell_model_swaps_total{outcome="failed"} 0.0' in metrics
    assert 'trainwell_model_swaps_total{outcome="done"} 0.0' in metrics
    assert answer.status_code == 200 and answer.json()["model"]["version"] == 1


def test_without_the_serve_extra_the_app_names_it(monkeypatch, tmp_path):
    """`create_app` is the demo's way in too: a missing extra is one line naming it (the
    demo then prints it), never a ModuleNotFoundError."""
    from trainwell.errors import InputError

    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fails as if not installed
    with pytest.raises(InputError, match=r'fastapi is missing\): pip install "trainwell\[serve\]"'):
        create_app(Settings(ref=str(tmp_path)))
