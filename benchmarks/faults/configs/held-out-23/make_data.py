"""The user data of fault-benchmark round held-out-23: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

dairy_herd.csv: a dairy farm's daily cow-health sheet
-----------------------------------------------------
3,000 rows, 23 columns. Each row is one cow on one day: what the milking robot, the neck
collar and the in-line milk analyser recorded, and, in the text column `status`, what the
herd vet found when she examined the cow that day:

    healthy        40%   nothing wrong
    mastitis       15%   an infected udder quarter: somatic cells and electrical
                         conductivity up (more in one quarter than the others), lactose
                         down, a fever in the acute cases, a drop in milk
    ketosis        15%   an energy deficit early in lactation: ketone bodies (BHB) in the
                         milk, a high fat-to-protein ratio, weight loss, less feed eaten and
                         less rumination; fat cows (high body condition) are prone to it
    lameness       15%   a painful hoof: long lying times, few steps, slow to the robot,
                         a slight drop in milk and feed
    estrus         15%   in heat (not a disease; the farm wants it found): many more steps
                         than the cow's housing lets her take on a normal day, little lying
                         and ruminating, a small milk dip

Columns (units): breed (text: holstein, jersey, brown_swiss), housing (text: freestall,
tiestall, pasture), parity (lactation number, 1-8), days_in_milk (5-420), ambient_temp_c
(-8 to 34), milk_yield_kg (daily, ~5-48; a Wood lactation curve of breed, parity and
days in milk, less in the heat), milking_interval_h, fat_pct, protein_pct, lactose_pct,
somatic_cells_per_ml (~8e3 to ~7e6), conductivity_ms_cm, quarter_ec_ratio (the highest
quarter's conductivity over the mean), bhb_mmol_l (~0.01 to ~1.1), rumination_min,
steps_per_day (~200 to ~25,000: a tie-stalled cow barely walks, a pastured one walks a
lot), lying_min, body_temp_c, body_weight_kg (~410 to ~870), weight_change_7d_kg,
body_condition (1.75-4.5), dry_matter_intake_kg, and the status. Values span 1e-2 to
7e6 across columns; no value is missing.

What separates the classes: combinations, not one column. "Little milk" is only little
against the lactation curve of that breed, parity and stage, and heat stress lowers milk
and rumination too; "many steps" depends on the housing; ketosis is a disease of the
first two months; fever comes with mastitis but also, mildly, with heat. Mild cases
(severity is drawn per row) look healthy, so the classes overlap. 4% of the labels are
wrong. A logistic regression on the standardised columns reaches about 0.81 test accuracy
in scikit-learn (about 0.90 when it is also given the milk over its lactation curve and
the fever over the heat), trainwell's healthy leaky-ReLU MLP (64, 32) about 0.83; the
majority class alone: 0.39.

plankton32.npz: plankton in dark-field micrographs from an imaging flow cytometer
---------------------------------------------------------------------------------
Arrays `X` (2,400 x 1 x 32 x 32, uint8, channels first: 0 the dark field .. 255 the
brightest tissue) and `y` (int64 class ids 0-5); stored compressed:

    0 copepod        17%   an oval body, a thin tail behind, two long fine antennae swept
                           sideways from the head, a bright eye spot
    1 diatom_chain   17%   three to seven box-shaped cells in a row, bright walls, dim inside
    2 radiolarian    17%   a round lattice shell with a bright rim and a crown of fine spines
    3 arrow_worm     17%   a long, thin, faint body with a wider head and small side fins
    4 medusa         16%   a dome-shaped bell with a bright margin and trailing tentacles
    5 marine_snow    16%   an irregular, fluffy aggregate of detritus, no symmetry

Every image has its organism at a random size, orientation and off-centre position,
an uneven dark background, stray particles and now and then a bubble (a bright ring),
a focus blur of random strength and camera noise. Short diatom chains look like small
copepod bodies, radiolarians with few spines like medusae seen from above, and compact
marine snow like a copepod without antennae. 3% of the labels are wrong. A small
three-block CNN (16, 32, 32 channels, batch norm) reaches about 0.9 test accuracy, a
logistic regression on the pixels about 0.45 (the largest class alone: 0.17).
The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

STATUSES = ["healthy", "mastitis", "ketosis", "lameness", "estrus"]
SHARES = [0.40, 0.15, 0.15, 0.15, 0.15]
BREEDS = {  # peak daily milk (kg, a mature cow), fat %, protein %, body weight (kg)
    "holstein": (44.0, 3.8, 3.2, 680.0),
    "jersey": (29.0, 4.9, 3.8, 450.0),
    "brown_swiss": (38.0, 4.1, 3.5, 640.0),
}
HOUSING = {  # a normal day's steps, lying minutes
    "freestall": (3200.0, 690.0),
    "tiestall": (700.0, 780.0),
    "pasture": (6000.0, 600.0),
}
COLUMNS = [
    "breed",
    "housing",
    "parity",
    "days_in_milk",
    "ambient_temp_c",
    "milk_yield_kg",
    "milking_interval_h",
    "fat_pct",
    "protein_pct",
    "lactose_pct",
    "somatic_cells_per_ml",
    "conductivity_ms_cm",
    "quarter_ec_ratio",
    "bhb_mmol_l",
    "rumination_min",
    "steps_per_day",
    "lying_min",
    "body_temp_c",
    "body_weight_kg",
    "weight_change_7d_kg",
    "body_condition",
    "dry_matter_intake_kg",
    "status",
]


def _lactation(dim: float, peak: float, parity: int) -> float:
    """Wood's curve a t^b e^(-ct), peaking near day 50; first-calf heifers peak lower."""
    b, c = 0.2, 0.004
    top = (b / c) ** b * np.exp(-b)
    scale = peak * (0.78 if parity == 1 else 0.92 if parity == 2 else 1.0)
    return scale * dim**b * np.exp(-c * dim) / top


def _row(rng: np.random.Generator, label: int) -> list[str]:
    breed = ["holstein", "jersey", "brown_swiss"][rng.choice(3, p=[0.6, 0.25, 0.15])]
    housing = ["freestall", "tiestall", "pasture"][rng.choice(3, p=[0.5, 0.2, 0.3])]
    peak, fat0, protein0, weight0 = BREEDS[breed]
    base_steps, base_lying = HOUSING[housing]
    parity = int(min(8, 1 + rng.poisson(1.4)))
    if label == 2:  # ketosis: the first weeks after calving
        dim = float(rng.uniform(5.0, 65.0))
    elif label == 4:  # cycling again only after the voluntary waiting period
        dim = float(rng.uniform(35.0, 300.0))
    else:
        dim = float(rng.uniform(5.0, 420.0))
    severity = rng.uniform(0.05, 1.0)
    early = dim < 50.0
    ambient = float(np.clip(rng.normal(15.0, 10.0), -8.0, 34.0))
    heat_stress = max(0.0, ambient - 20.0) / 14.0  # 0 in the cool, 1 at 34 C
    milk = _lactation(dim, peak, parity) * rng.normal(1.0, 0.05) * (1.0 - 0.3 * heat_stress)
    interval = rng.normal(9.5 if housing != "tiestall" else 12.0, 1.3)
    late = max(0.0, dim - 60.0) / 360.0
    fat = fat0 + 0.6 * late + 0.25 * early + rng.normal(0.0, 0.3)
    protein = protein0 + 0.35 * late - 0.1 * early + rng.normal(0.0, 0.14)
    lactose = rng.normal(4.85 - 0.1 * late, 0.12)
    scc = rng.lognormal(np.log(7e4 * (1.0 + 0.25 * (parity - 1)) * (1.0 + 1.2 * late)), 0.7)
    conductivity = rng.normal(5.1 + (0.35 if breed == "jersey" else 0.0), 0.3)
    ec_ratio = 1.0 + abs(rng.normal(0.0, 0.05))
    bhb = rng.lognormal(np.log(0.05 * (1.9 if early else 1.0) * (1.0 + 0.15 * (parity > 2))), 0.45)
    rumination = rng.normal(500.0, 50.0) * (1.0 - 0.25 * heat_stress)
    steps = base_steps * rng.lognormal(0.0, 0.25)
    lying = base_lying + rng.normal(0.0, 60.0) - 90.0 * heat_stress
    temp = 38.6 + 1.3 * heat_stress**1.5 + rng.normal(0.0, 0.22)
    condition = float(np.clip(rng.normal(3.1 - 0.3 * early, 0.4), 1.75, 4.5))
    weight = weight0 * (1.0 + 0.03 * min(parity, 4)) * (0.8 + 0.07 * condition)
    weight *= rng.normal(1.0, 0.04)
    weight_change = rng.normal(0.0, 5.0) - (9.0 if early else 0.0)
    intake = 0.03 * weight * rng.normal(1.0, 0.08) + 0.08 * milk - 4.0 * heat_stress
    if label == 1:  # mastitis: an infected quarter
        scc *= np.exp(0.2 + 1.6 * severity)
        conductivity += 0.05 + 0.5 * severity
        ec_ratio += 0.08 * severity
        lactose -= 0.03 + 0.2 * severity
        milk *= 1.0 - (0.12 + 0.33 * severity)
        if rng.random() < 0.5:  # an acute, clinical case
            temp += 0.6 + 1.3 * severity
            rumination *= 0.9
            intake *= 0.9
    elif label == 2:  # ketosis
        condition = float(np.clip(condition + rng.uniform(0.0, 0.5), 1.75, 4.75))
        bhb *= np.exp(0.3 + 1.2 * severity)
        fat += 0.1 + 0.5 * severity
        protein -= 0.05 + 0.2 * severity
        weight_change -= 2.0 + 8.0 * severity
        rumination *= 1.0 - (0.03 + 0.15 * severity)
        intake *= 1.0 - (0.05 + 0.18 * severity)
        milk *= 1.0 - (0.1 + 0.3 * severity)
    elif label == 3:  # lameness
        lying += 30.0 + 130.0 * severity
        steps *= 1.0 - (0.1 + 0.35 * severity)
        interval += 0.5 + 2.0 * severity
        milk *= 1.0 - (0.08 + 0.22 * severity)
        intake *= 1.0 - 0.06 * severity
    elif label == 4:  # estrus: restless; in a tie stall she cannot walk far
        steps *= 1.3 + (0.8 if housing == "tiestall" else 1.6) * severity
        lying -= 30.0 + 120.0 * severity
        rumination *= 1.0 - (0.04 + 0.16 * severity)
        milk *= 1.0 - (0.05 + 0.15 * severity)
        temp += 0.3 * severity
    return [
        breed,
        housing,
        str(parity),
        f"{dim:.0f}",
        f"{ambient:.1f}",
        f"{max(milk, 1.0):.1f}",
        f"{max(interval, 5.0):.1f}",
        f"{fat:.2f}",
        f"{protein:.2f}",
        f"{lactose:.2f}",
        f"{scc:.0f}",
        f"{conductivity:.2f}",
        f"{ec_ratio:.3f}",
        f"{bhb:.3f}",
        f"{max(rumination, 60.0):.0f}",
        f"{max(steps, 100.0):.0f}",
        f"{float(np.clip(lying, 200.0, 1150.0)):.0f}",
        f"{temp:.2f}",
        f"{weight:.0f}",
        f"{weight_change:.1f}",
        f"{round(condition * 4) / 4:.2f}",
        f"{max(intake, 6.0):.1f}",
        STATUSES[label],
    ]


def dairy_herd(rows: int = 3000, seed: int = 230_001) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(STATUSES), size=rows, p=SHARES)
    lines = [",".join(COLUMNS)]
    wrong = rng.random(rows) < 0.04
    for label, flip in zip(labels, wrong, strict=True):
        fields = _row(rng, int(label))
        if flip:  # a slip in the herd book
            others = [s for s in STATUSES if s != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 32
UP = 2  # drawn at twice the size, then averaged down (anti-aliasing)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(SIZE * UP) + 0.5) / UP - SIZE / 2
    return np.meshgrid(axis, axis, indexing="xy")


GX, GY = _grid()


def _soft(d: np.ndarray, edge: float) -> np.ndarray:
    """1 where the signed distance `d` is negative, 0 where positive, a sigmoid between."""
    return 1.0 / (1.0 + np.exp(np.clip(d / (edge * 0.35), -30, 30)))


def _ellipse(cx, cy, a, b, angle, edge=0.6) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    u = (GX - cx) * c + (GY - cy) * s
    w = -(GX - cx) * s + (GY - cy) * c
    d = (np.sqrt((u / a) ** 2 + (w / b) ** 2) - 1.0) * min(a, b)
    return _soft(d, edge)


def _segment(x0, y0, x1, y1, width, edge=0.5) -> np.ndarray:
    """A stroke of half-width `width` from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((GX - x0) * dx + (GY - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    d = np.hypot(GX - (x0 + t * dx), GY - (y0 + t * dy)) - width
    return _soft(d, edge)


def _ring(cx, cy, r, width, edge=0.5) -> np.ndarray:
    return _soft(np.abs(np.hypot(GX - cx, GY - cy) - r) - width, edge)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = 3
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(image, radius, mode="edge")
    rows = sum(k[i] * padded[:, i : i + image.shape[1]] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + image.shape[0], :] for i in range(2 * radius + 1))


def _copepod(rng, cx, cy, turn, scale) -> np.ndarray:
    ax, ay = np.cos(turn), np.sin(turn)  # head direction
    a, b = rng.uniform(4.5, 6.5) * scale, rng.uniform(2.2, 3.2) * scale
    out = 0.75 * _ellipse(cx, cy, a, b, turn)
    tail = rng.uniform(3.5, 6.0) * scale
    bx, by = cx - ax * a * 0.9, cy - ay * a * 0.9
    out = np.maximum(out, 0.6 * _segment(bx, by, bx - ax * tail, by - ay * tail, 0.7 * scale))
    hx, hy = cx + ax * a * 0.8, cy + ay * a * 0.8
    length = rng.uniform(7.0, 11.0) * scale
    for side in (-1.0, 1.0):
        sweep = turn + side * rng.uniform(1.3, 2.0)
        ex, ey = hx + np.cos(sweep) * length, hy + np.sin(sweep) * length
        out = np.maximum(out, rng.uniform(0.5, 0.8) * _segment(hx, hy, ex, ey, 0.35))
    out += 0.35 * _ellipse(hx - ax * 1.2, hy - ay * 1.2, 0.9, 0.9, 0.0)  # the eye
    return out


def _diatoms(rng, cx, cy, turn, scale) -> np.ndarray:
    cells = int(rng.integers(3, 8))
    length, width = rng.uniform(2.6, 3.6) * scale, rng.uniform(2.0, 3.0) * scale
    ax, ay = np.cos(turn), np.sin(turn)
    out = np.zeros_like(GX)
    for i in range(cells):
        off = (i - (cells - 1) / 2) * (2 * length + 0.7)
        px, py = cx + ax * off, cy + ay * off
        wall = _ellipse(px, py, length, width, turn, 0.4) ** 0.5
        inside = _ellipse(px, py, length * 0.7, width * 0.65, turn, 0.4)
        out = np.maximum(out, 0.85 * wall - 0.55 * inside)
    return out


def _radiolarian(rng, cx, cy, scale) -> np.ndarray:
    r = rng.uniform(3.8, 6.0) * scale
    out = 0.35 * _ellipse(cx, cy, r, r, 0.0) + 0.55 * _ring(cx, cy, r, 0.5)
    for _ in range(int(rng.integers(5, 10))):  # the lattice's pores
        rho, phi = r * 0.7 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        out -= 0.2 * _ellipse(cx + rho * np.cos(phi), cy + rho * np.sin(phi), 0.7, 0.7, 0.0)
    spines = int(rng.integers(7, 17))
    start = rng.uniform(0, 2 * np.pi)
    for k in range(spines):
        phi = start + 2 * np.pi * k / spines + rng.normal(0.0, 0.12)
        reach = r + rng.uniform(3.0, 7.0) * scale
        x0, y0 = cx + r * np.cos(phi), cy + r * np.sin(phi)
        x1, y1 = cx + reach * np.cos(phi), cy + reach * np.sin(phi)
        out = np.maximum(out, rng.uniform(0.45, 0.75) * _segment(x0, y0, x1, y1, 0.3))
    return out


def _arrow_worm(rng, cx, cy, turn, scale) -> np.ndarray:
    ax, ay = np.cos(turn), np.sin(turn)
    a, b = rng.uniform(10.0, 13.5) * scale, rng.uniform(0.9, 1.4) * scale
    out = rng.uniform(0.35, 0.55) * _ellipse(cx, cy, a, b, turn)
    hx, hy = cx + ax * a * 0.85, cy + ay * a * 0.85
    out = np.maximum(out, 0.7 * _ellipse(hx, hy, 1.7 * scale, 1.6 * scale, turn))
    for at, size in ((-0.55, 2.2), (-0.1, 1.6)):  # the tail fin and the side fins
        fx, fy = cx + ax * a * at, cy + ay * a * at
        for side in (-1.0, 1.0):
            nx, ny = -ay * side, ax * side
            fin = _ellipse(fx + nx * b * 1.4, fy + ny * b * 1.4, size * scale, 0.55, turn)
            out = np.maximum(out, 0.32 * fin)
    return out


def _medusa(rng, cx, cy, turn, scale) -> np.ndarray:
    ax, ay = np.cos(turn), np.sin(turn)  # from the bell's top down to its margin
    a, b = rng.uniform(5.5, 7.5) * scale, rng.uniform(3.5, 5.5) * scale
    nx, ny = -ay, ax  # across the bell
    c, s = np.cos(turn), np.sin(turn)
    u = (GX - cx) * c + (GY - cy) * s  # along the axis: negative is the dome
    dome = _ellipse(cx, cy, b, a, turn) * _soft(u, 0.5)
    out = 0.4 * dome + 0.7 * _segment(cx - nx * a, cy - ny * a, cx + nx * a, cy + ny * a, 0.6)
    for _ in range(int(rng.integers(5, 10))):
        t = rng.uniform(-0.9, 0.9)
        x, y = cx + nx * a * t, cy + ny * a * t
        length, wave = rng.uniform(8.0, 13.0) * scale, rng.uniform(-1.2, 1.2)
        for j in range(3):  # a wavy tentacle in three strokes
            x1 = x + ax * length / 3 + nx * wave * (1 if j % 2 == 0 else -1)
            y1 = y + ay * length / 3 + ny * wave * (1 if j % 2 == 0 else -1)
            out = np.maximum(out, 0.55 * _segment(x, y, x1, y1, 0.35))
            x, y = x1, y1
    return out


def _marine_snow(rng, cx, cy, scale) -> np.ndarray:
    out = np.zeros_like(GX)
    x, y = cx, cy
    for _ in range(int(rng.integers(6, 14))):
        x += rng.normal(0.0, 2.4) * scale
        y += rng.normal(0.0, 2.4) * scale
        a, b = rng.uniform(1.0, 3.5) * scale, rng.uniform(0.8, 2.6) * scale
        out += rng.uniform(0.12, 0.3) * _ellipse(x, y, a, b, rng.uniform(0, np.pi), 1.8)
    return np.minimum(out, 0.6)


def plankton_image(rng: np.random.Generator, kind: int) -> np.ndarray:
    cx, cy = rng.normal(0.0, 2.0, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    scale = rng.uniform(0.8, 1.15)
    if kind == 0:
        body = _copepod(rng, cx, cy, turn, scale)
    elif kind == 1:
        body = _diatoms(rng, cx, cy, turn, scale)
    elif kind == 2:
        body = _radiolarian(rng, cx, cy, scale)
    elif kind == 3:
        body = _arrow_worm(rng, cx, cy, turn, scale)
    elif kind == 4:
        body = _medusa(rng, cx, cy, turn, scale)
    else:
        body = _marine_snow(rng, cx, cy, scale)
    light = np.clip(body, 0.0, None) * rng.uniform(0.65, 1.2)
    for _ in range(int(rng.poisson(3.0))):  # stray particles
        px, py = rng.uniform(-15, 15, size=2)
        light += rng.uniform(0.1, 0.5) * _ellipse(px, py, *rng.uniform(0.4, 1.0, size=2), 0.0)
    if rng.random() < 0.15:  # a bubble
        px, py = rng.uniform(-12, 12, size=2)
        light += 0.45 * _ring(px, py, rng.uniform(1.5, 3.5), 0.35)
    gx, gy = rng.normal(0.0, 0.003, size=2)
    background = rng.uniform(0.04, 0.14) + gx * GX + gy * GY
    image = (background + light).reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    image = _blur(image, rng.uniform(0.4, 1.0))
    image += rng.normal(0.0, rng.uniform(0.015, 0.04), size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def plankton(count: int = 2400, seed: int = 230_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=[0.17, 0.17, 0.17, 0.17, 0.16, 0.16]).astype(np.int64)
    X = np.stack([plankton_image(rng, int(k)) for k in y])[:, None]
    wrong = rng.random(count) < 0.03
    y[wrong] = (y[wrong] + rng.integers(1, 6, size=int(wrong.sum()))) % 6
    return X, y


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed, but with a fixed time stamp in the zip: the same bytes each run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array))
    path.write_bytes(buffer.getvalue())


def main() -> None:
    (HERE / "dairy_herd.csv").write_text("\n".join(dairy_herd()) + "\n")
    X, y = plankton()
    _save_npz(HERE / "plankton32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
