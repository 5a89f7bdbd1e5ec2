"""category_variants: one value written several ways ('Cat', 'cat', 'cat '), in the target's
classes or a text input, found; values that differ in more than case or spacing are not."""

import pandas as pd
import pytest

from trainwell.config import load_config
from trainwell.data import load_splits
from trainwell.data.audit import Thresholds
from trainwell.data.audit._columns import category_variants
from trainwell.data.audit._view import AuditData


def _audit(tmp_path, colours, animals):
    n = 120
    frame = pd.DataFrame(
        {
            "size": [float(i % 7) for i in range(n)],
            "colour": [colours[i % len(colours)] for i in range(n)],
            "animal": [animals[i % len(animals)] for i in range(n)],
        }
    )
    path = tmp_path / "pets.csv"
    frame.to_csv(path, index=False)
    cfg = load_config({"data": {"source": str(path), "target": "animal"}})
    return category_variants(AuditData(load_splits(cfg), standardized=True), Thresholds())


def test_classes_written_two_ways_are_a_warning(tmp_path):
    (finding,) = _audit(tmp_path, ["red", "blue"], ["Cat", "cat", "dog"])
    assert finding.severity == "warning"
    assert finding.evidence["columns"] == {"target": [["Cat", "cat"]]}
    assert "'Cat'/'cat'" in finding.message


def test_an_input_written_several_ways_is_a_note(tmp_path):
    (finding,) = _audit(tmp_path, ["red", "Red", "RED  ", "blue"], ["cat", "dog"])
    assert finding.severity == "info"
    (group,) = finding.evidence["columns"]["colour"]
    assert sorted(v.strip() for v in group) == ["RED", "Red", "red"]


@pytest.mark.parametrize(
    "colours, animals",
    [(["red", "blue"], ["cat", "dog"]), (["red", "reds", "red-ish"], ["cat", "cats", "Dog"])],
)
def test_distinct_values_are_no_finding(tmp_path, colours, animals):
    assert _audit(tmp_path, colours, animals) == []
