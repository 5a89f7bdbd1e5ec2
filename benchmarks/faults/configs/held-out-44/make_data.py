"""The user data of fault-benchmark round held-out-44: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

street_trees.csv: a council arborist's tree-risk survey, one street or park tree per row
-----------------------------------------------------------------------------------------
3,200 rows, 27 columns. Each row is one tree inspected in a town's risk survey: its
species and where it stands (two text columns: `species` plane, oak, horse_chestnut, ash,
lime, birch or poplar; `site` street, park, school, cemetery or riverside), and 24
numeric columns in their own units and scales: estimated age (years), stem diameter at
breast height (cm, heavy-tailed), height (m), crown spread (m), the sound shell left
around heart rot (cm, from resistance drilling) and the drill's decayed share (%), cavity
opening (cm), fungal fruiting bodies found, lean (deg) and its change since the last
survey (deg), distance to the nearest recent trench (m, log-normal), root-plate lift
(mm), soil compaction (kPa, penetrometer), crown dieback score (0-5), crown deadwood
(%), crown density (%), included-bark unions, site wind speed (m/s), people passing
under per hour (log-normal, 0.1 to ~650), distance to the nearest building (m), years
since the last pruning, and three columns that do not bear on the action (survey month,
photos taken, the inspector's years of experience). Heart rot comes with age at each
species' own rate; a trench inside the root protection area (radius 12 x DBH) lifts the
root plate and makes the tree lean further; ash carries ash dieback, and compacted
street soil and age add crown dieback and deadwood. `action`, the arborist's order, by
these rules in this order:

    fell            18%   shell-to-radius ratio t/R below 0.32 (Mattheck's limit: shell
                          thickness over half the DBH), or a root plate lifted over 30 mm
                          with a lean grown by over 2 deg, or dieback 4 or 5
    cable_brace     12%   two or more included-bark unions under a crown over 11 m wide
    crown_reduce    11%   slender (height over DBH, both in m, above 58) on a site with
                          wind over 5.5 m/s, or t/R below 0.45
    deadwood_prune  14%   crown deadwood over 13% above a spot with over 10 passers-by
                          an hour
    monitor         14%   fungal fruiting bodies, lean over 8 deg, t/R below 0.65, or a
                          root plate lifted over 15 mm
    no_action       31%   otherwise

No rule is one column: t/R is a ratio of two columns (and the drill's percentage is a
noisy stand-in for it), slenderness another, the deadwood rule needs two columns at
once, and the rules override each other in order. 3% of the actions are wrong (a random
other action). In scikit-learn (5-fold, standardised columns, text one-hot) a logistic
regression reaches about 0.62 accuracy, a random forest (300 trees) about 0.85; the
commonest action alone 0.31. The healthy MLP of this round reaches about 0.73.

gauge_dials32.npz: a plant-room inspection robot's camera, one analogue pressure gauge per frame
----------------------------------------------------------------------------------------------
2,400 grayscale images (uint8, 1 x 32 x 32, `X`) of round dial gauges: a bright face
(radius 9-13.5 px) at a random position, seen slightly obliquely (squashed along a random
axis) and with the camera rolled a few degrees, in a dark bezel, with 5-10 major ticks
over a 270 deg scale from lower left clockwise to lower right, sometimes a printed red
zone (darker arc), a tapered dark needle with a short counterweight tail, a hub and a
faint needle shadow; glare on the glass, a lighting gradient, dust specks and pixel
noise, on a plant-room wall crossed by zero to two pipes. Labels `y` (int64), the sixth
of the scale the needle points into, 6 classes, 400 each (the reading uniform within
each):

    0 empty         -135 to -90 deg (from straight up, clockwise)
    1 low           -90 to -45 deg
    2 below_normal  -45 to 0 deg
    3 normal        0 to 45 deg
    4 high          45 to 90 deg
    5 overpressure  90 to 135 deg

Only the needle's direction tells the classes apart (the tail points the other way,
and the camera's roll blurs the bands' edges), so needles near a band edge are
ambiguous; the mean brightness does not differ between classes. On the raw pixels a
logistic regression reaches about 0.38 and a random forest about 0.58 (3-fold); the
healthy CNN of this round about 0.86.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECIES = ("plane", "oak", "horse_chestnut", "ash", "lime", "birch", "poplar")
SITES = ("street", "park", "school", "cemetery", "riverside")
ACTIONS = ("fell", "cable_brace", "crown_reduce", "deadwood_prune", "monitor", "no_action")
COLUMNS = (
    ("species", None),
    ("site", None),
    ("age_y", 0),
    ("dbh_cm", 1),
    ("height_m", 1),
    ("crown_spread_m", 1),
    ("shell_thickness_cm", 1),
    ("resistograph_decay_pct", 1),
    ("cavity_opening_cm", 1),
    ("fungal_bodies", 0),
    ("lean_deg", 1),
    ("lean_change_deg", 2),
    ("trench_distance_m", 1),
    ("root_plate_lift_mm", 0),
    ("soil_compaction_kpa", 0),
    ("dieback_score", 0),
    ("deadwood_pct", 1),
    ("crown_density_pct", 0),
    ("included_bark_unions", 0),
    ("wind_speed_ms", 2),
    ("occupancy_per_h", 1),
    ("building_distance_m", 1),
    ("years_since_pruning", 0),
    ("survey_month", 0),
    ("photos_taken", 0),
    ("inspector_years", 0),
    ("action", None),
)
SIZE = 32
BANDS = ("empty", "low", "below_normal", "normal", "high", "overpressure")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- street_trees.csv ---------------------------------------------------------------------


def street_trees(n: int = 3200, seed: int = 44001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    species = rng.choice(7, size=n, p=[0.2, 0.14, 0.12, 0.15, 0.17, 0.1, 0.12])
    site = rng.choice(5, size=n, p=[0.34, 0.26, 0.12, 0.12, 0.16])
    age = rng.gamma(3.0, np.array([28, 40, 24, 20, 26, 12, 14])[species]) + 5
    # girth grows roughly as age^0.85, each species at its own pace; street trees slower
    pace = np.array([1.05, 0.8, 1.0, 0.95, 0.85, 0.9, 1.4])[species]
    pace = pace * np.array([0.85, 1.0, 0.95, 1.05, 1.1])[site]
    dbh = pace * age**0.85 * rng.lognormal(0, 0.2, size=n)
    h_max = np.array([32, 28, 25, 30, 26, 20, 34])[species]
    height = h_max * (1 - np.exp(-dbh / 45)) * rng.lognormal(0, 0.14, size=n)
    height = height * np.where(site == 0, 0.8, 1.0) + 1.5  # street trees: pollarded
    crown = (0.9 * dbh**0.75 * rng.lognormal(0, 0.15, size=n)).clip(1.0)
    radius = dbh / 2
    # heart rot: the decayed share of the stem's radius, likelier in old trees of the
    # susceptible species; the sound shell is what is left
    prone = np.array([0.5, 0.7, 1.6, 1.2, 0.8, 1.0, 1.5])[species]
    p_rot = 1 - np.exp(-prone * (age / 120) ** 1.6)
    rot = np.where(rng.random(n) < p_rot, rng.beta(2.2, 2.0, size=n), 0.0)
    shell = radius * (1 - rot)
    shell_read = (shell * rng.lognormal(0, 0.06, size=n)).clip(0.5)
    resisto = (100 * rot * rng.lognormal(0, 0.3, size=n) + rng.gamma(1.0, 2.0, size=n)).clip(0, 100)
    cavity = np.where(rot > 0.35, rng.gamma(2.0, 3.0, size=n) * rot * (rng.random(n) < 0.6), 0)
    fungi = rng.poisson(2.5 * rot**1.5 + 0.04)
    # roots: a trench inside the root protection area (radius 12 x DBH) cuts roots
    trench = rng.lognormal(2.0, 0.8, size=n)
    rpa = 12 * dbh / 100
    cut = (1 - trench / rpa).clip(0)  # 0: outside the root protection area
    lift = (rng.gamma(1.2, 4.0, size=n) + 60 * cut**1.3 * rng.lognormal(0, 0.4, size=n)).clip(0)
    wind = rng.gamma(6.0, 0.8, size=n) + np.array([0.0, 1.0, 0.3, 0.5, 2.0])[site]
    lean = np.abs(rng.normal(0, 4.0, size=n)) + np.where(site == 4, 3.0, 0.0)
    lean_change = np.abs(rng.normal(0, 0.35, size=n)) + 4.0 * cut**1.5 * rng.lognormal(
        0, 0.4, size=n
    )
    compaction = rng.normal(np.array([2600, 1500, 2100, 1300, 1100])[site], 350, size=n)
    compaction = compaction.clip(300, 4500)
    # crown dieback: ash dieback disease in the ash, compaction and age in all
    stress = (
        np.where(species == 3, rng.gamma(1.5, 1.2, size=n), 0.0)
        + (compaction - 1800).clip(0) / 900
        + age / 150
        + rng.normal(0, 0.6, size=n)
    )
    dieback = np.round(stress.clip(0, 5))
    pruned = rng.integers(0, 16, size=n)
    deadwood = (
        1.5
        + 3.5 * dieback
        + 0.6 * pruned * rng.lognormal(0, 0.5, size=n)
        + rng.gamma(1.0, 2.0, size=n)
    ).clip(0, 90)
    density = (95 - 12 * dieback - 0.3 * deadwood + rng.normal(0, 5, size=n)).clip(5, 100)
    unions = rng.poisson(np.array([0.2, 0.1, 0.7, 0.3, 0.9, 0.4, 0.8])[species] * (1 + crown / 15))
    occupancy = rng.lognormal(np.array([3.4, 2.0, 3.0, 0.6, 1.4])[site], 0.9, size=n)
    building = rng.lognormal(np.array([1.5, 3.0, 2.3, 2.8, 3.0])[site], 0.6, size=n)
    month = rng.integers(1, 13, size=n)
    photos = rng.poisson(3, size=n) + 1
    inspector = rng.integers(1, 31, size=n)

    t_over_r = shell / radius  # Mattheck's shell-to-radius ratio
    slender = height / (dbh / 100)  # height over diameter, both in metres
    action = np.full(n, 5)
    action[(fungi >= 1) | (lean > 8) | (t_over_r < 0.65) | (lift > 15)] = 4
    action[(deadwood > 13) & (occupancy > 10)] = 3
    action[((slender > 58) & (wind > 5.5)) | (t_over_r < 0.45)] = 2
    action[(unions >= 2) & (crown > 11)] = 1
    action[(t_over_r < 0.32) | ((lift > 30) & (lean_change > 2.0)) | (dieback >= 4)] = 0
    flip = rng.random(n) < 0.03
    action[flip] = (action[flip] + rng.integers(1, 6, size=int(flip.sum()))) % 6

    values = {
        "species": [SPECIES[i] for i in species],
        "site": [SITES[i] for i in site],
        "age_y": age,
        "dbh_cm": dbh,
        "height_m": height,
        "crown_spread_m": crown,
        "shell_thickness_cm": shell_read,
        "resistograph_decay_pct": resisto,
        "cavity_opening_cm": cavity,
        "fungal_bodies": fungi,
        "lean_deg": lean,
        "lean_change_deg": lean_change,
        "trench_distance_m": trench,
        "root_plate_lift_mm": lift,
        "soil_compaction_kpa": compaction,
        "dieback_score": dieback,
        "deadwood_pct": deadwood,
        "crown_density_pct": density,
        "included_bark_unions": unions,
        "wind_speed_ms": wind,
        "occupancy_per_h": occupancy,
        "building_distance_m": building,
        "years_since_pruning": pruned,
        "survey_month": month,
        "photos_taken": photos,
        "inspector_years": inspector,
        "action": [ACTIONS[i] for i in action],
    }
    header = [name for name, _ in COLUMNS]
    columns = [
        values[name] if digits is None else [f"{v:.{digits}f}" for v in values[name]]
        for name, digits in COLUMNS
    ]
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- gauge_dials32.npz --------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def segment(
    u: np.ndarray, v: np.ndarray, dx: float, dy: float, start: float, end: float
) -> np.ndarray:
    """Distance to the segment from `start` to `end` along the unit direction (dx, dy)."""
    along = np.clip(u * dx + v * dy, start, end)
    return np.hypot(u - along * dx, v - along * dy)


def dial(rng: np.random.Generator, reading: float) -> np.ndarray:
    """One gauge seen by the inspection robot's camera, its needle at `reading` (0..1)."""
    cy, cx = rng.uniform(13, 19, size=2)
    radius = rng.uniform(9.0, 13.5)
    roll = np.deg2rad(rng.normal(0, 7))  # the camera's roll
    # a slightly oblique view: the face squashed along a random axis
    tilt, squash = rng.uniform(0, np.pi), rng.uniform(0.78, 1.0)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    a = dx * np.cos(tilt) + dy * np.sin(tilt)
    b = -dx * np.sin(tilt) + dy * np.cos(tilt)
    a = a / squash
    u = a * np.cos(tilt) - b * np.sin(tilt)  # the face's own coordinates (x right, y down)
    v = a * np.sin(tilt) + b * np.cos(tilt)
    r = np.hypot(u, v)
    # the background: a plant room wall and pipes
    image = rng.uniform(0.15, 0.55) + rng.normal(0, 0.08) * (_GRID[1] - 16) / 16
    for _ in range(int(rng.integers(0, 3))):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(-16, 16)
        across = -(_GRID[1] - 16) * np.sin(angle) + (_GRID[0] - 16) * np.cos(angle) - offset
        pipe = inside(np.abs(across) - rng.uniform(1.5, 4.0))
        shade = rng.uniform(0.1, 0.8) + 0.1 * np.tanh(across)
        image = image * (1 - pipe) + pipe * shade
    face_level = rng.uniform(0.7, 0.95)
    face = inside(r - radius)
    bezel = inside(np.abs(r - radius - 0.9) - 0.9)
    image = image * (1 - face) + face * face_level
    image = image * (1 - bezel) + bezel * rng.uniform(0.05, 0.45)
    ink = rng.uniform(0.05, 0.25)
    # the scale: major ticks over a 270 deg sweep from lower left clockwise to lower right
    majors = int(rng.integers(5, 11))
    marks = np.zeros_like(r)
    for k in range(majors + 1):
        phi = np.deg2rad(-135 + 270 * k / majors) + roll
        tdx, tdy = np.sin(phi), -np.cos(phi)
        d = segment(u, v, tdx, tdy, 0.72 * radius, 0.9 * radius)
        marks = np.maximum(marks, inside(d - 0.35))
    if rng.random() < 0.5:  # a printed red zone: a darker arc over the top of the scale
        theta = np.arctan2(u, -v) - roll  # clockwise from up
        zone = (theta > np.deg2rad(rng.uniform(80, 110))) & (theta < np.deg2rad(135))
        marks = np.maximum(marks, 0.6 * zone * inside(np.abs(r - 0.8 * radius) - 0.6))
    image = image * (1 - face * marks) + face * marks * ink
    # the needle, its short counterweight tail and the hub
    phi = np.deg2rad(-135 + 270 * reading) + roll
    ndx, ndy = np.sin(phi), -np.cos(phi)
    length = radius * rng.uniform(0.68, 0.86)
    along = u * ndx + v * ndy
    width = 0.55 * (1 - 0.6 * np.clip(along / length, 0, 1))  # tapered
    needle = inside(segment(u, v, ndx, ndy, -0.3 * length, length) - width)
    hub = inside(r - rng.uniform(1.0, 1.8))
    needle = np.maximum(needle, hub) * face
    shadow = inside(segment(u - 0.8, v - 0.8, ndx, ndy, 0, length) - 0.5) * face * (1 - needle)
    image = image * (1 - 0.25 * shadow)
    image = image * (1 - needle) + needle * rng.uniform(0.0, 0.2)
    # glare on the glass, a lighting gradient, dirt and sensor noise
    gy, gx = rng.uniform(-0.6, 0.6, size=2) * radius
    glare = np.exp(-((u - gx) ** 2 + (v - gy) ** 2) / (2 * rng.uniform(2.0, 8.0)))
    image = image + face * glare * rng.uniform(0.0, 0.6)
    light = rng.uniform(0, 2 * np.pi)
    image = image * (
        1 + 0.25 * ((_GRID[1] - 16) * np.cos(light) + (_GRID[0] - 16) * np.sin(light)) / 16
    )
    for _ in range(int(rng.integers(0, 4))):
        py, px = rng.uniform(0, SIZE, size=2)
        speck = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * rng.uniform(0.3, 1.0)))
        image = image - speck * rng.uniform(0.2, 0.5)
    image = image + rng.normal(0, 0.06, size=image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def gauge_dials(n: int = 2400, seed: int = 44002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(BANDS))
    readings = (y + rng.uniform(0, 1, size=n)) / len(BANDS)
    X = np.stack([dial(rng, float(reading)) for reading in readings])[:, None]
    return X, y.astype(np.int64)


# --- writing ------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    path.write_bytes(text.encode("ascii"))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's layout, with a fixed time stamp so the bytes do not follow the clock."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def main() -> None:
    write_csv(HERE / "street_trees.csv", *street_trees())
    X, y = gauge_dials()
    write_npz(HERE / "gauge_dials32.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
