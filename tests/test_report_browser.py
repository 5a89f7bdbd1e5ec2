"""The report in a real browser (headless Chromium): every figure renders, nothing is
fetched, nothing is logged as an error. Screenshots go to $TRAINWELL_SHOTS when set."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from _chromium import CHROMIUM, Chromium
from report_runs import write_run

import trainwell
from trainwell.report import compare_runs, write_report

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt-get)"
)

_IMAGES = "[...document.images].map(i => ({w: i.naturalWidth, done: i.complete}))"
_FAULTY = {
    "data": {"source": "digits"},
    "model": {"hidden": [64] * 8, "activation": "sigmoid"},
    "train": {"optimizer": "sgd", "lr": 0.01, "epochs": 10},
    "doctor": {"mode": "repair"},
}


_NOISY_DIGITS = {
    "data": {"source": "digits", "corrupt": {"label_noise": 0.1, "leak_fraction": 0.05}},
    "model": {"arch": "cnn"},
}
_IRIS_STUDY = {
    "data": {"source": "iris"},
    "train": {"epochs": 4, "batch_size": 16},
    "tune": {
        "train.lr": {"low": 1.0e-3, "high": 0.3, "log": True},
        "model.layers": {"low": 1, "high": 2},
        "model.width": {"low": 8, "high": 64, "log": True},
    },
}
_THUMBS = "[...document.querySelectorAll('figure.thumb img')].map(i => i.naturalWidth)"


@pytest.fixture(scope="module")
def browser():
    with Chromium() as chromium:
        yield chromium


def _check(browser: Chromium, page_path: Path, shots: Path) -> None:
    page = browser.page()
    try:
        page.open(page_path)
        images = page.evaluate(_IMAGES)
        assert images and all(i["done"] and i["w"] > 0 for i in images), images
        assert page.requests == []
        assert page.errors == []
        shots.mkdir(parents=True, exist_ok=True)
        for width, name in ((1280, "laptop"), (390, "phone")):
            shot = shots / f"{page_path.parent.name}-{page_path.stem}-{name}.png"
            page.screenshot(shot, width)
            assert shot.stat().st_size > 10_000
        # at phone width nothing is wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        pdf = base64.b64decode(page.call("Page.printToPDF")["data"])  # it prints
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1
        assert page.errors == []
    finally:
        page.close()


@pytest.mark.slow
def test_reports_render_in_chromium(browser, tmp_path, monkeypatch):
    shots = Path(os.environ.get("TRAINWELL_SHOTS") or tmp_path / "shots")
    monkeypatch.setenv("TRAINWELL_HOME", str(tmp_path / "runs"))
    repaired = trainwell.fit(_FAULTY).run_dir  # a real run: the doctor repairs it
    pages = [repaired / "report.html"]
    for kind in ("healthy", "diverged", "regression", "data"):
        pages.append(write_report(write_run(tmp_path / "synthetic", kind)))
    pages.append(compare_runs(repaired, pages[1].parent, tmp_path / "compare" / "page.html"))
    for page_path in pages:
        _check(browser, page_path, shots)


@pytest.mark.slow
def test_audit_and_tune_pages_render_in_chromium(browser, tmp_path):
    """The suspect digits as inline PNGs, the class balance, a study's figures."""
    shots = Path(os.environ.get("TRAINWELL_SHOTS") or tmp_path / "shots")
    audited = trainwell.audit(_NOISY_DIGITS, out=tmp_path / "audit").run_dir
    tuned = trainwell.tune(_IRIS_STUDY, trials=6, study="iris", out=tmp_path / "tune").run_dir
    for page_path in (audited / "report.html", tuned / "report.html"):
        _check(browser, page_path, shots)
    page = browser.page()
    try:
        page.open(audited / "report.html")
        thumbs = page.evaluate(_THUMBS)
        assert len(thumbs) >= 24 and all(w == 8 for w in thumbs)  # digits, 8 x 8 pixels
    finally:
        page.close()


def test_the_browser_check_sees_fetches_errors_and_broken_images(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://example.invalid/x.png"><script>console.error("boom")</script>')
    page = browser.page()
    try:
        page.open(bad)
        assert page.evaluate(_IMAGES)[0]["w"] == 0
        assert page.requests == ["http://example.invalid/x.png"]
        assert any("boom" in e for e in page.errors)
    finally:
        page.close()
