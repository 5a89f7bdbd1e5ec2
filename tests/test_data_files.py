"""`load_file`: every file kind on small generated data, and every bad input as one line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trainwell.data._files import MAX_CATEGORIES, load_file
from trainwell.data._frames import IDENTIFIER_ROWS, read_frame
from trainwell.data._table import Table
from trainwell.errors import DataError


def _load(source: Path, **options) -> Table:
    settings = {"target": None, "task": "auto", "image_size": (4, 6), "grayscale": False}
    return load_file(str(source), **{**settings, **options})


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_numbers_stay_float_with_nan_and_text_is_one_hot(tmp_path):
    path = _write(tmp_path / "d.csv", "size,color,label\n1.5,red,b\n,blue,a\n3,,b\n4,red,a\n")
    table = _load(path)
    assert table.task == "classification" and table.classes == ["a", "b"]
    assert table.y.dtype == np.int64 and table.y.tolist() == [1, 0, 1, 0]
    assert table.feature_names == ["size", "color=blue", "color=red"]
    assert table.encoding == {"color": ["blue", "red"]}
    assert table.X.dtype == np.float32 and table.X.shape == (4, 3)
    expected = [[1.5, 0, 1], [np.nan, 1, 0], [3, 0, 0], [4, 0, 1]]  # row i is file row i
    np.testing.assert_array_equal(table.X, np.array(expected, dtype=np.float32))


def test_numeric_labels_sort_as_numbers_not_text(tmp_path):
    path = _write(tmp_path / "d.csv", "x,label\n0,10\n1,2\n2,1\n3,10\n")
    table = _load(path)
    assert table.classes == ["1", "2", "10"]
    assert table.y.tolist() == [2, 1, 0, 2]


def test_auto_task_picks_regression_for_fractions_and_many_integers(tmp_path):
    fractions = _write(tmp_path / "f.csv", "x,target\n1,0.5\n2,1.25\n3,-2\n")
    table = _load(fractions)
    assert table.task == "regression" and table.classes == []
    assert table.y.dtype == np.float32 and table.y.tolist() == [0.5, 1.25, -2.0]
    many = _write(tmp_path / "m.csv", "x,label\n" + "".join(f"{i},{i}\n" for i in range(51)))
    assert _load(many).task == "regression"
    assert _load(many, task="classification").classes[:3] == ["0", "1", "2"]


def test_target_option_names_the_column(tmp_path):
    path = _write(tmp_path / "d.csv", "price,rooms,label\n99.5,2,x\n250,4,y\n")
    table = _load(path, target="price")
    assert table.task == "regression" and table.y.tolist() == [99.5, 250.0]
    assert table.feature_names == ["rooms", "label=x", "label=y"]


def test_parquet_keeps_declared_category_order_and_one_hots_bools(tmp_path):
    frame = pd.DataFrame(
        {
            "n": [0.0, 1.0, 2.0, 3.0],
            "size": pd.Categorical(["s", "l", "m", "s"], categories=["s", "m", "l"]),
            "flag": [True, False, True, True],
            "label": [3, 1, 2, 3],
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    table = _load(tmp_path / "d.parquet")
    assert table.classes == ["1", "2", "3"] and table.y.tolist() == [2, 0, 1, 2]
    assert table.encoding == {"size": ["s", "m", "l"], "flag": ["False", "True"]}
    assert table.feature_names == ["n", "size=s", "size=m", "size=l", "flag=False", "flag=True"]
    assert table.X[1].tolist() == [1, 0, 0, 1, 1, 0]


def test_identifiers_and_a_saved_index_are_left_out_and_the_rest_kept(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {
            "Unnamed: 0": rng.permutation(n),  # a shuffled frame saved with its index
            "customer": [f"C-{i:04d}" for i in rng.permutation(n)],
            "note": [f"called on day {i}" if i % 10 else None for i in range(n)],  # free text
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),  # repeats: a category
            "amount": rng.normal(size=n),  # distinct numbers are measurements
            "Unnamed: 5": rng.integers(0, 3, n),  # a blank header, not row numbers
            "label": np.arange(n) % 2,
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    table = _load(tmp_path / "d.csv")
    assert list(table.left_out) == ["Unnamed: 0", "customer", "note"]
    assert "saved index" in table.left_out["Unnamed: 0"]
    assert "40 of 40 rows" in table.left_out["customer"]
    assert "36 of 36 rows" in table.left_out["note"]  # missing values are not counted
    assert table.feature_names == ["city=Lima", "city=Oslo", "city=Pune", "amount", "Unnamed: 5"]
    # too few rows to tell an identifier from a category; no longer the row numbers: kept
    frame.head(IDENTIFIER_ROWS - 1).to_csv(tmp_path / "small.csv", index=False)
    small = _load(tmp_path / "small.csv")
    assert small.left_out == {} and small.feature_names[0] == "Unnamed: 0"
    assert sum(name.startswith("customer=") for name in small.feature_names) == IDENTIFIER_ROWS - 1


def test_free_text_is_left_out_and_categories_of_several_words_are_kept(tmp_path):
    """Notes of a few hundred words, 40% of them one boilerplate (so not "a value of its own
    in each row"): one-hot of 181 texts dropped test accuracy from 0.95 to 0.82."""
    rng = np.random.default_rng(0)
    words = ["the", "sample", "was", "taken", "at", "dawn", "under", "cloud", "with", "wind"]
    notes = [
        " ".join(rng.choice(words, 30)) if i % 5 > 1 else "standard note " * 10 for i in range(60)
    ]
    cities = ["New York City", "Los Angeles", "Rio de Janeiro"]
    frame = pd.DataFrame(
        {"x": rng.normal(size=60), "notes": notes, "city": [cities[i % 3] for i in range(60)]}
    )
    path = tmp_path / "d.csv"
    frame.assign(label=np.arange(60) % 2).to_csv(path, index=False)
    table = _load(path)
    assert list(table.left_out) == ["notes"] and "free text" in table.left_out["notes"]
    assert table.encoding == {"city": sorted(cities)}


def test_files_as_spreadsheets_save_them_are_read(tmp_path):
    """Semicolons (with decimal commas, as in most of Europe), tabs, Windows' encoding."""
    expected = [[1.5, 2.0], [-0.25, 4.0], [3.0, 8.0]]
    files = {
        "semicolon.csv": ("size;count;label\n1,5;2;a\n-0,25;4;b\n3;8;a\n", "utf-8"),
        "dot_semicolon.csv": ("size;count;label\n1.5;2;a\n-0.25;4;b\n3;8;a\n", "utf-8"),
        "tabs.csv": ("size\tcount\tlabel\n1.5\t2\ta\n-0.25\t4\tb\n3\t8\ta\n", "utf-8"),
        "latin1.csv": ("size,count,label\n1.5,2,\xe4\n-0.25,4,b\n3,8,\xe4\n", "latin-1"),
    }
    for name, (text, encoding) in files.items():
        (tmp_path / name).write_text(text, encoding=encoding)
        table = _load(tmp_path / name)
        assert table.feature_names == ["size", "count"], name
        np.testing.assert_array_equal(table.X, np.array(expected, dtype=np.float32))
    assert _load(tmp_path / "latin1.csv").classes == ["b", "\xe4"]


def test_spaces_after_the_separators_are_not_part_of_names_or_values(tmp_path):
    """`a, b, label` named the target ' label' (not found: exit 2) and made ' red' and 'red'
    two categories."""
    spaced = _load(
        _write(tmp_path / "s.csv", "size, colour, label\n1, red, a\n2,red, b\n3, blue, a\n")
    )
    plain = _load(_write(tmp_path / "p.csv", "size,colour,label\n1,red,a\n2,red,b\n3,blue,a\n"))
    assert spaced.feature_names == plain.feature_names == ["size", "colour=blue", "colour=red"]
    np.testing.assert_array_equal(spaced.X, plain.X)
    assert spaced.classes == plain.classes == ["a", "b"]


@pytest.mark.parametrize("written", ["1.234,5", "$12.50", "42%", "1,234.5"])
def test_numbers_written_as_text_are_one_line_not_categories(tmp_path, written):
    """Read as text, a measurement was one-hot encoded or left out as an identifier."""
    rows = "".join(f'"{written}",{i % 2}\n' for i in range(30))
    with pytest.raises(DataError, match=r"'price' holds numbers written as text"):
        _load(_write(tmp_path / "d.csv", "price,label\n" + rows))
    # the healthy twin: words that are categories, codes that are numbers
    fine = "".join(f"{['low', 'high'][i % 2]},{i},{i % 2}\n" for i in range(30))
    assert _load(_write(tmp_path / "ok.csv", "level,code,label\n" + fine)).X.shape == (30, 3)


def test_dates_and_durations_are_left_out_not_one_hot(tmp_path):
    rng = np.random.default_rng(0)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 20, 60), unit="D")
    frame = pd.DataFrame(
        {
            "day": days.strftime("%Y-%m-%d"),  # repeats: not an identifier
            "when": days,
            "took": pd.to_timedelta(rng.integers(1, 5, 60), unit="h"),
            "month": days.strftime("%b"),  # month names are categories
            "label": np.arange(60) % 2,
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    table = _load(tmp_path / "d.parquet")
    assert list(table.left_out) == ["day", "when", "took"]
    assert "dates" in table.left_out["day"] and "durations" in table.left_out["took"]
    assert all(name.startswith("month=") for name in table.feature_names)


def test_a_number_past_float32s_range_is_read_as_inf_without_a_warning(tmp_path, recwarn):
    """1e300 is inf in float32: a missing value, as the audit says; numpy's overflow
    warning leaked to the terminal."""
    table = _load(_write(tmp_path / "d.csv", "size,label\n1e300,a\n2,b\n3,a\n"))
    assert np.isinf(table.X[0, 0]) and np.isfinite(table.X[1:, 0]).all()
    np.savez(tmp_path / "d.npz", X=np.array([[1e300], [2.0], [3.0]]), y=np.array([0, 1, 0]))
    arrays = _load(tmp_path / "d.npz")
    assert np.isinf(arrays.X[0, 0]) and np.isfinite(arrays.X[1:, 0]).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_class_names_that_are_partly_digits_are_classes_not_a_mix(tmp_path):
    """'7', '8' and 'A1', each on a third of the rows: three classes; a word on one row of
    whole numbers (`mixed target` below) is a typo, refused."""
    rows = "".join(f"{i},{['7', '8', 'A1'][i % 3]}\n" for i in range(30))
    table = _load(_write(tmp_path / "d.csv", "x,code\n" + rows), target="code")
    assert table.task == "classification" and table.classes == ["7", "8", "A1"]
    assert table.y.tolist()[:3] == [0, 1, 2]


@pytest.mark.parametrize(
    ("labels", "task", "classes"),
    [
        (["007", "7", "A1"], "auto", ["007", "7", "A1"]),  # two classes the reader merged
        (["01", "02", "10"], "auto", ["01", "02", "10"]),  # class names that lost their zeros
        (["1", "2", "10"], "auto", ["1", "2", "10"]),  # numbers: sorted as numbers
        (["0.5", "0", "1.25"], "regression", []),  # a zero before a point: a number
        (["01", "02", "10"], "regression", []),  # asked for: a number
    ],
)
def test_class_codes_written_with_leading_zeros_are_kept_as_written(
    tmp_path, labels, task, classes
):
    """`007` and `7` are two classes: the reader parsed both as the number 7 (a class
    with the rows of both), and `01` as 1, before the column was known to be the target.
    Read as written, in fit as in monitor and retrain (`read_frame(path, targets)`)."""
    rows = "".join(f"{i},{labels[i % 3]}\n" for i in range(30))
    path = _write(tmp_path / "d.csv", "x,code\n" + rows)
    table = _load(path, target="code", task=task)
    assert table.classes == classes
    if classes:
        assert [table.classes[k] for k in table.y[:3]] == labels
        assert [str(v) for v in read_frame(path, ["code"])["code"][:3]] == labels
    else:
        assert table.y[:3].tolist() == [float(v) for v in labels]
    assert read_frame(path)["x"].dtype.kind == "i"  # what is not a target is read as before


@pytest.mark.parametrize("values", [80, 160])
def test_a_text_column_of_many_values_is_one_hot_of_its_most_frequent(tmp_path, values):
    """5,000 postcodes on 20,000 rows made 5,000 inputs (4 GB, minutes of every check): of
    more than 100 values, the 100 most frequent are inputs, the rest read as unseen."""
    codes = ["common"] * 100 + [f"v{i % (values - 1):03d}" for i in range(2 * values)]
    rows = "".join(f"{i},{code},{i % 2}\n" for i, code in enumerate(codes))
    table = _load(_write(tmp_path / "d.csv", "x,zip,label\n" + rows))
    kept = table.encoding["zip"]
    assert len(kept) == min(values, MAX_CATEGORIES) and "common" in kept
    assert table.X.shape[1] == 1 + len(kept)
    if values > MAX_CATEGORIES:
        covered = sum(count for _, count in Counter(codes).most_common(MAX_CATEGORIES))
        assert table.capped == {"zip": {"categories": values, "rows_kept": covered / len(codes)}}
        assert table.X[100:, 1:].sum(1).min() == 0  # a rare value: no input set
    else:
        assert table.capped == {}


def test_a_measurement_with_question_marks_is_refused_not_left_out_as_an_identifier(tmp_path):
    """A continuous column with '?' for missing readings: each value its own, so it was
    left out as an identifier (and the label it drives lost, exit 0)."""
    rows = "".join(f"{i},{'?' if i % 25 == 3 else i * 0.37},{i % 2}\n" for i in range(100))
    with pytest.raises(DataError, match=r"'reading' mixes numbers and text \(row 3: '\?'\)"):
        _load(_write(tmp_path / "d.csv", "x,reading,label\n" + rows))
    ids = "".join(f"{i},u{i * 7},{i % 2}\n" for i in range(100))  # the twin: still left out
    assert list(_load(_write(tmp_path / "i.csv", "x,customer,label\n" + ids)).left_out) == [
        "customer"
    ]


def test_a_separator_ending_every_line_adds_no_input(tmp_path):
    table = _load(_write(tmp_path / "d.csv", "a,b,label,\n1,2,x,\n3,4,y,\n5,6,x,\n"))
    assert table.feature_names == ["a", "b"] and "separator" in table.left_out["Unnamed: 3"]


def test_a_column_named_as_a_one_hot_input_is_refused(tmp_path):
    """`colour=red` (a number) beside `colour` holding `red`: two inputs of one name, which
    monitor read back as one (the training file itself then 'dropped' 26 points); with a
    value the column does not hold (`colour=green`), monitor and serve ignored it."""
    for name in ("colour=red", "colour=green"):  # a value of the column or not: both misread
        for header in (f"{name},colour", f"colour,{name}"):  # before the text column or after
            rows = (
                "0.5,red,a\n1.5,blue,b\n" if header.startswith(name) else "red,0.5,a\nblue,1.5,b\n"
            )
            path = _write(tmp_path / "d.csv", f"{header},label\n{rows}")
            with pytest.raises(DataError, match=f"'{name}' is named as a one-hot input"):
                _load(path)
    ok = _write(tmp_path / "ok.csv", "ratio=a/b,colour,label\n0.5,red,a\n1.5,blue,b\n")
    assert _load(ok).feature_names == ["ratio=a/b", "colour=blue", "colour=red"]


@pytest.mark.parametrize("sep", [";", ","])
def test_the_separator_is_the_one_that_cuts_every_record_alike(tmp_path, sep):
    """A `;` file from a German spreadsheet whose names hold commas, and a header cell with
    a line break: the raw first line's commas made it a comma-separated file."""
    header = sep.join(['"Länge (cm, gemessen)"', '"Breite\n(cm)"', "label"])
    rows = "".join(f"{i}{sep}{i % 3}{sep}{'ab'[i % 2]}\n" for i in range(20))
    table = _load(_write(tmp_path / "d.csv", header + "\n" + rows))
    assert table.feature_names == ["Länge (cm, gemessen)", "Breite\n(cm)"]


def test_parquet_names_equal_but_for_spaces_are_refused(tmp_path):
    path = tmp_path / "d.parquet"
    pd.DataFrame({"x0": [1.0, 2.0], "x0 ": [3.0, 4.0], "label": ["a", "b"]}).to_parquet(path)
    with pytest.raises(DataError, match="names column 'x0' 2 times"):
        _load(path)


def test_a_column_named_twice_is_refused_not_renamed(tmp_path):
    """`a,label,b,label`: the second label was read as a feature 'label.1' (accuracy 1.0)."""
    rows = "".join(f"{i},{i % 2},{i * 3},{i % 2}\n" for i in range(20))
    with pytest.raises(DataError, match=r"names column 'label' 2 times in its header"):
        _load(_write(tmp_path / "d.csv", "a,label,b,label\n" + rows))
    fine = _load(_write(tmp_path / "ok.csv", "a,label,b,c\n" + rows))  # its healthy twin
    assert fine.feature_names == ["a", "b", "c"]


def test_parquet_decimals_are_numbers_and_lists_are_left_out(tmp_path):
    """A decimal128 price was text, left out as an identifier; a column of lists was one-hot
    encoded as strings such as 'tags=[0 0 0]'."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 30
    prices = [decimal.Decimal(f"{i * 1.37:.2f}") for i in range(n)]
    columns = {
        "price": pa.array(prices, pa.decimal128(10, 2)),
        "tags": pa.array([[i % 3, 0] for i in range(n)]),
        "label": pa.array([i % 2 for i in range(n)]),
    }
    pq.write_table(pa.table(columns), tmp_path / "d.parquet")
    table = _load(tmp_path / "d.parquet")
    assert table.feature_names == ["price"] and list(table.left_out) == ["tags"]
    np.testing.assert_allclose(table.X[:, 0], [float(p) for p in prices], rtol=1e-6)


def test_npz_table(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([1, 0, 1, 1]))
    table = _load(tmp_path / "d.npz")
    assert table.X.dtype == np.float32 and table.X.shape == (4, 3) and not table.is_image
    np.testing.assert_array_equal(table.X, X.astype(np.float32))
    assert table.feature_names == ["f0", "f1", "f2"]
    assert table.classes == ["0", "1"] and table.y.tolist() == [1, 0, 1, 1]


def test_npz_images_keep_or_gain_a_channel_axis(tmp_path):
    X = np.random.default_rng(0).random((5, 2, 3, 3))
    np.savez(tmp_path / "c.npz", X=X, y=np.array(["cat", "dog", "cat", "cat", "dog"]))
    table = _load(tmp_path / "c.npz")
    assert table.is_image and table.X.shape == (5, 2, 3, 3) and table.feature_names == []
    np.testing.assert_allclose(table.X, X, rtol=1e-6)
    assert table.classes == ["cat", "dog"] and table.y.tolist() == [0, 1, 0, 0, 1]
    np.savez(tmp_path / "g.npz", X=np.zeros((3, 4, 5)), y=np.array([0.5, 1.0, 2.0]))
    gray = _load(tmp_path / "g.npz")
    assert gray.X.shape == (3, 1, 4, 5) and gray.task == "regression"


def test_a_target_column_named_for_an_npz_or_an_image_folder_is_refused(tmp_path):
    """`data.target` names a table's column: on an NPZ (labels in 'y') or an image folder
    (labels in sub-folder names) one was ignored without a word. 'y' itself is accepted."""
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 3)), y=np.array([1, 0, 1, 1]))
    folder = _image_folder(tmp_path / "images")
    for source in (tmp_path / "d.npz", folder):
        with pytest.raises(DataError, match=r"^data.target: 'no_such_column' names a column"):
            load_file(str(source), target="no_such_column", task="auto", image_size=(4, 4),
                      grayscale=False)  # fmt: skip
    assert _load(tmp_path / "d.npz").y.tolist() == [1, 0, 1, 1]
    table = load_file(str(tmp_path / "d.npz"), target="y", task="auto", image_size=(4, 4),
                      grayscale=False)  # fmt: skip
    assert table.y.tolist() == [1, 0, 1, 1]


def test_npz_labels_saved_one_hot_are_refused_with_the_fix(tmp_path):
    X = np.zeros((4, 3))
    np.savez(tmp_path / "h.npz", X=X, y=np.eye(2)[[0, 1, 1, 0]])
    with pytest.raises(DataError, match=r"shape \(4, 2\): it looks one-hot; save y.argmax"):
        _load(tmp_path / "h.npz")
    np.savez(tmp_path / "m.npz", X=X, y=np.ones((4, 2)))  # two labels a row: not one-hot
    with pytest.raises(DataError, match=r"one label per row; got shape \(4, 2\)$"):
        _load(tmp_path / "m.npz")


def _image_folder(root: Path) -> Path:
    colours = {"dog": [(255, 0, 0), (0, 255, 0)], "cat": [(0, 0, 255), (255, 255, 255)]}
    for name, fills in colours.items():
        (root / name).mkdir(parents=True)
        for i, fill in enumerate(fills):  # "b..." sorts after "a...": order is by name
            Image.new("RGB", (9, 7), fill).save(root / name / f"{'ba'[i]}.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_classes_sorted_and_resized_to_height_width(tmp_path):
    table = _load(_image_folder(tmp_path / "imgs"), image_size=(4, 6))
    assert table.task == "classification" and table.classes == ["cat", "dog"]
    assert table.y.tolist() == [0, 0, 1, 1] and table.feature_names == []
    assert table.X.dtype == np.float32 and table.X.shape == (4, 3, 4, 6)
    corners = table.X[:, :, 0, 0].tolist()  # cat/a, cat/b, dog/a, dog/b
    assert corners == [[1, 1, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0]]
    gray = _load(tmp_path / "imgs", grayscale=True, image_size=(5, 2))
    assert gray.X.shape == (4, 1, 5, 2) and gray.X.min() >= 0 and gray.X.max() == 1


@pytest.mark.parametrize("photos", [True, False])
def test_a_class_named_masks_is_a_class_unless_it_holds_masks(tmp_path, photos):
    """A face-mask data set's `masks/` class folder was read as the defect masks of the
    other classes: its images were lost to training (and a third of the data with them)."""
    root = _image_folder(tmp_path / "imgs")
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        pixels = rng.integers(0, 256, (7, 9, 3)) if photos else np.zeros((7, 9, 3))
        Image.fromarray(pixels.astype(np.uint8)).save(root / "masks" / f"{name}.png")
    table = _load(root, image_size=(7, 9))
    assert table.classes == (["cat", "dog", "masks"] if photos else ["cat", "dog"])
    assert (table.masks is None) == photos


def test_images_in_sub_folders_and_16_bit_images_are_read(tmp_path):
    """A class folder's images in batches below it were skipped without a word; a 16-bit
    image was clipped to 8 bits (0 and 1 only); TIFF was not read."""
    levels = np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000
    for kind in ("a", "b"):
        (tmp_path / "imgs" / kind / "batch1").mkdir(parents=True)
        (tmp_path / "imgs" / kind / ".ipynb_checkpoints").mkdir()
        Image.fromarray(levels).save(tmp_path / "imgs" / kind / "top.png")
        Image.fromarray(levels).save(tmp_path / "imgs" / kind / "batch1" / "x.tif")
        Image.fromarray(levels).save(tmp_path / "imgs" / kind / ".ipynb_checkpoints" / "x.png")
    table = _load(tmp_path / "imgs", grayscale=True, image_size=(4, 4))
    assert table.y.tolist() == [0, 0, 1, 1]  # two of each class, hidden folders aside
    np.testing.assert_allclose(table.X[0, 0], levels / 65535, atol=1e-6)


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, dict, list[str]]]:
    rows = "".join(f"{i},{i % 3}\n" for i in range(40))
    mixed = "".join(f"{i},{i % 2 if i != 17 else 'oops'}\n" for i in range(40))
    wide = ",".join(f"c{i}" for i in range(15)) + "\n" + ",".join("1" * 15) + "\n"
    (tmp / "garbage.csv").write_bytes(np.random.default_rng(0).bytes(2000))
    (tmp / "garbage.parquet").write_bytes(b"not parquet" * 10)
    np.savez(tmp / "keys.npz", data=np.zeros((3, 2)), labels=np.zeros(3))
    np.savez(tmp / "short.npz", X=np.zeros((4, 2)), y=np.zeros(3))
    (tmp / "no_classes").mkdir()
    (tmp / "no_classes" / "loose.png").write_bytes(b"")
    broken = _image_folder(tmp / "broken")
    (broken / "dog" / "c.png").write_bytes(b"\x89PNG not really")
    (tmp / "one" / "only").mkdir(parents=True)
    Image.new("L", (3, 3)).save(tmp / "one" / "only" / "x.jpg")
    empty_class = _image_folder(tmp / "empty_class")
    (empty_class / "bird").mkdir()
    return {
        "missing file": (tmp / "nope.csv", {}, ["no such file", "nope.csv"]),
        "unknown extension": (_write(tmp / "d.txt", "x"), {}, [".txt", ".csv", ".npz", "folder"]),
        "empty csv": (_write(tmp / "empty.csv", ""), {}, ["empty.csv", "empty"]),
        "header only": (_write(tmp / "head.csv", "x,label\n"), {}, ["head.csv", "empty"]),
        "unreadable csv": (tmp / "garbage.csv", {}, ["cannot read CSV", "garbage.csv"]),
        "unreadable parquet": (tmp / "garbage.parquet", {}, ["cannot read Parquet"]),
        "unknown target": (
            _write(tmp / "d.csv", "x,label\n" + rows),
            {"target": "species"},
            ["'species'", "'x', 'label'"],
        ),
        "no label column": (_write(tmp / "w.csv", wide), {}, ["'label'", "'c9'", "5 more"]),
        "single class": (
            _write(tmp / "one.csv", "x,label\n" + "".join(f"{i},a\n" for i in range(9))),
            {},
            ["'label'", "single class ('a')", "at least two"],
        ),
        "mixed target": (
            _write(tmp / "m.csv", "x,label\n" + mixed),
            {"task": "classification"},
            ["mixes numbers and text", "row 17: 'oops'"],
        ),
        "constant regression target": (
            _write(tmp / "c.csv", "x,target\n1,3.5\n2,3.5\n3,3.5\n"),
            {"task": "regression"},
            ["single value (3.5)", "nothing to learn"],
        ),
        "text target for regression": (
            _write(tmp / "t.csv", "x,label\n1,cat\n2,dog\n"),
            {"task": "regression"},
            ["must be numeric for regression", "row 0: 'cat'"],
        ),
        "missing target": (
            _write(tmp / "n.csv", "x,label\n1,a\n2,\n3,b\n4,\n"),
            {},
            ["missing in 2 rows", "row 1"],
        ),
        "no features": (_write(tmp / "f.csv", "label\na\nb\n"), {}, ["no usable feature columns"]),
        "only identifiers": (
            _write(tmp / "i.csv", "id,label\n" + "".join(f"u{i},{i % 2}\n" for i in range(30))),
            {},
            ["no usable feature columns", "left out: 'id'"],
        ),
        "npz missing keys": (tmp / "keys.npz", {}, ["'X' and 'y'", "'data', 'labels'"]),
        "npz length mismatch": (tmp / "short.npz", {}, ["differ in length", "4 vs 3"]),
        "no classes": (tmp / "no_classes", {}, ["no classes", "one sub-folder"]),
        "corrupted image": (broken, {}, ["cannot read image", "c.png"]),
        "single image class": (tmp / "one", {}, ["single class ('only')"]),
        "empty class folder": (empty_class, {}, ["'bird'", "no images"]),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "unknown extension",
        "empty csv",
        "header only",
        "unreadable csv",
        "unreadable parquet",
        "unknown target",
        "no label column",
        "single class",
        "mixed target",
        "constant regression target",
        "text target for regression",
        "missing target",
        "no features",
        "only identifiers",
        "npz missing keys",
        "npz length mismatch",
        "no classes",
        "corrupted image",
        "single image class",
        "empty class folder",
    ],
)
def test_bad_input_is_one_line_data_error(tmp_path, case):
    source, options, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(DataError) as caught:
        _load(source, **options)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message
