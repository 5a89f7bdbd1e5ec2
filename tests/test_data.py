import numpy as np
import pytest

from trainwell import DataError, load_config
from trainwell.data import load_table, prepare_data


def _data(**overrides):
    return prepare_data(load_config(None, overrides))


@pytest.mark.parametrize(
    ("source", "task", "n", "n_features", "n_classes"),
    [
        ("iris", "classification", 150, 4, 3),
        ("wine", "classification", 178, 13, 3),
        ("breast_cancer", "classification", 569, 30, 2),
        ("diabetes", "regression", 442, 10, 0),
        ("digits", "classification", 1797, 64, 10),
    ],
)
def test_builtin_sources(source, task, n, n_features, n_classes):
    table = load_table(load_config(None, {"data.source": source}))
    assert table.task == task and table.n_rows == n
    assert table.X.shape == (n, n_features) and table.X.dtype == np.float32
    assert len(table.classes) == n_classes


def test_digits_are_images_for_a_cnn_and_flat_for_an_mlp():
    cnn = load_table(load_config(None, {"model.arch": "cnn"}))
    mlp = load_table(load_config(None, {"model.arch": "mlp"}))
    assert cnn.X.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(cnn.X.reshape(1797, 64), mlp.X)


def test_synthetic_is_configurable_and_seeded():
    table = load_table(
        load_config(
            None,
            {
                "data.source": "synthetic",
                "data.synthetic": {"samples": 300, "features": 7, "classes": 3},
            },
        )
    )
    assert table.X.shape == (300, 7) and sorted(set(table.y.tolist())) == [0, 1, 2]
    again = load_table(
        load_config(
            None,
            {
                "data.source": "synthetic",
                "data.synthetic": {"samples": 300, "features": 7, "classes": 3},
            },
        )
    )
    np.testing.assert_array_equal(table.X, again.X)
    other = load_table(
        load_config(
            None,
            {
                "data.source": "synthetic",
                "seed": 1,
                "data.synthetic": {"samples": 300, "features": 7, "classes": 3},
            },
        )
    )
    assert not np.array_equal(table.X, other.X)


def test_split_is_seeded_stratified_and_disjoint():
    data = _data(**{"data.source": "iris"})
    rows = [set(s.rows.tolist()) for s in (data.train, data.val, data.test)]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    assert len(rows[0] | rows[1] | rows[2]) == 150
    assert len(data.test) == 30 and len(data.val) == 30
    assert np.bincount(data.test.y).tolist() == [10, 10, 10]  # stratified
    same = _data(**{"data.source": "iris"})
    np.testing.assert_array_equal(data.train.rows, same.train.rows)
    other = _data(**{"data.source": "iris", "seed": 5})
    assert not np.array_equal(data.train.rows, other.train.rows)


def test_rows_index_the_source():
    config = load_config(None, {"data.source": "wine", "data.standardize": False})
    table, data = load_table(config), prepare_data(config)
    np.testing.assert_array_equal(data.test.X, table.X[data.test.rows])
    np.testing.assert_array_equal(data.train.y, table.y[data.train.rows])


def test_standardisation_is_fitted_on_the_training_split_only():
    data = _data(**{"data.source": "wine"})
    np.testing.assert_allclose(data.train.X.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(data.train.X.std(0), 1, atol=1e-3)
    assert np.abs(data.test.X.mean(0)).max() > 0.05  # not refitted on test
    raw = load_table(load_config(None, {"data.source": "wine"}))
    mean = raw.X[data.train.rows].mean(0)
    np.testing.assert_allclose(data.info.x_mean, mean, rtol=1e-4)


def test_regression_targets_are_standardised_with_the_scale_kept():
    data = _data(**{"data.source": "diabetes"})
    assert abs(data.train.y.mean()) < 1e-5 and data.info.y_std > 10
    assert data.info.n_outputs == 1


def test_label_noise_flips_exactly_the_recorded_rows():
    clean = _data(**{"data.source": "digits"})
    noisy = _data(**{"data.source": "digits", "data.corrupt.label_noise": 0.1})
    record = noisy.corruption["label_noise"]
    changed = noisy.train.rows[noisy.train.y != clean.train.y]
    assert sorted(changed.tolist()) == sorted(record["rows"])
    assert len(record["rows"]) == round(0.1 * len(clean.train))
    position = {row: i for i, row in enumerate(clean.train.rows.tolist())}
    for row, original, new in zip(record["rows"], record["original"], record["new"], strict=True):
        assert clean.train.y[position[row]] == original != new
    again = _data(**{"data.source": "digits", "data.corrupt.label_noise": 0.1})
    assert again.corruption == noisy.corruption


def test_imbalance_keeps_a_fraction_of_one_class():
    clean = _data(**{"data.source": "digits"})
    data = _data(**{"data.source": "digits", "data.corrupt.imbalance": {"class": 3, "keep": 0.1}})
    before, after = (np.sum(d.train.y == 3) for d in (clean, data))
    assert after == round(0.1 * before)
    dropped = data.corruption["imbalance"]["dropped_rows"]
    assert len(dropped) == before - after
    assert not set(dropped) & set(data.train.rows.tolist())
    with pytest.raises(DataError, match="class 12 does not exist"):
        _data(**{"data.source": "digits", "data.corrupt.imbalance": {"class": 12, "keep": 0.1}})


def test_leaked_test_rows_appear_in_training():
    data = _data(**{"data.source": "iris", "data.corrupt.leak_fraction": 0.5})
    leaked = data.corruption["leak_fraction"]["rows"]
    assert len(leaked) == 15
    assert set(leaked) <= set(data.test.rows.tolist())
    assert set(leaked) <= set(data.train.rows.tolist())
    assert len(data.train) == 90 + 15


def test_nan_fraction_sets_training_values_to_nan():
    data = _data(**{"data.source": "wine", "data.corrupt.nan_fraction": 0.05})
    record = data.corruption["nan_fraction"]
    assert np.isnan(data.train.X).sum() == record["cells"] == round(0.05 * data.train.X.size)
    nan_rows = data.train.rows[np.isnan(data.train.X).any(1)]
    assert sorted(set(nan_rows.tolist())) == record["rows"]
    assert not np.isnan(data.test.X).any()


def test_feature_scale_multiplies_the_raw_inputs():
    plain = _data(**{"data.source": "iris", "data.standardize": False})
    scaled = _data(
        **{"data.source": "iris", "data.standardize": False, "data.corrupt.feature_scale": 100.0}
    )
    np.testing.assert_allclose(scaled.test.X, plain.test.X * 100, rtol=1e-6)
    assert scaled.corruption == {"feature_scale": {"factor": 100.0}}


def test_no_corruption_records_nothing():
    assert _data(**{"data.source": "iris"}).corruption == {}


def test_cnn_on_a_table_is_refused():
    with pytest.raises(DataError, match="needs image data"):
        _data(**{"data.source": "iris", "model.arch": "cnn"})


def test_unknown_source_is_refused():
    with pytest.raises(DataError, match="neither a file"):
        _data(**{"data.source": "mnist"})


def test_an_infinite_value_is_missing_to_the_standardiser_not_a_scale():
    """One -inf in a column made its mean -3.4e38 and every other row of it 3.4e38: the
    run crashed in the doctor's reference model (exit 1, a failed run left behind)."""
    from trainwell.data import Standardizer

    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    with_inf = X.copy()
    with_inf[3, 0] = -np.inf
    scaler = Standardizer.fit(with_inf)
    column = np.delete(X[:, 0], 3)  # the finite values of the column with the inf
    np.testing.assert_allclose(scaler.mean, [column.mean(), X[:, 1].mean()], rtol=1e-6)
    np.testing.assert_allclose(scaler.std, [column.std(), X[:, 1].std()], rtol=1e-6)
    assert np.isfinite(np.delete(scaler.transform(with_inf), 3, axis=0)).all()


@pytest.mark.parametrize("rows", [3, 12])
def test_a_tiny_unstratified_table_is_refused_or_audited_not_a_crash(tmp_path, rows):
    """3 rows split 1/1/1 left the audit's neighbours none (exit 1); 12 unstratified rows
    left a cross-validation fold one class to learn from (exit 1): refused in one line, or
    audited."""
    from trainwell.data import load_splits
    from trainwell.data.audit._labels import out_of_sample_probabilities

    path = tmp_path / "d.csv"
    path.write_text(
        "a,label\n" + "".join(f"{i * 0.37 % 1:.2f},{'xy'[i % 2]}\n" for i in range(rows))
    )
    cfg = load_config({"data": {"source": str(path), "split": {"stratify": False}}})
    if rows == 3:
        with pytest.raises(DataError, match="3 rows: too few to split"):
            load_splits(cfg)
        return
    data = load_splits(cfg)
    probs = out_of_sample_probabilities(
        data.train.X, np.r_[0, np.ones(len(data.train.y) - 1, int)], 2, 5
    )
    assert probs.shape == (len(data.train.y), 2) and np.isfinite(probs).all()


def test_a_class_too_small_to_stratify_is_named_not_numbered(tmp_path):
    """scikit-learn's message said 'Classes with too few members are: [1]'."""
    path = tmp_path / "d.csv"
    rows = "".join(f"{i},{'a' if i % 2 else 'b'}\n" for i in range(40))
    path.write_text("x,label\n" + rows + "40,rare\n")
    with pytest.raises(DataError, match=r"fewer: 'rare' \(1\) \(a class may be too small"):
        from trainwell.data import load_splits

        load_splits(load_config({"data": {"source": str(path)}}))


def test_many_whole_number_classes_too_small_to_split_suggest_a_regression(tmp_path):
    """Ages were 41 classes (task: auto), one of a single row: the hint to stop
    stratifying led to a 50-class model at 14% accuracy; the task is what to check."""
    from trainwell.data import load_splits

    path = tmp_path / "d.csv"
    ages = [18 + (i * 7) % 40 for i in range(120)] + [99]
    path.write_text("x,target\n" + "".join(f"{i},{a}\n" for i, a in enumerate(ages)))
    with pytest.raises(
        DataError, match=r"41 whole numbers were taken as classes: .* set data\.task: regression"
    ):
        load_splits(load_config({"data": {"source": str(path)}}))
    prices = [f"{67930.36 + i * 13.7:.2f}" for i in range(120)]  # told classification
    path.write_text("x,target\n" + "".join(f"{i},{p}\n" for i, p in enumerate(prices)))
    config = {"data": {"source": str(path), "task": "classification"}}
    with pytest.raises(DataError, match=r"\(120 numbers were taken as classes: if the target"):
        prepare_data(load_config(config))


def test_a_regression_too_small_to_split_is_one_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,target\n1,0.5\n2,1.5\n")
    from trainwell.data import load_splits

    with pytest.raises(DataError, match="cannot split 2 rows"):
        load_splits(load_config({"data": {"source": str(path), "task": "regression"}}))


@pytest.mark.parametrize("stratify", [True, False])
def test_a_class_per_row_is_refused_with_what_to_do(tmp_path, stratify):
    """A price written as text ('$392,405.92') read as 600 classes: with stratify the split
    failed with advice to turn it off, and then the label check crashed (exit 1)."""
    rows = "\n".join(f'{i},"${1000 + 7 * i:,}.50"' for i in range(60))
    (tmp_path / "prices.csv").write_text("x,price\n" + rows)
    config = {"data": {"source": str(tmp_path / "prices.csv"), "target": "price"}}
    config["data"]["split"] = {"stratify": stratify}
    with pytest.raises(DataError, match=r"60 classes in 60 rows .* data\.task: regression"):
        prepare_data(load_config(config))
