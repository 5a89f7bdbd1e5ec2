"""The user data of fault-benchmark round held-out-51: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

print_farm_jobs.csv: a 3D-printing farm's job log, one print job per row
------------------------------------------------------------------------
3,200 rows, 21 columns. Each row is one job of a farm of filament (FDM) printers as its
print server and the operators' outcome log export it: the printer kind (a text column:
bedslinger, corexy or delta, each with its own hot end - the most plastic it melts a
second - its usual speed, the stiffness of its frame and the retraction its extruder
needs), the filament (a text column: PLA, PETG, ABS, ASA or TPU, each with its own nozzle
and bed temperatures and fan, how easily it flows, how much water it takes up from the
air and whether it shrinks as it cools) and 18 numeric columns in their own units: the
nozzle size (0.4 or 0.6 mm), the layer height (mm), the print speed (mm/s, log-normal,
~16 to ~340), the nozzle, bed and chamber temperatures (deg C; one bed in eight set 15 to
35 degrees low), the room's humidity (%), the days the spool has been open (gamma, up to
~270: heavy-tailed), the retraction (mm), the part's height (mm, log-normal, ~3 to ~420)
and footprint (cm2, log-normal, 1 to ~600: heavy-tailed), the infill (%), the part
cooling fan (%), the extruder motor current (A), the vibration at the nozzle (mg,
log-normal, ~15 to ~900) and the print time (h, ~0.2 to ~250: heavy-tailed), and two
columns that do not bear on the outcome (the shelf the part was put on and the job's
place in the queue). A few readings are missing and left blank: the chamber temperature
(58 rows), the humidity (76) and the extruder current (109). `outcome`, what the
operator logged, by these rules in this order (the last that holds wins, so an earlier
rule is overridden by a later one):

    warping          8%   a footprint above 30 cm2 with an ABS or ASA part in a chamber
                          below 34 deg C, or a bed more than 14 degrees below the
                          material's, or a PETG, ABS or ASA part under a fan above 65%
    stringing       11%   a nozzle more than 7 degrees above the material's with less
                          retraction than the printer's extruder needs, or wet filament
                          (days open x humidity / 50 x the material's thirst above 45)
    under_extrusion 15%   more plastic asked for (speed x layer x 1.125 x nozzle, mm3/s)
                          than the hot end melts of this material at this temperature
                          (its maximum x the material's ease of flow x (1 + 0.025 x the
                          degrees above the material's nozzle temperature))
    layer_shift     13%   vibration above 160 mg on a tall part (above 70 mm; on a
                          bedslinger, whose bed carries the part, the height x speed /
                          50 mm/s), or above 400 mg
    ok              53%   otherwise

No rule is one column: each combines two to four readings, some with the printer's or
the material's own values or as a flow rate no column holds, at thresholds out on
heavy-tailed scales, and the rules override each other. 3% of the outcomes are wrong (a
random other one). In scikit-learn (5-fold, standardised columns, mean-imputed, text
one-hot) a logistic regression reaches about 0.74 accuracy, an MLP (128, 64) about 0.77
and a random forest (300 trees) about 0.80; the commonest outcome alone 0.53. The healthy
MLP of this round reaches about 0.78.

sewing_buttons28.npz: a garment factory's button inspection, one button per frame
---------------------------------------------------------------------------------
2,500 RGB images (uint8, `X` of shape (2500, 3, 28, 28)) from the camera over a garment
factory's button-sewing line, one button seen from above per frame: the cloth (linen,
denim, black wool, burgundy, grey flannel, olive drill or white shirting, its weave at a
random angle and pitch, in 30% of the frames a seam), in 35% of the frames the edge of a
neighbouring button at the border, up to two loose threads across the frame; the button
at a random position (+-3 px), turned by any angle and scaled by 0.85-1.15, in a colour
drawn from one palette for every class (ivory, black, horn, brass, nickel, navy, red,
green or mother of pearl, at 0.8-1.1 of its brightness), with a soft shadow to a random
side; the thread (sewn through 60% of the holed buttons, around every toggle) in another
colour of the palette; over it all a gradient of light, a warm or cool cast, the
exposure and sensor noise. Labels `y` (int64), 5 classes, 500 each:

    0 two_hole   1 four_hole   2 shank   3 toggle   4 snap

A two-hole button is a flat disc with a raised rim, a dished middle and two bevelled
holes (the cloth showing through), sometimes a stitch between them; a four-hole button
the same with four holes in a square, sometimes crossed or paired stitches; a shank
button a domed face without holes, an embossed ring and a highlight; a toggle a long
grained barrel with a cord lashed around its middle; a snap a press stud: an outer ring
with four to six prongs, a dark groove and a raised central stud. The colour says nothing
of the class, and the turn, the cloth, the light and the threads vary far more than the
outlines; telling two holes from four takes the small details. On the raw pixels a
logistic regression (standardised, L2, C = 0.01) reaches about 0.32 and a random forest
(300 trees) about 0.50 (3-fold); the healthy CNN of this round about 0.82.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PRINTERS = ("bedslinger", "corexy", "delta")
MATERIALS = ("PLA", "PETG", "ABS", "ASA", "TPU")
OUTCOMES = ("ok", "warping", "stringing", "under_extrusion", "layer_shift")
COLUMNS = (
    ("printer", None),
    ("material", None),
    ("nozzle_mm", 1),
    ("layer_mm", 2),
    ("speed_mm_s", 0),
    ("nozzle_temp_c", 0),
    ("bed_temp_c", 0),
    ("chamber_temp_c", 1),
    ("room_humidity_pct", 0),
    ("spool_open_days", 0),
    ("retraction_mm", 1),
    ("part_height_mm", 1),
    ("footprint_cm2", 1),
    ("infill_pct", 0),
    ("fan_pct", 0),
    ("extruder_current_a", 2),
    ("z_vibration_mg", 0),
    ("print_hours", 2),
    ("shelf", 0),
    ("queue_position", 0),
    ("outcome", None),
)
SIZE = 28
BUTTONS = ("two_hole", "four_hole", "shank", "toggle", "snap")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- print_farm_jobs.csv ------------------------------------------------------------------


def print_farm_jobs(n: int = 3200, seed: int = 51001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    printer = rng.choice(len(PRINTERS), size=n, p=[0.45, 0.35, 0.20])
    material = rng.choice(len(MATERIALS), size=n, p=[0.38, 0.25, 0.13, 0.12, 0.12])
    # each printer's hot end (the most plastic it melts, mm3/s), usual speed (mm/s), frame
    # stiffness (vibration per unit of speed) and the retraction its extruder needs (mm)
    max_flow = np.array([15.0, 24.0, 19.0])[printer]
    usual_speed = np.array([50.0, 110.0, 85.0])[printer]
    shake = np.array([1.6, 0.7, 1.0])[printer]
    need_retract = np.array([0.9, 0.6, 4.5])[printer]
    # each material's nozzle and bed temperatures, how easily it flows, how much water it
    # takes up from the air and whether it shrinks enough to lift off the bed
    nom_nozzle = np.array([210.0, 240.0, 250.0, 255.0, 228.0])[material]
    nom_bed = np.array([60.0, 80.0, 100.0, 100.0, 50.0])[material]
    melt = np.array([1.0, 0.85, 0.9, 0.88, 0.45])[material]
    hygro = np.array([0.3, 1.0, 0.5, 0.45, 1.4])[material]
    shrink = np.array([0.0, 0.3, 1.0, 0.9, 0.0])[material]
    nom_fan = np.array([100.0, 40.0, 15.0, 20.0, 60.0])[material]

    nozzle = np.where(rng.random(n) < 0.3, 0.6, 0.4)
    layer = rng.choice([0.12, 0.16, 0.2, 0.24, 0.28], size=n) * nozzle / 0.4
    speed = usual_speed * rng.lognormal(0, 0.38, size=n)
    nozzle_temp = nom_nozzle + rng.normal(0, 7, size=n)
    bed_temp = nom_bed + rng.normal(0, 5, size=n)
    bed_temp = np.where(rng.random(n) < 0.12, bed_temp - rng.uniform(15, 35, size=n), bed_temp)
    enclosed = (printer == 1) | (rng.random(n) < 0.2)
    chamber = rng.normal(24, 3, size=n) + enclosed * rng.uniform(8, 22, size=n)
    humidity = np.clip(rng.normal(46, 13, size=n), 12, 90)
    spool_days = rng.gamma(0.8, 30, size=n)
    retract = need_retract * rng.lognormal(0, 0.35, size=n)
    height = rng.lognormal(np.log(40), 0.75, size=n)
    footprint = rng.lognormal(np.log(28), 0.95, size=n)
    infill = rng.choice([10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 100.0], size=n)
    fan = np.clip(nom_fan + rng.normal(0, 12, size=n), 0, 100)
    # the plastic pushed through the nozzle (mm3/s) against what the hot end melts at this
    # temperature and with this material
    flow = speed * layer * nozzle * 1.125
    capacity = max_flow * melt * (1 + 0.025 * (nozzle_temp - nom_nozzle))
    current = 0.6 + 0.008 * flow + rng.normal(0, 0.07, size=n)
    vibration = rng.lognormal(np.log(shake * speed * (1 + height / 120)), 0.3, size=n)
    volume = footprint * height / 10 * (0.25 + 0.75 * infill / 100)  # cm3
    hours = volume * 1000 / np.maximum(flow, 0.5) / 3600 * rng.lognormal(0, 0.15, size=n) + 0.2
    # water in the filament: days open, the room's air and the material's thirst
    wet = spool_days * humidity / 50 * hygro

    outcome = np.zeros(n, dtype=int)
    lifts = (footprint > 30) & (
        ((shrink > 0.5) & (chamber < 34))
        | (bed_temp < nom_bed - 14)
        | ((shrink > 0.2) & (fan > 65))
    )
    outcome[lifts] = 1
    strings = ((nozzle_temp > nom_nozzle + 7) & (retract < need_retract)) | (wet > 45)
    outcome[strings] = 2
    outcome[flow > capacity] = 3
    tall = height * np.where(printer == 0, speed / 50, 1.0)  # a moving bed rocks tall parts
    shifts = ((vibration > 160) & (tall > 70)) | (vibration > 400)
    outcome[shifts] = 4
    flip = rng.random(n) < 0.03
    outcome[flip] = (outcome[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "printer": [PRINTERS[i] for i in printer],
        "material": [MATERIALS[i] for i in material],
        "nozzle_mm": nozzle,
        "layer_mm": layer,
        "speed_mm_s": speed,
        "nozzle_temp_c": nozzle_temp,
        "bed_temp_c": bed_temp,
        "chamber_temp_c": chamber,
        "room_humidity_pct": humidity,
        "spool_open_days": spool_days,
        "retraction_mm": retract,
        "part_height_mm": height,
        "footprint_cm2": footprint,
        "infill_pct": infill,
        "fan_pct": fan,
        "extruder_current_a": current,
        "z_vibration_mg": vibration,
        "print_hours": hours,
        "shelf": rng.integers(1, 13, size=n).astype(float),
        "queue_position": rng.integers(1, 40, size=n).astype(float),
        "outcome": [OUTCOMES[i] for i in outcome],
    }
    missing = {
        "room_humidity_pct": rng.random(n) < 0.025,
        "chamber_temp_c": rng.random(n) < 0.02,
        "extruder_current_a": rng.random(n) < 0.03,
    }
    header = [name for name, _ in COLUMNS]
    columns = []
    for name, digits in COLUMNS:
        if digits is None:
            columns.append(values[name])
            continue
        blank = missing.get(name, np.zeros(n, dtype=bool))
        columns.append(
            [
                "" if gap else f"{v + 0.0:.{digits}f}"
                for v, gap in zip(np.round(values[name], digits), blank, strict=True)
            ]
        )
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- sewing_buttons28.npz -----------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def segment(u, v, u0, v0, u1, v1, r: float) -> np.ndarray:
    """Signed distance to a bar from (u0, v0) to (u1, v1) of half-width r."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv + 1e-9), 0, 1)
    return np.hypot(u - u0 - t * du, v - v0 - t * dv) - r


def ellipse(u, v, cu: float, cv: float, a: float, b: float, angle: float = 0.0) -> np.ndarray:
    """Approximate signed distance to an ellipse centred (cu, cv), half-axes a (along u), b."""
    du, dv = u - cu, v - cv
    c, s = np.cos(angle), np.sin(angle)
    p, q = du * c + dv * s, -du * s + dv * c
    return (np.hypot(p / a, q / b) - 1) * min(a, b)


def button(
    rng: np.random.Generator, kind: str, u, v, thread: np.ndarray, cloth: np.ndarray
) -> list:
    """One button seen from above in its own coordinates: a list of (signed distance,
    shade, colour or None) layers drawn in order; shade multiplies the button's colour,
    a colour of its own (the thread) replaces it."""
    layers = []
    r = np.hypot(u, v)
    if kind in ("two_hole", "four_hole"):
        radius = rng.uniform(7.6, 9.0)
        layers.append((r - radius, 1.0, None))
        layers.append((np.abs(r - radius + 0.9) - 0.55, 1.2, None))  # the raised rim
        layers.append((r - radius + 2.0, 0.85, None))  # the dished middle
        if kind == "two_hole":
            d = rng.uniform(2.3, 2.9)
            holes = [(d, 0.0), (-d, 0.0)]
            hole_r = rng.uniform(1.0, 1.3)
        else:
            d = rng.uniform(2.3, 2.8)
            holes = [(d, d), (-d, d), (-d, -d), (d, -d)]
            hole_r = rng.uniform(0.85, 1.1)
        for hu, hv in holes:  # a bevelled edge, then the cloth through the hole
            dist = np.hypot(u - hu, v - hv)
            layers.append((dist - hole_r - 0.6, 1.3, None))
            layers.append((dist - hole_r, 1.0, cloth * 0.45))
        if rng.random() < 0.6:  # sewn on: the thread across the holes
            width = rng.uniform(0.25, 0.4)
            if kind == "two_hole":
                bars = [segment(u, v, -d, 0, d, 0, width)]
            elif rng.random() < 0.5:  # a cross
                bars = [segment(u, v, -d, -d, d, d, width), segment(u, v, -d, d, d, -d, width)]
            else:  # two parallel stitches
                bars = [segment(u, v, -d, -d, d, -d, width), segment(u, v, -d, d, d, d, width)]
            layers.append((np.minimum.reduce(bars), 1.0, thread))
    elif kind == "shank":  # a domed face, no holes, an embossed ring and a highlight
        radius = rng.uniform(6.5, 8.4)
        layers.append((r - radius, 0.8, None))
        layers.append((r - radius * 0.8, 0.95, None))
        ring = rng.uniform(0.35, 0.6) * radius
        layers.append((np.abs(r - ring) - 0.45, 0.7, None))
        hu, hv = rng.uniform(-2.5, 2.5, size=2)
        layers.append((np.hypot(u - hu, v - hv) - rng.uniform(1.0, 1.8), 1.35, None))
    elif kind == "toggle":  # a barrel: a long capsule with grain and a lashing cord across
        half, width = rng.uniform(7.5, 9.5), rng.uniform(2.6, 3.4)
        body = segment(u, v, -half + width, 0, half - width, 0, width)
        layers.append((body, 1.0, None))
        grain = np.abs(np.sin(2.2 * v + 0.15 * u + rng.uniform(0, 6.3))) - 0.7
        layers.append((np.maximum(body + 0.4, -grain), 0.8, None))
        band = np.abs(u - rng.uniform(-0.8, 0.8)) - rng.uniform(0.6, 0.9)
        layers.append((np.maximum(band, body - 0.4), 1.0, thread))
        for end in (-1.0, 1.0):  # the rounded ends catch the light
            tip = np.hypot(u - end * (half - width * 0.7), v) - width * 0.45
            layers.append((np.maximum(tip, body), 1.15, None))
    else:  # snap: a press stud, an outer ring, a dark groove and a raised central stud
        radius = rng.uniform(5.5, 7.2)
        layers.append((r - radius, 1.05, None))
        layers.append((r - radius * 0.68, 0.3, None))
        layers.append((r - radius * 0.45, 1.2, None))
        layers.append((r - radius * 0.18, 0.9, None))
        prongs = int(rng.integers(4, 7))
        start = rng.uniform(0, 2 * np.pi)
        for k in range(prongs):
            ang = start + k * 2 * np.pi / prongs
            pu, pv = radius * 0.86 * np.cos(ang), radius * 0.86 * np.sin(ang)
            layers.append((np.hypot(u - pu, v - pv) - 0.55, 0.55, None))
    return layers


COLOURS = np.array(
    [
        (0.92, 0.91, 0.86),  # ivory
        (0.12, 0.12, 0.13),  # black
        (0.55, 0.36, 0.20),  # horn brown
        (0.70, 0.56, 0.30),  # brass
        (0.62, 0.63, 0.66),  # nickel
        (0.20, 0.30, 0.58),  # navy
        (0.70, 0.18, 0.20),  # red
        (0.32, 0.52, 0.34),  # green
        (0.86, 0.80, 0.70),  # mother of pearl
    ]
)
FABRICS = np.array(
    [
        (0.80, 0.78, 0.72),  # linen
        (0.25, 0.30, 0.45),  # denim
        (0.15, 0.15, 0.16),  # black wool
        (0.55, 0.20, 0.22),  # burgundy
        (0.60, 0.62, 0.60),  # grey flannel
        (0.40, 0.46, 0.30),  # olive drill
        (0.88, 0.88, 0.90),  # white shirting
    ]
)


def frame(rng: np.random.Generator, kind: str) -> np.ndarray:
    """One button on a garment's fabric, RGB in 0..1, shape (3, 28, 28)."""
    y, x = _GRID
    # the fabric: a weave of two thread directions at a random angle and pitch
    cloth = FABRICS[int(rng.integers(len(FABRICS)))] * rng.uniform(0.85, 1.12)
    tilt = rng.uniform(0, np.pi)
    pitch = rng.uniform(1.6, 3.2)
    a = x * np.cos(tilt) + y * np.sin(tilt)
    b = -x * np.sin(tilt) + y * np.cos(tilt)
    weave = 1 + 0.08 * np.sin(2 * np.pi * a / pitch) * np.sin(2 * np.pi * b / pitch)
    image = cloth[:, None, None] * weave[None] * (1 + 0.04 * rng.normal(size=(1, SIZE, SIZE)))
    if rng.random() < 0.3:  # a seam or a stripe of the cloth
        off = rng.uniform(-10, 10)
        seam = inside(np.abs(a - SIZE / 2 * (np.cos(tilt) + np.sin(tilt)) - off) - 0.6, 1.0)
        image = image * (1 - 0.3 * seam[None])
    # a neighbouring button's edge at the border in 35% of the frames
    if rng.random() < 0.35:
        side = int(rng.integers(4))
        depth = rng.uniform(1.5, 4.0)
        along = rng.uniform(4, SIZE - 4)
        cx, cy = [
            (along, -7 + depth),
            (SIZE + 7 - depth, along),
            (along, SIZE + 7 - depth),
            (-7 + depth, along),
        ][side]
        m = inside(np.hypot(x - cx, y - cy) - 7.0)
        tone = COLOURS[int(rng.integers(len(COLOURS)))] * rng.uniform(0.75, 1.05)
        image = image * (1 - m) + m * tone[:, None, None]
    # loose threads and lint
    for _ in range(int(rng.integers(0, 3))):
        y0, x0, y1, x1 = rng.uniform(0, SIZE, size=4)
        m = inside(segment(x, y, x0, y0, x1, y1, rng.uniform(0.2, 0.4)), 0.7)
        tone = COLOURS[int(rng.integers(len(COLOURS)))]
        image = image * (1 - 0.8 * m) + 0.8 * m * tone[:, None, None]
    # the button: near the middle, turned by any angle, 0.85-1.15 of its size
    scale = rng.uniform(0.85, 1.15)
    cy, cx = SIZE / 2 + rng.uniform(-3.0, 3.0, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = y - cy, x - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    colour = COLOURS[int(rng.integers(len(COLOURS)))] * rng.uniform(0.8, 1.1) + rng.normal(
        0, 0.03, size=3
    )
    thread = COLOURS[int(rng.integers(len(COLOURS)))] * rng.uniform(0.7, 1.1)
    layers = button(rng, kind, u, v, thread, cloth)
    outline = layers[0][0]
    shadow = np.roll(
        inside(outline, 1.8), tuple(int(s) for s in rng.integers(-2, 3, size=2)), (0, 1)
    )
    image = image * (1 - 0.45 * shadow)
    for d, shade, own in layers:
        m = inside(d)
        tone = np.clip(colour * shade if own is None else own, 0, 1)
        image = image * (1 - m) + m * tone[:, None, None]
    # the light: a gradient across the cloth, a warm or cool cast, exposure, sensor noise
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((x - SIZE / 2) * np.cos(ang) + (y - SIZE / 2) * np.sin(ang)) / SIZE
    cast = 1 + rng.normal(0, 0.06, size=3)
    image = image * (1 + rng.uniform(0.1, 0.5) * ramp)[None] * cast[:, None, None]
    image = image * rng.uniform(0.7, 1.15) + rng.normal(
        0, rng.uniform(0.015, 0.05), size=image.shape
    )
    return np.clip(image, 0, 1)


def sewing_buttons(n: int = 2500, seed: int = 51002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(BUTTONS))
    X = np.stack([frame(rng, BUTTONS[int(k)]) for k in y])
    X = np.round(X * 255).astype(np.uint8)  # 8-bit camera levels
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
    write_csv(HERE / "print_farm_jobs.csv", *print_farm_jobs())
    X, y = sewing_buttons()
    write_npz(HERE / "sewing_buttons28.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
