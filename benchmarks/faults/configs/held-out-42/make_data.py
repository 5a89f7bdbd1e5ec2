"""The user data of fault-benchmark round held-out-42: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

grain_intake.csv: a country elevator's intake tickets, one truckload of grain per row
-------------------------------------------------------------------------------------
3,000 rows, 26 columns. Each row is one load delivered at harvest: the crop and the
district it was grown in (two text columns: `crop` wheat, barley or rye; `district`
north_plain, river_flats, hill_country or coastal), the weather it was grown and cut in,
the intake lab's readings of the probe sample and the ticket's logistics. 23 numeric
columns in their own units and scales: rain in the week of harvest (mm), days the ripe
crop stood before cutting, growing-season rainfall (mm), moisture (%), grain temperature
(deg C), air humidity at intake (%), sprouted kernels (%), Hagberg falling number (s),
thousand-kernel weight (g), protein as is (%, at the load's own moisture), test weight
(kg/hl), screenings (% through a 2.0 mm sieve), foreign material (%),
deoxynivalenol (ppb), live insects (per kg), days in the farm bin since harvest, kernel
hardness (SKCS index), colour (CIE L*), germination (%), truck load (t), haul (km), probe
count and the hour of the ticket. Hardness, load, haul, probes and hour do not bear on
the grade. `grade`, the elevator's rules in this order:

    rejected   9%   mycotoxin over 600 ppb DON (a wet, humid harvest), or 2+ live insects
                    per kg (warm grain held long in the farm bin)
    sprouted  10%   falling number below 230 s: rain on a standing ripe crop (rain x days
                    standing, rye the most susceptible) sprouts it, and alpha-amylase
                    lowers the falling number (nonlinearly: exp(-sprouted share))
    feed      14%   test weight below the crop's minimum (wheat 76, barley 64, rye 71
                    kg/hl; wet and shrivelled grain weighs light), or screenings over 9%
    malting   11%   barley with protein on a 12% moisture basis (as is x 88 / (100 -
                    moisture)) within 9.5-11.5% and germination of at least 96%
    premium   11%   wheat with protein on a 12% moisture basis of at least 13.0%
    standard  45%   otherwise

No grade is one column: protein must be corrected for moisture, the sprout damage shows
in several readings at once, and the test-weight limit depends on the crop. 3% of the
grades are wrong (a random other grade). In scikit-learn (5-fold, standardised columns,
text one-hot) a logistic regression reaches about 0.80 accuracy, a random forest (300
trees) about 0.94; the commonest grade alone 0.45.

diatoms28.npz: darkfield micrographs of single diatoms from a water-quality survey
-----------------------------------------------------------------------------------
2,400 grayscale images (uint8, 1 x 28 x 28, `X`) of single diatom frustules as a
darkfield microscope sees them: bright silica on a dark, noisy, unevenly lit field, each
cell at a random position, size, orientation and brightness, with specks of debris and
now and then a stray fibre. Labels `y` (int64), 6 kinds, 400 each:

    0 centric     a round valve: a bright rim and radial striae (12-20 spokes)
    1 pennate     a long narrow valve (rod-like) crossed by transverse striae
    2 navicula    a boat-shaped (lens) valve, dim inside, with a bright raphe along its
                  axis and a central nodule
    3 triangular  a rounded triangle (Triceratium): a bright rim and corner pores
    4 chain       a colony of 3-5 small round cells in a row, touching
    5 girdle      a frustule in girdle view: a rounded rectangle with two bright bands
                  along its length

Pennate, navicula and girdle views are all elongated bright shapes of similar size: only
their outline (pointed, rod, rectangle) and inner texture tell them apart. A logistic
regression on the raw pixels reaches about 0.55 (3-fold).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CROPS = ("wheat", "barley", "rye")
DISTRICTS = ("north_plain", "river_flats", "hill_country", "coastal")
GRADES = ("rejected", "sprouted", "feed", "malting", "premium", "standard")
COLUMNS = (
    ("crop", None),
    ("district", None),
    ("harvest_rain_mm", 1),
    ("days_standing", 0),
    ("season_rain_mm", 0),
    ("moisture_pct", 2),
    ("grain_temp_c", 1),
    ("intake_rh_pct", 1),
    ("sprouted_pct", 2),
    ("falling_number_s", 0),
    ("tkw_g", 1),
    ("protein_asis_pct", 2),
    ("test_weight_kg_hl", 1),
    ("screenings_pct", 2),
    ("foreign_material_pct", 2),
    ("don_ppb", 0),
    ("insects_per_kg", 0),
    ("days_in_bin", 0),
    ("hardness_skcs", 1),
    ("colour_l", 1),
    ("germination_pct", 1),
    ("truck_load_t", 2),
    ("haul_km", 1),
    ("probe_count", 0),
    ("ticket_hour", 0),
    ("grade", None),
)
SIZE = 28
KINDS = ("centric", "pennate", "navicula", "triangular", "chain", "girdle")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- grain_intake.csv ---------------------------------------------------------------------


def grain_intake(n: int = 3000, seed: int = 42001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    crop = rng.choice(3, size=n, p=[0.5, 0.32, 0.18])
    district = rng.choice(4, size=n, p=[0.3, 0.25, 0.25, 0.2])
    wet = np.array([0.8, 1.3, 1.0, 1.6])[district]  # how rainy the district is
    harvest_rain = rng.gamma(1.3, 9.0, size=n) * wet
    days_standing = np.floor(rng.exponential(6.0, size=n)).clip(0, 30)
    season_rain = rng.normal(330.0, 70.0, size=n) * wet**0.5
    moisture = (11.2 + 0.05 * harvest_rain + rng.normal(0, 1.1, size=n)).clip(8.5, 22)
    intake_rh = (45 + 0.6 * harvest_rain + rng.normal(0, 10, size=n)).clip(20, 99)
    days_in_bin = np.floor(rng.uniform(0, 90, size=n))
    grain_temp = (12 + 0.8 * (moisture - 12) + rng.gamma(2.0, 3.5, size=n)).clip(4, 40)
    susceptible = np.array([1.0, 0.7, 1.7])[crop]
    sprouted = (
        susceptible * harvest_rain * days_standing / 60 * rng.lognormal(0, 0.5, size=n)
    ).clip(0, 40)
    falling = (60 + 360 * np.exp(-0.22 * sprouted) + rng.normal(0, 22, size=n)).clip(62, 480)
    tkw_base = np.array([40.0, 45.0, 32.0])[crop]
    tkw = tkw_base - 0.012 * (330 - season_rain).clip(0) * 3 + rng.normal(0, 4.0, size=n)
    protein_dry = (
        np.array([14.3, 12.2, 11.0])[crop]
        - 0.007 * (season_rain - 330)
        + rng.normal(0, 1.2, size=n)
    )
    protein_asis = protein_dry * (100 - moisture) / 100
    test_weight = (
        np.array([78.5, 66.0, 72.5])[crop]
        + 0.22 * (tkw - tkw_base)
        - 0.5 * (moisture - 12)
        - 0.18 * sprouted
        + rng.normal(0, 1.6, size=n)
    )
    screenings = (np.exp(rng.normal(0.9, 0.55, size=n)) + 0.25 * (tkw_base - tkw).clip(0)).clip(
        0, 30
    )
    foreign = rng.gamma(1.2, 0.6, size=n)
    log_don = (
        3.6
        + 0.028 * harvest_rain
        + 0.035 * (intake_rh - 60)
        + np.array([0.0, 0.4, -0.2])[crop]
        + rng.normal(0, 0.8, size=n)
    )
    don = np.exp(log_don).clip(5, 20000)
    insects = rng.poisson(0.15 + 0.004 * (grain_temp - 15).clip(0) ** 1.5 * days_in_bin / 10)
    hardness = np.array([65.0, 45.0, 30.0])[crop] + rng.normal(0, 9, size=n)
    colour = 62 - 0.25 * sprouted - 0.04 * harvest_rain + rng.normal(0, 1.8, size=n)
    germination = (
        99.0 - 0.45 * sprouted - 0.25 * (grain_temp - 24).clip(0) - rng.exponential(1.5, size=n)
    ).clip(40, 100)
    truck = rng.uniform(18, 38, size=n)
    haul = rng.lognormal(3.2, 0.7, size=n)
    probes = rng.integers(3, 10, size=n)
    hour = rng.integers(6, 23, size=n)

    protein_12 = protein_asis * 88 / (100 - moisture)
    minimum = np.array([76.0, 64.0, 71.0])[crop]
    grade = np.full(n, 5)
    grade[(crop == 0) & (protein_12 >= 13.0)] = 4
    grade[(crop == 1) & (protein_12 >= 9.5) & (protein_12 <= 11.5) & (germination >= 96)] = 3
    grade[(test_weight < minimum) | (screenings > 9)] = 2
    grade[falling < 230] = 1
    grade[(don > 600) | (insects >= 2)] = 0
    flip = rng.random(n) < 0.03
    grade[flip] = (grade[flip] + rng.integers(1, 6, size=int(flip.sum()))) % 6

    values = {
        "crop": [CROPS[i] for i in crop],
        "district": [DISTRICTS[i] for i in district],
        "harvest_rain_mm": harvest_rain,
        "days_standing": days_standing,
        "season_rain_mm": season_rain,
        "moisture_pct": moisture,
        "grain_temp_c": grain_temp,
        "intake_rh_pct": intake_rh,
        "sprouted_pct": sprouted,
        "falling_number_s": falling,
        "tkw_g": tkw,
        "protein_asis_pct": protein_asis,
        "test_weight_kg_hl": test_weight,
        "screenings_pct": screenings,
        "foreign_material_pct": foreign,
        "don_ppb": don,
        "insects_per_kg": insects,
        "days_in_bin": days_in_bin,
        "hardness_skcs": hardness,
        "colour_l": colour,
        "germination_pct": germination,
        "truck_load_t": truck,
        "haul_km": haul,
        "probe_count": probes,
        "ticket_hour": hour,
        "grade": [GRADES[i] for i in grade],
    }
    header = [name for name, _ in COLUMNS]
    columns = [
        values[name] if digits is None else [f"{v:.{digits}f}" for v in values[name]]
        for name, digits in COLUMNS
    ]
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- diatoms28.npz ------------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def edge(distance: np.ndarray, width: float = 0.8) -> np.ndarray:
    """Ink inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def line(distance: np.ndarray, half: float) -> np.ndarray:
    """A bright line of half-width `half` around the zero set of `distance`."""
    return np.clip(half + 0.5 - np.abs(distance), 0, 1)


def frame(rng: np.random.Generator, cy: float, cx: float) -> tuple[np.ndarray, ...]:
    """Coordinates along (u) and across (v) a random orientation, centred on (cy, cx)."""
    angle = rng.uniform(0, np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    return u, v, np.hypot(dy, dx), np.arctan2(dy, dx) - angle


def diatom(rng: np.random.Generator, kind: int) -> np.ndarray:
    cy, cx = rng.uniform(11, 17, size=2)
    u, v, r, theta = frame(rng, cy, cx)
    if kind == 0:  # centric: a rim and radial striae
        radius = rng.uniform(6, 10)
        spokes = rng.integers(12, 21)
        disc = edge(r - radius)
        striae = 0.5 + 0.5 * np.cos(spokes * theta)
        ink = np.maximum(line(r - radius, 0.7), disc * (0.25 + 0.5 * striae) * (r > 1.5))
    elif kind == 1:  # pennate: a rod crossed by transverse striae
        a, b = rng.uniform(9, 12.5), rng.uniform(2.2, 3.4)
        body = edge(np.hypot(np.maximum(np.abs(u) - (a - b), 0), v) - b)
        striae = 0.5 + 0.5 * np.cos(2 * np.pi * u / rng.uniform(1.8, 2.6))
        ink = body * (0.35 + 0.6 * striae)
    elif kind == 2:  # navicula: a lens with a raphe and a central nodule
        a, b = rng.uniform(8.5, 12), rng.uniform(3.0, 4.5)
        radius = (a * a + b * b) / (2 * b)  # two arcs through the tips
        lens = np.maximum(np.hypot(u, np.abs(v) + radius - b) - radius, np.abs(u) - a)
        body = edge(lens)
        ink = np.maximum(body * 0.35, line(lens, 0.45) * 0.8)
        ink = np.maximum(ink, body * line(v, 0.35) * 0.95)
        ink = np.maximum(ink, edge(np.hypot(u, v) - 1.4))
    elif kind == 3:  # triangular: a rounded triangle with a bright rim and corner pores
        size = rng.uniform(5, 8)
        sides = [
            u * np.cos(phi) + v * np.sin(phi) for phi in (np.pi / 2, np.pi * 7 / 6, np.pi * 11 / 6)
        ]
        tri = np.max(sides, axis=0) - size * 0.5
        body = edge(tri - 1.0)
        ink = np.maximum(body * 0.3, line(tri - 1.0, 0.6))
        for phi in (np.pi / 2, np.pi * 7 / 6, np.pi * 11 / 6):
            py, px = size * 0.75 * np.sin(phi), size * 0.75 * np.cos(phi)
            ink = np.maximum(ink, edge(np.hypot(u - px, v - py) - 1.2))
    elif kind == 4:  # chain: 3-5 small cells in a row, touching
        cells = int(rng.integers(3, 6))
        radius = rng.uniform(1.8, 2.6)
        ink = np.zeros_like(u)
        for i in range(cells):
            centre = (i - (cells - 1) / 2) * 2 * radius * 0.95
            cell = np.hypot(u - centre, v) - radius
            ink = np.maximum(ink, np.maximum(edge(cell) * 0.45, line(cell, 0.45)))
    else:  # girdle view: a rounded rectangle with two bright bands along its length
        a, b = rng.uniform(8, 11.5), rng.uniform(3.5, 5.5)
        box = np.hypot(np.maximum(np.abs(u) - a + 1, 0), np.maximum(np.abs(v) - b + 1, 0))
        box = box + np.minimum(np.maximum(np.abs(u) - a + 1, np.abs(v) - b + 1), 0) - 1
        body = edge(box)
        bands = line(np.abs(v) - b * 0.45, 0.5)
        ink = np.maximum(body * 0.35, body * bands * 0.95)
        ink = np.maximum(ink, line(box, 0.4) * 0.7)
    return ink


def micrograph(rng: np.random.Generator, kind: int) -> np.ndarray:
    ink = diatom(rng, kind) * rng.uniform(0.45, 1.0)
    for _ in range(int(rng.integers(1, 4))):  # debris specks
        py, px = rng.uniform(0, SIZE, size=2)
        speck = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * rng.uniform(0.4, 1)))
        ink = np.maximum(ink, speck * rng.uniform(0.3, 0.8))
    if rng.random() < 0.35:  # a stray fibre across the field
        u, v, _, _ = frame(rng, *rng.uniform(4, 24, size=2))
        ink = np.maximum(ink, line(v, 0.3) * (np.abs(u) < rng.uniform(4, 10)) * 0.5)
    light = 1 - 0.35 * ((_GRID[0] - rng.uniform(0, SIZE)) ** 2 + (_GRID[1] - 14) ** 2) / 600
    field = 0.1 * light + rng.normal(0, 0.09, size=ink.shape)
    return (np.clip(field + ink * light, 0, 1) * 255).astype(np.uint8)


def diatoms(n: int = 2400, seed: int = 42002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(KINDS))
    X = np.stack([micrograph(rng, int(kind)) for kind in y])[:, None]
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
    write_csv(HERE / "grain_intake.csv", *grain_intake())
    X, y = diatoms()
    write_npz(HERE / "diatoms28.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
