"""Tables on disk (CSV, Parquet) as frames, and what their columns are: a CSV read as a
spreadsheet saves it; numbers written as text, dates, identifiers and a saved index told
apart from the categories and numbers a network can take."""

from __future__ import annotations

import csv
import decimal
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

# a text column with a value of its own in this share of its rows (at least IDENTIFIER_ROWS
# of them) is an identifier, a timestamp or free text: one-hot, each category is seen once
IDENTIFIER_SHARE = 0.9
IDENTIFIER_ROWS = 20
FREE_TEXT_WORDS = 8  # a text column with half its values this long: sentences, not categories
SEPARATORS = (",", ";", "\t", "|")
# numbers as text: a thousands separator, currency, percent, a decimal comma
NUMBER_AS_TEXT = re.compile(r"^[-+]?[$€£]?\s?[-+]?(\d{1,3}([,.' ]\d{3})+|\d+)([.,]\d+)?\s?%?$")
DECIMAL_COMMA = re.compile(r"^[-+]?\d+(,\d+)?$")
ZERO_PADDED = re.compile(r"^[-+]?0\d")  # a code (`007`), not a number (`0`, `0.5`)
DATE_AS_TEXT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})([ T]\d|$)")


def read_frame(path: Path, targets: Iterable[str] = ()) -> pd.DataFrame:
    """A CSV or Parquet file as a frame with string column names (stripped of spaces), rows
    numbered from 0 as they stand in the file; one `DataError` line when it cannot be read
    or has no rows. A column of `targets` holding class codes written with leading zeros (`007`,
    `01`) is kept as written (`zero_padded`)."""
    suffix = path.suffix.lower()
    kind = "CSV" if suffix == ".csv" else "Parquet"
    try:
        frame = _read_csv(path) if suffix == ".csv" else _read_parquet(path)
    except pd.errors.EmptyDataError:  # a ValueError too: must come first
        frame = pd.DataFrame()
    except DataError:  # said in one line already
        raise
    except (ValueError, OSError) as exc:  # ParserError, UnicodeDecodeError, ArrowInvalid, I/O
        raise DataError(f"cannot read {kind} {path}: {reason(exc)}") from exc
    if frame.empty:
        raise DataError(f"{kind} {path} is empty: it has no data rows")
    _refuse_repeated_names([str(name) for name in frame.columns], path)
    frame.columns = [str(name).strip() for name in frame.columns]
    for name in targets:
        if suffix == ".csv" and name in frame and is_number(frame[name]):
            codes = zero_padded(path, name)
            if codes is not None:
                frame[name] = codes.to_numpy()
    return frame.reset_index(drop=True)  # positions, not a restored Parquet index, name rows


def is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _read_csv(path: Path) -> pd.DataFrame:
    """Separated by commas, semicolons (then with decimal commas where its text columns are
    numbers written so, as a spreadsheet in most of Europe saves them), tabs or bars, as
    its first records say (`_header`); in UTF-8, else in Windows' Western encoding (cp1252,
    else Latin-1, which reads any byte)."""
    names, sep = _header(path)
    _refuse_repeated_names(names, path)
    frame, encoding = _read_text(path, sep=sep)
    if sep == ";" and any(_decimal_commas(column) for _, column in frame.items()):
        frame, _ = _read_text(path, sep=sep, decimal=",", encoding=encoding)
    return frame


def _header(path: Path) -> tuple[list[str], str]:
    """A CSV's column names, and its separator: the one that cuts its first records into
    as many fields each, the most of them (a tie: the comma, listed first). Read as CSV,
    quotes and all: a spreadsheet in most of Europe saves `;`-separated files whose names
    hold commas (`Länge (cm, gemessen)`), and quoted cells may hold separators and line
    breaks. Not text: no names, and the reader's own error says why."""
    with path.open("rb") as file:
        head = file.read(1 << 16).decode("utf-8", "replace").lstrip("\ufeff")

    def records(sep: str) -> list[list[str]]:
        try:
            return list(itertools.islice(csv.reader(io.StringIO(head), delimiter=sep), 6))
        except csv.Error:
            return []

    def shape(sep: str) -> tuple[bool, int]:
        rows = records(sep)
        rows = rows[:5] if len(rows) == 6 else rows  # the last may be cut by the read
        widths = {len(row) for row in rows if row}
        return len(widths) == 1, max(widths, default=0)

    sep = max(SEPARATORS, key=shape)
    names = records(sep)[:1]
    return [name.strip() for name in names[0]] if names else [], sep


def zero_padded(path: Path, name: str) -> pd.Series | None:
    """A CSV column's text as written, where some of it is a number written with leading
    zeros (`007`, `01`): codes, which the reader turned into numbers, merging `007` with
    `7` and dropping the zeros of `01`. None where no value is so written."""
    text, _ = _read_text(path, sep=_header(path)[1], usecols=lambda c: c.strip() == name, dtype=str)
    column = text.iloc[:, 0]
    return column if column.str.match(ZERO_PADDED).any() else None


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    for name in frame.columns:  # decimal columns read as Decimal objects: numbers
        if _first(frame[name], decimal.Decimal):
            frame[name] = frame[name].astype(np.float64)
    return frame


def _refuse_repeated_names(names: list[str], path: Path) -> None:
    """The reader renames a repeated column `label.1`: trained on as a feature, a second
    label column gives the answer away (accuracy 1.0, without a word). Names are compared
    without the spaces around them, as they are used (`x0` and `x0 ` are one column)."""
    counts = Counter(name.strip() for name in names)
    repeated = [name for name, count in counts.items() if name and count > 1]
    if repeated:
        kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
        raise DataError(
            f"{kind} {path} names column {repeated[0]!r} {counts[repeated[0]]} times in its "
            "header (spaces around a name aside): rename or drop the copies"
        )


def _read_text(path: Path, encoding: str | None = None, **options) -> tuple[pd.DataFrame, str]:
    options["skipinitialspace"] = True  # `a, b, label`: the spaces are not in names or values
    for tried in [encoding] if encoding else ["utf-8", "cp1252"]:
        try:
            return pd.read_csv(path, encoding=tried, **options), tried
        except UnicodeDecodeError:
            continue
    return pd.read_csv(path, encoding="latin-1", **options), "latin-1"


def _first(column: pd.Series, kinds: type | tuple[type, ...]) -> bool:
    """Whether an object column's first value is one of `kinds` (Parquet's decimals, lists)."""
    if column.dtype != object:
        return False
    values = column.dropna()
    return len(values) > 0 and isinstance(values.iloc[0], kinds)


def _text(column: pd.Series) -> pd.Series | None:
    """The values of a column the reader left as text, stripped (None for numbers, bools)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    return column.dropna().astype(str).str.strip()


def _mostly(text: pd.Series, pattern: re.Pattern) -> bool:
    return bool(len(text)) and text.str.match(pattern).mean() >= IDENTIFIER_SHARE


def _decimal_commas(column: pd.Series) -> bool:
    text = _text(column)
    if text is None or not text.str.contains(",", regex=False).any():
        return False
    return _mostly(text, DECIMAL_COMMA)


def unusable(column: pd.Series) -> str | None:
    """Why a feature column cannot be an input, or None: dates and durations (one-hot, their
    categories say nothing of order or season); text with a value of its own in nearly
    every row (an identifier, a timestamp, free text: one-hot, a network can only memorise
    it — 0.92 against 0.96 test accuracy on breast_cancer with a customer number and a
    sign-up date), unless mostly numbers; the row numbers of a saved index (pandas names
    its blank header "Unnamed: 0"; where the rows are sorted, the number gives the label
    away), or an empty column with no name (a separator ending every line)."""
    values = column.dropna()
    if str(column.name).startswith("Unnamed: ") and values.empty:
        return "empty and nameless: a separator at the end of every line"
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        return "dates or durations, whose one-hot categories say nothing of order or season"
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        positions = np.arange(len(column))
        saved_index = str(column.name).startswith("Unnamed: ") and len(values) == len(column)
        ordered = np.sort(values.to_numpy())  # in file order, or shuffled before it was saved
        if saved_index and any(np.array_equal(ordered, positions + s) for s in (0, 1)):
            return "the row numbers of a saved index"
        return None
    if _first(column, (list, tuple, dict, np.ndarray)):
        return "lists or records in each row, whose one-hot text says nothing of their items"
    text = _text(column)
    if text is None:  # bools: two values at most
        return None
    if _mostly(text, DATE_AS_TEXT):
        return "dates, whose one-hot categories say nothing of order or season"
    distinct = text.nunique()
    numbers = pd.to_numeric(text, errors="coerce").notna().mean()
    if numbers >= 0.5:  # measurements with '?' or 'n.a.' among them: `refuse_mixed` says so
        return None
    if len(values) >= IDENTIFIER_ROWS and distinct >= IDENTIFIER_SHARE * len(values):
        return (
            f"a value of its own in {distinct} of {len(values)} rows: an identifier, a "
            "timestamp or free text"
        )
    words = text.str.count(r"\s+") + 1
    if words.median() >= FREE_TEXT_WORDS:  # notes repeating a boilerplate are not unique
        return (
            f"free text ({words.median():.0f} words a row, the median), whose one-hot "
            "categories a network can only memorise"
        )
    return None


def refuse_numbers_as_text(column: pd.Series, name: str) -> None:
    """Numbers written with a thousands separator, currency, percent or a decimal comma (in
    a comma-separated file) are text to the CSV reader: one-hot, or left out as identifiers,
    a measurement would be lost without a word (0.52 test accuracy against 0.90 on
    breast_cancer written with decimal commas). Converting them here would leave the
    service and the monitor reading new rows otherwise: say it in one line instead."""
    text = _text(column)
    if text is None or not _mostly(text, NUMBER_AS_TEXT):
        return
    formatted = text.str.match(NUMBER_AS_TEXT) & pd.to_numeric(text, errors="coerce").isna()
    if not formatted.any():  # plain numbers among words: `refuse_mixed` names them
        return
    raise DataError(
        f"feature column {name!r} holds numbers written as text "
        f"({show(text[formatted].iloc[0])}): "
        "save them with '.' as the decimal mark and without thousands separators, currency "
        "or % signs"
    )


def refuse_mixed(column: pd.Series, name: str) -> None:
    """A column of mostly numbers with a few words is a typo, not a category: one-hot
    encoding it would silently turn a measurement into hundreds of indicator columns."""
    values = column.dropna()
    if pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    words = numbers.isna().to_numpy()
    if words.any() and words.mean() < 0.5:
        first = int(np.flatnonzero(words)[0])
        raise DataError(
            f"feature column {name!r} mixes numbers and text "
            f"(row {values.index[first]}: {show(str(values.iloc[first]))}): fix or drop it"
        )


def reason(exc: BaseException) -> str:
    """The first line of an exception, capped: error messages stay one line."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def show(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 40 else text[:37] + "..."
