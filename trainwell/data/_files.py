"""Sources on disk (CSV, Parquet, NPZ, image folders), loaded whole into a `Table`.

A bad file is one `DataError` line naming the file and the problem. Row `i` of the `Table`
is data row `i` of the file (0-based, header excluded), as error messages count rows.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from ..errors import DataError
from ._frames import (
    ZERO_PADDED,
    is_number,
    read_frame,
    reason,
    refuse_mixed,
    refuse_numbers_as_text,
    show,
    unusable,
)
from ._table import Table, Task

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
MAX_CATEGORIES = 100  # one-hot columns of a text column: its most frequent values
MAX_AUTO_CLASSES = 50  # `task: auto`: more distinct integer targets than this is regression
# words among whole-number targets: on fewer rows than this, typos; on more, class names
TYPO_SHARE = 0.05
_SHOWN_NAMES = 10  # column names listed in an error before "... (N more)"

Target = tuple[np.ndarray, Task, list[str]]  # y, task, classes


def load_file(
    source: str, *, target: str | None, task: str, image_size: tuple[int, int], grayscale: bool
) -> Table:
    """Load a .csv, .parquet or .npz file, or a folder of images (one sub-folder per class)."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"data.source: no such file or directory: {source}")
    suffix = path.suffix.lower()
    if target is not None and (path.is_dir() or suffix == ".npz") and target != "y":
        held = "its sub-folders' names" if path.is_dir() else "its array 'y'"
        raise DataError(
            f"data.target: {target!r} names a column of a table; {source} holds its labels "
            f"in {held}: leave data.target out"
        )
    if path.is_dir():
        return _load_images(path, image_size, grayscale)
    if suffix in (".csv", ".parquet"):
        return _load_frame(read_frame(path, _targets(target)), path, target, task)
    if suffix == ".npz":
        return _load_npz(path, task)
    raise DataError(
        f"data.source: unsupported file type {suffix or '(none)'!r} for {source}: "
        "use a .csv, .parquet or .npz file, or a folder of images"
    )


def _load_frame(frame: pd.DataFrame, path: Path, target: str | None, task: str) -> Table:
    name = _target_column(frame, path, target)
    y, task, classes = _resolve_target(
        _column_values(frame[name]), task, f"target column {name!r} in {path}"
    )
    features = frame.drop(columns=name)
    for column, values in features.items():
        refuse_numbers_as_text(values, column)
    left_out = {column: why for column, values in features.items() if (why := unusable(values))}
    encoded = _encode_features(features.drop(columns=list(left_out)))
    if not encoded.names:
        also = f" (left out: {_list_names(list(left_out))})" if left_out else ""
        raise DataError(
            f"{path} has no usable feature columns besides the target column {name!r}{also}"
        )
    return Table(
        encoded.X,
        y,
        task,
        classes,
        encoded.names,
        encoded.encoding,
        left_out=left_out,
        capped=encoded.capped,
    )


def _target_column(frame: pd.DataFrame, path: Path, target: str | None) -> str:
    """The configured target, else "label", else "target"; name the columns when missing."""
    wanted = _targets(target)
    for name in wanted:
        if name in frame.columns:
            return name
    key, hint = ("data.target: ", "") if target is not None else ("", " (set data.target)")
    looked_for = " or ".join(repr(name) for name in wanted)
    columns = _list_names(frame.columns)
    raise DataError(f"{key}{path} has no column {looked_for}{hint}; its columns: {columns}")


def _targets(target: str | None) -> list[str]:
    """The target column's name: the configured one, else "label" or "target"."""
    return [target] if target is not None else ["label", "target"]


def _column_values(column: pd.Series) -> np.ndarray:
    """Bools as bools, numbers as float64 (NaN for missing), anything else as objects."""
    if pd.api.types.is_bool_dtype(column) and not column.hasnans:
        return column.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return column.to_numpy(dtype=object)


@dataclass
class _Encoded:
    X: np.ndarray
    names: list[str]
    encoding: dict[str, list[str]]  # per text column, the categories it is one-hot of
    capped: dict[str, dict[str, float]]  # ... those with too many: all, and the rows kept


def _encode_features(frame: pd.DataFrame) -> _Encoded:
    """Numbers as float32 (NaN kept for the audit); everything else one-hot, in column order."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    encoding: dict[str, list[str]] = {}
    capped: dict[str, dict[str, float]] = {}
    for name, column in frame.items():
        if is_number(column):
            with np.errstate(over="ignore"):  # past float32's 3.4e38: inf, a missing value
                blocks.append(column.to_numpy(dtype=np.float32, na_value=np.nan)[:, None])
            names.append(name)
            continue
        refuse_mixed(column, name)
        dummies, categories, found = _one_hot(column)
        blocks.append(dummies)
        names.extend(f"{name}={category}" for category in categories)
        encoding[name] = categories
        if found > len(categories):
            kept = float(dummies.sum() / max(column.notna().sum(), 1))
            capped[name] = {"categories": found, "rows_kept": kept}
    # monitor, serve and explain read a `column=value` input as a category of `column`
    named = (n for n in frame.columns if n not in encoding and n.partition("=")[0] in encoding)
    clash = next(named, None)
    if clash is not None:
        column = clash.partition("=")[0]
        raise DataError(
            f"column {clash!r} is named as a one-hot input of the text column {column!r} "
            "would be: rename it (without '=')"
        )
    X = np.concatenate(blocks, axis=1) if blocks else np.empty((len(frame), 0), np.float32)
    return _Encoded(X, names, encoding, capped)


def _one_hot(column: pd.Series) -> tuple[np.ndarray, list[str], int]:
    """Categories as strings (JSON-able, stable across files): declared order, else sorted;
    and how many the column has. Of more than `MAX_CATEGORIES`, the most frequent only: a
    value seen on a few rows can only be memorised, and 5,000 of them took 4 GB and minutes
    of every check; the others read as a category never seen (all zeros)."""
    text = column.astype(object).where(column.notna()).map(str, na_action="ignore")
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = [str(category) for category in column.cat.categories]
    else:
        categories = sorted(text.dropna().unique())
    found = len(categories)
    if found > MAX_CATEGORIES:
        counts = text.value_counts()
        ranked = sorted(enumerate(categories), key=lambda item: (-counts.get(item[1], 0), item[0]))
        kept = {category for _, category in ranked[:MAX_CATEGORIES]}
        categories = [c for c in categories if c in kept]
        text = text.where(text.isin(kept))
    codes = pd.Categorical(text, categories=categories)
    return pd.get_dummies(codes, dtype=np.float32).to_numpy(), categories, found


def _resolve_target(values: np.ndarray, task: str, what: str) -> Target:
    """Pick the task (`auto`) and encode y; `what` names the target in error messages."""
    missing = np.flatnonzero(pd.isna(values))
    if missing.size:
        raise DataError(f"{what} is missing in {missing.size} rows (first: row {missing[0]})")
    if values.dtype.kind == "b":
        return _text_target(values.astype(str), task, what)
    if values.dtype.kind in "iuf":
        return _numeric_target(values.astype(np.float64), task, what)
    text = values.astype(str)
    numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
    words = np.flatnonzero(np.isnan(numbers))
    if not words.size:  # numbers as text; written with leading zeros (`007`), class codes
        if task != "regression" and any(map(ZERO_PADDED.match, text)):
            return _text_target(text, task, what)
        return _numeric_target(numbers, task, what)
    first = f"row {words[0]}: {show(text[words[0]])}"
    if task == "regression":
        raise DataError(f"{what} must be numeric for regression ({first})")
    found = numbers[~np.isnan(numbers)]
    codes = np.all(np.mod(found, 1) == 0) and np.unique(found).size <= MAX_AUTO_CLASSES
    typos = words.size < TYPO_SHARE * len(text)
    if words.size < len(text) / 2 and (typos or not codes):  # numbers with words among them
        raise DataError(f"{what} mixes numbers and text ({first})")
    return _text_target(text, task, what)  # class names, some of them digits ('7', 'A1')


def _numeric_target(numbers: np.ndarray, task: str, what: str) -> Target:
    if task == "auto":
        whole = bool(np.all(np.mod(numbers, 1) == 0))  # inf gives NaN: not whole
        few = np.unique(numbers).size <= MAX_AUTO_CLASSES
        task = "classification" if whole and few else "regression"
    if task == "regression":
        if np.unique(numbers).size < 2:
            raise DataError(
                f"{what} has a single value ({_number_name(numbers[0])}): nothing to learn"
            )
        return numbers.astype(np.float32), "regression", []
    uniques, y = np.unique(numbers, return_inverse=True)  # sorted numerically, not as text
    return _classify(y, [_number_name(value) for value in uniques], what)


def _text_target(text: np.ndarray, task: str, what: str) -> Target:
    if task == "regression":
        raise DataError(f"{what} must be numeric for regression (row 0: {show(text[0])})")
    uniques, y = np.unique(text, return_inverse=True)
    return _classify(y, [str(value) for value in uniques], what)


def _classify(y: np.ndarray, classes: list[str], what: str) -> Target:
    if len(classes) < 2:
        raise DataError(
            f"{what} has a single class ({classes[0]!r}): classification needs at least two"
        )
    return y.astype(np.int64), "classification", classes


def _load_npz(path: Path, task: str) -> Table:
    X, y = _read_npz(path)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        one_hot = y.ndim == 2 and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()
        hint = ": it looks one-hot; save y.argmax(axis=1)" if one_hot else ""
        raise DataError(
            f"array 'y' in {path} must hold one label per row; got shape {y.shape}{hint}"
        )
    if X.ndim not in (2, 3, 4):
        raise DataError(f"array 'X' in {path} must have 2 to 4 dimensions; got shape {X.shape}")
    if len(X) != len(y):
        raise DataError(f"arrays 'X' and 'y' in {path} differ in length: {len(X)} vs {len(y)}")
    if not len(y):
        raise DataError(f"NPZ {path} is empty: 'X' and 'y' have no rows")
    if X.dtype.kind not in "biuf":
        raise DataError(f"array 'X' in {path} must be numeric; got dtype {X.dtype}")
    if X.ndim == 4 and X.shape[3] in (1, 3, 4) and X.shape[1] > 4:
        raise DataError(f"array 'X' in {path} looks channels-last {X.shape}: save (n, C, H, W)")
    y, task, classes = _resolve_target(y, task, f"array 'y' in {path}")
    with np.errstate(over="ignore"):  # past float32's 3.4e38: inf, a missing value
        X = X.astype(np.float32)
    if X.ndim == 3:
        X = X[:, None]
    names = [f"f{i}" for i in range(X.shape[1])] if X.ndim == 2 else []
    return Table(X, y, task, classes, names)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays `X` and `y`, never unpickling: an .npz is data, not code."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read NPZ {path}: {reason(exc)}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single array; save arrays 'X' and 'y' with numpy.savez")
    with archive:
        if not {"X", "y"} <= set(archive.files):
            found = _list_names(archive.files) or "none"
            raise DataError(f"NPZ {path} needs arrays 'X' and 'y'; it has: {found}")
        try:
            return archive["X"], archive["y"]
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"cannot read NPZ {path}: {reason(exc)}") from exc


MASKS = "masks"  # an image folder's sub-folder of defect masks, not a class
MASK_SAMPLES = 5  # masks read to tell a folder of masks from a class of that name


def _load_images(folder: Path, image_size: tuple[int, int], grayscale: bool) -> Table:
    """One sub-folder per class (sorted names give class ids), files sorted within each.
    A `masks/` sub-folder holds defect masks named like their images (`masks/class/x.png`
    or `masks/x.png`); an image without one has an empty mask."""
    masks_folder = _masks_folder(folder)
    files = {
        sub.name: _image_files(sub)
        for sub in sorted(folder.iterdir())
        if sub.is_dir() and not sub.name.startswith(".") and sub != masks_folder
    }
    if not any(files.values()):
        raise DataError(
            f"image folder {folder} has no classes: expected one sub-folder of images per class"
        )
    empty = [name for name, paths in files.items() if not paths]
    if empty:  # dropping it would silently shift every later class id
        raise DataError(f"image folder {folder}: class folder {empty[0]!r} has no images")
    classes = list(files)
    y = np.repeat(np.arange(len(classes)), [len(files[name]) for name in classes])
    y, task, classes = _classify(y, classes, f"image folder {folder}")
    height, width = image_size
    mode = "L" if grayscale else "RGB"
    X = np.stack([_read_image(p, mode, (width, height)) for n in classes for p in files[n]])
    masks = None
    if masks_folder is not None:
        masks = np.stack(
            [_read_mask(masks_folder, n, p, (width, height)) for n in classes for p in files[n]]
        )
    return Table(X, y, task, classes, masks=masks)


def _masks_folder(folder: Path) -> Path | None:
    """The `masks/` sub-folder, if it holds masks: black and white images (>= 95% of their
    pixels within 16 of 0 or 255), judged on its first few. A class of photographs named `masks` (a
    face-mask data set) is a class: read as masks, its images were lost to training."""
    masks = folder / MASKS
    if not masks.is_dir():
        return None
    for path in _image_files(masks)[:MASK_SAMPLES]:
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("L"))
        except (UnidentifiedImageError, OSError, ValueError):
            continue  # read (and named, if broken) when it is the mask of an image
        if ((pixels <= 16) | (pixels >= 239)).mean() < 0.95:  # JPEG blurs the edges
            return None
    return masks


def _read_mask(masks: Path, kind: str, image: Path, size: tuple[int, int]) -> np.ndarray:
    """The mask of `image` resized as the images are (nearest pixel), True where non-zero."""
    for path in (masks / kind / image.name, masks / image.name):
        if path.is_file():
            try:
                with Image.open(path) as mask:
                    resized = mask.convert("L").resize(size, Image.Resampling.NEAREST)
                    return np.array(resized) > 127
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"cannot read mask {path}: {reason(exc)}") from exc
    return np.zeros(size[::-1], bool)


def _image_files(folder: Path) -> list[Path]:
    """The images of a class folder and of its sub-folders (batches, sources), hidden ones
    (`.ipynb_checkpoints`) aside: only the folder's own were read, and the rest of a class
    was lost without a word."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _read_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """(channels, height, width) float32 in [0, 1]; `size` is Pillow's (width, height)."""
    try:
        with Image.open(path) as image:
            if image.mode.startswith("I") or image.mode == "F":
                pixels = _wide_pixels(image, mode, size)
            else:
                resized = image.convert(mode).resize(size, Image.Resampling.BILINEAR)
                pixels = np.array(resized, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {path}: {reason(exc)}") from exc
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _wide_pixels(image: Image.Image, mode: str, size: tuple[int, int]) -> np.ndarray:
    """A 16-bit (I;16, I) or float (F) image in [0, 1]: Pillow's convert clips it to 8
    bits, so a 16-bit image became a few levels of 0 and 1. Gray, as such images are."""
    values = np.asarray(image, dtype=np.float32)
    top = float(values.max()) if values.size else 1.0
    scale = 1.0 if image.mode == "F" and top <= 1 else 65535.0 if top <= 65535 else top
    gray = np.asarray(
        Image.fromarray(values / scale, mode="F").resize(size, Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    return gray if mode == "L" else np.stack([gray] * 3, axis=-1)


def _list_names(names: Iterable[object]) -> str:
    shown = [repr(str(name)) for name in names]
    more = len(shown) - _SHOWN_NAMES
    return ", ".join(shown[:_SHOWN_NAMES]) + (f", ... ({more} more)" if more > 0 else "")


def _number_name(value: float) -> str:
    """Class names of numeric labels: "3", not "3.0"."""
    return str(int(value)) if float(value).is_integer() else str(float(value))
