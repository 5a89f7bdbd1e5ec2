"""The user data of fault-benchmark round held-out-19: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only).

water_treatment.csv: hourly sensor snapshots of a drinking-water treatment plant
--------------------------------------------------------------------------------
2,500 rows, 20 columns. Each row is one hour of one treatment train (coagulation,
settling, sand filtration, chlorination, the high-lift pump); the text column `target` is
the process engineer's diagnosis of that hour:

    normal                 40%   the plant running as designed
    filter_breakthrough    15%   an exhausted filter lets particles through before backwash
    coagulant_underdose    15%   too little coagulant for the raw water's turbidity
    chlorine_demand_spike  15%   organic or microbial load eats the chlorine residual
    pump_cavitation        15%   the high-lift pump starves: low suction, vibration

Columns (units): source_water (text: river, reservoir, groundwater, blend), shift (text:
day, evening, night), raw_flow_m3h (~250 to ~2e4), raw_turbidity_ntu (0.3 to ~250),
settled_turbidity_ntu, filtered_turbidity_ntu (0.01 to ~2), filter_headloss_kpa,
hours_since_backwash (0 to ~120), coagulant_dose_mgl, ph (6-9), chlorine_dose_mgl,
free_chlorine_mgl (0-4), orp_mv (~450-800), toc_mgl, conductivity_uscm (~100 to ~1.2e3),
water_temp_c, suction_pressure_kpa (gauge: below 0 under vacuum), pump_vibration_mms,
pump_current_a, hpc_cfu_ml (heterotrophic plate count, 0 to ~1.5e3), and the target.
Values run from 1e-3 to 2e4 across columns; no value is missing.

What separates the classes: ratios and combinations, not one column: the settled turbidity
against the raw turbidity and the coagulant dose against it (underdose), the filtered
turbidity together with the head loss and the hours since the last backwash
(breakthrough), the free chlorine against the chlorine dose together with ORP, TOC and the
plate count (demand spike), the suction pressure against the flow together with vibration
and a noisy pump current (cavitation). Turbid river water raises every turbidity without
any fault, a long filter run is common in normal hours, and the fault signatures are weak
in a good share of the faulty hours, so the classes overlap. 4% of the labels are wrong
(mistaken diagnoses). A logistic regression on the standardised columns reaches about
0.83 test accuracy in scikit-learn, trainwell's healthy ReLU MLP (128, 64) 0.77-0.78 (its
split; the heavy-tailed columns are left as they are); the majority class alone: 0.40.

galaxy_cutouts32.npz: colour cutouts of galaxies from a wide-field sky survey
----------------------------------------------------------------------------
Arrays `X` (2,400 x 3 x 32 x 32, uint8, channels first: the survey's i, r and g bands as
red, green and blue, 0 dark sky .. 255 bright) and `y` (int64 class ids 0-5); stored
compressed:

    0 elliptical     17%   a smooth, centrally concentrated, reddish ellipse
    1 spiral         17%   a bulge and a disk with two or three winding, bluer arms
    2 barred_spiral  16%   a spiral whose arms start at the ends of a straight bar
    3 edge_on_disk   17%   a thin disk seen from the side, often split by a dark dust lane
    4 irregular      16%   clumpy, lopsided blue star-forming knots without a centre
    5 merger         17%   two nuclei close together with curved tidal tails

Every cutout has a random position angle, size, inclination, off-centre position, sky
level and gradient, seeing blur, photon noise and up to three foreground stars. Colours
vary from galaxy to galaxy and overlap between classes; faint or inclined spirals show
weak arms, weak bars resemble plain spirals, inclined disks resemble edge-on ones and
mergers with faint tails resemble irregulars. 3% of the labels are wrong. A small
three-block CNN (24, 48, 64 channels, batch norm) reaches about 0.80-0.81 test accuracy,
an MLP on the flattened pixels 0.66-0.69 (the largest class alone: 0.18). The class names
are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

PLANT_CLASSES = [
    "normal",
    "filter_breakthrough",
    "coagulant_underdose",
    "chlorine_demand_spike",
    "pump_cavitation",
]
PLANT_SHARES = [0.40, 0.15, 0.15, 0.15, 0.15]
SOURCES = ["river", "reservoir", "groundwater", "blend"]
SOURCE_P = np.array(
    [
        [0.35, 0.35, 0.15, 0.15],  # normal
        [0.40, 0.30, 0.10, 0.20],  # filter breakthrough
        [0.60, 0.20, 0.05, 0.15],  # coagulant underdose: turbid river water
        [0.40, 0.35, 0.10, 0.15],  # chlorine demand spike
        [0.35, 0.35, 0.15, 0.15],  # pump cavitation
    ]
)
SHIFTS = ["day", "evening", "night"]
SHIFT_P = np.array(
    [
        [0.40, 0.30, 0.30],
        [0.30, 0.30, 0.40],
        [0.30, 0.30, 0.40],
        [0.40, 0.35, 0.25],
        [0.45, 0.35, 0.20],
    ]
)
# raw turbidity (NTU) by source water: the median of a log-normal law
SOURCE_TURBIDITY = np.array([12.0, 3.0, 0.6, 6.0])


def water_treatment(rows: int = 2500, seed: int = 190_001) -> list[str]:
    """The CSV's lines, header first."""
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(PLANT_CLASSES), size=rows, p=PLANT_SHARES)
    n = rows

    def per_class(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[y]

    source = np.array([rng.choice(len(SOURCES), p=SOURCE_P[k]) for k in y])
    shift = np.array([rng.choice(len(SHIFTS), p=SHIFT_P[k]) for k in y])
    # how clearly this hour shows its fault: weak in a good share of faulty hours
    strength = np.where(y == 0, 0.0, rng.beta(2.0, 1.6, size=n))

    flow = np.exp(rng.normal(np.log(1800), 0.55, size=n))
    raw_turb = np.exp(rng.normal(np.log(SOURCE_TURBIDITY[source]), 0.8))
    raw_turb *= 1 + 2.0 * strength * (y == 2)  # underdose hours: often a turbidity event
    raw_turb = np.clip(raw_turb, 0.3, 400)
    # the operator doses for the turbidity; an underdose falls short of it
    dose_ratio = np.exp(rng.normal(0, 0.25, size=n)) * (1 - 0.65 * strength * (y == 2))
    coag = np.clip(4.0 + 6.0 * np.sqrt(raw_turb) * dose_ratio, 1.0, None)
    removal = np.clip(0.04 / dose_ratio**2 * np.exp(rng.normal(0, 0.35, size=n)), 0.005, 0.9)
    settled = raw_turb * removal
    hours = rng.gamma(per_class([2.2, 4.5, 2.2, 2.2, 2.2]), per_class([14, 17, 14, 14, 14]))
    hours = np.clip(hours, 0, 120)
    headloss = 15 + 0.9 * hours * np.exp(rng.normal(0, 0.3, size=n)) + 2.0 * settled
    headloss *= 1 + 0.6 * strength * (y == 1)
    passing = 0.02 + 0.01 * settled + 0.0004 * hours
    passing *= np.exp(rng.normal(0, 0.35, size=n)) * (1 + 12.0 * strength * (y == 1))
    filtered = np.clip(passing, 0.01, 5.0)
    ph = rng.normal(7.3, 0.25, size=n) - 0.04 * (coag - 10) / 5 + 0.3 * strength * (y == 2)
    ph = np.clip(ph, 6.0, 9.0)
    toc = np.exp(rng.normal(np.log(2.5), 0.4, size=n)) * (1 + 2.2 * strength * (y == 3))
    temp = np.clip(rng.normal(14, 5, size=n) + 2.0 * (y == 3), 1.0, 30.0)
    cl_dose = np.clip(rng.normal(2.2, 0.4, size=n) + 0.15 * toc, 0.5, None)
    demand = (0.25 * toc + 0.02 * temp) * np.exp(rng.normal(0, 0.25, size=n))
    demand += 1.6 * strength * (y == 3)
    free_cl = np.clip(cl_dose - demand, 0.0, 4.0)
    orp = np.clip(560 + 110 * np.log1p(free_cl) + rng.normal(0, 35, size=n), 200, 850)
    hpc = np.exp(rng.normal(np.log(20), 1.0, size=n) + 2.2 * strength * (y == 3) - 0.6 * free_cl)
    hpc = np.clip(hpc, 0, 1e4)
    conductivity = np.exp(rng.normal(np.log(300), 0.2, size=n))
    conductivity *= np.array([1.0, 0.9, 2.4, 1.5])[source]
    # the pump: suction falls with the flow, and far more when it starves
    suction = 180 - 0.012 * flow + rng.normal(0, 12, size=n) - 85 * strength * (y == 4)
    vibration = np.exp(rng.normal(np.log(2.2), 0.3, size=n) + 1.1 * strength * (y == 4))
    vibration *= 1 + 0.0001 * flow
    current = 40 + 0.025 * flow + rng.normal(0, 4, size=n) * (1 + 3.0 * strength * (y == 4))

    label = y.copy()
    flip = rng.random(n) < 0.04
    label[flip] = (y[flip] + rng.integers(1, len(PLANT_CLASSES), size=flip.sum())) % 5

    header = (
        "source_water,shift,raw_flow_m3h,raw_turbidity_ntu,settled_turbidity_ntu,"
        "filtered_turbidity_ntu,filter_headloss_kpa,hours_since_backwash,coagulant_dose_mgl,"
        "ph,chlorine_dose_mgl,free_chlorine_mgl,orp_mv,toc_mgl,conductivity_uscm,"
        "water_temp_c,suction_pressure_kpa,pump_vibration_mms,pump_current_a,hpc_cfu_ml,target"
    )
    lines = [header]
    for i in range(n):
        lines.append(
            f"{SOURCES[source[i]]},{SHIFTS[shift[i]]},{flow[i]:.0f},{raw_turb[i]:.2f},"
            f"{settled[i]:.3f},{filtered[i]:.3f},{headloss[i]:.1f},{hours[i]:.1f},"
            f"{coag[i]:.2f},{ph[i]:.2f},{cl_dose[i]:.2f},{free_cl[i]:.2f},{orp[i]:.0f},"
            f"{toc[i]:.2f},{conductivity[i]:.0f},{temp[i]:.1f},{suction[i]:.1f},"
            f"{vibration[i]:.2f},{current[i]:.1f},{hpc[i]:.0f},{PLANT_CLASSES[label[i]]}"
        )
    return lines


# ----------------------------------------------------------------------------- the images

GALAXY_CLASSES = [
    "elliptical",
    "spiral",
    "barred_spiral",
    "edge_on_disk",
    "irregular",
    "merger",
]
GALAXY_SHARES = [0.17, 0.17, 0.16, 0.17, 0.16, 0.17]
SIDE = 32
YY, XX = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
RED = np.array([1.0, 0.75, 0.5])  # an old stellar population: bright in i, faint in g
BLUE = np.array([0.65, 0.8, 1.0])  # young stars: bright in g


def _frame(cx: float, cy: float, angle: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along (u) and across (v) a galaxy's major axis, the minor one stretched
    by 1/q (axis ratio q: 1 round, small: seen edge-on)."""
    u = (XX - cx) * np.cos(angle) + (YY - cy) * np.sin(angle)
    v = -(XX - cx) * np.sin(angle) + (YY - cy) * np.cos(angle)
    return u, v / q


def _sersic(u: np.ndarray, v: np.ndarray, radius: float, index: float) -> np.ndarray:
    r = np.hypot(u, v) / radius
    return np.exp(-2.0 * index * (r ** (1 / index) - 1) / 1.5)


def _colour(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    return np.clip(base + rng.normal(0, 0.12, size=3), 0.3, 1.2)


def _paint(image: np.ndarray, light: np.ndarray, colour: np.ndarray) -> None:
    image += colour[:, None, None] * light[None]


def _arms(u, v, radius, arms, pitch, phase, start):
    """Logarithmic spiral arms, 0..1: m arms winding from radius `start` outwards."""
    r = np.hypot(u, v) + 1e-6
    theta = np.arctan2(v, u)
    wave = np.cos(arms * (theta - np.log(r / radius) / np.tan(pitch)) + phase)
    envelope = np.exp(-r / radius) * (1 / (1 + np.exp(-(r - start) / 0.8)))
    return np.clip(wave, 0, None) ** 2 * envelope


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    f = np.fft.fftfreq(SIDE)
    radius2 = f[:, None] ** 2 + f[None, :] ** 2
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * radius2)
    return np.real(np.fft.ifft2(np.fft.fft2(image, axes=(-2, -1)) * kernel, axes=(-2, -1)))


def _disk_galaxy(rng, image, cx, cy, size, angle, q, bar: bool) -> None:
    u, v = _frame(cx, cy, angle, q)
    red, blue = _colour(rng, RED), _colour(rng, BLUE)
    _paint(image, 0.6 * _sersic(u, v, size * 0.22, 2.5), red)  # the bulge
    scale = size * 0.45
    _paint(image, 0.25 * np.exp(-np.hypot(u, v) / scale), (red + blue) / 2)  # the disk
    start = size * rng.uniform(0.15, 0.3)
    if bar:
        length = size * rng.uniform(0.35, 0.6)
        bar_angle = rng.uniform(0, np.pi)
        bu = u * np.cos(bar_angle) + v * np.sin(bar_angle)
        bv = -u * np.sin(bar_angle) + v * np.cos(bar_angle)
        strength = rng.uniform(0.25, 0.6)
        bar_light = np.exp(-((bu / length) ** 4) - (bv / (size * 0.08 + 0.6)) ** 2)
        _paint(image, strength * bar_light, red)
        start = length
        phase = -2 * bar_angle
    else:
        phase = rng.uniform(0, 2 * np.pi)
    arms = 2 if bar or rng.random() < 0.6 else 3
    pitch = rng.uniform(0.25, 0.5)
    _paint(image, rng.uniform(0.35, 0.9) * _arms(u, v, scale, arms, pitch, phase, start), blue)


def _knots(rng, image, cx, cy, spread, count, brightness) -> None:
    blue = _colour(rng, BLUE)
    for _ in range(count):
        kx, ky = cx + rng.normal(0, spread), cy + rng.normal(0, spread)
        width = rng.uniform(0.8, 2.2)
        light = np.exp(-((XX - kx) ** 2 + (YY - ky) ** 2) / (2 * width**2))
        _paint(image, brightness * rng.uniform(0.3, 1.0) * light, blue)


def galaxy_frame(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 3x32x32 colour cutout, values in [0, 1]."""
    cx, cy = SIDE / 2 + rng.normal(0, 1.5, size=2)
    angle = rng.uniform(0, np.pi)
    size = rng.uniform(7, 13)  # the galaxy's visible radius in pixels
    image = np.zeros((3, SIDE, SIDE))
    if label == 0:  # elliptical: a smooth de Vaucouleurs-like profile
        u, v = _frame(cx, cy, angle, rng.uniform(0.45, 1.0))
        _paint(image, 0.9 * _sersic(u, v, size * 0.3, 4.0), _colour(rng, RED))
    elif label in (1, 2):  # spirals, seen at up to ~65 degrees
        _disk_galaxy(rng, image, cx, cy, size, angle, rng.uniform(0.4, 1.0), bar=label == 2)
    elif label == 3:  # edge-on disk: thin, with a dark dust lane along the major axis
        q = rng.uniform(0.12, 0.3)
        u, v = _frame(cx, cy, angle, q)
        disk = np.exp(-np.abs(u) / (size * 0.35) - np.abs(v) / (size * 0.35))
        bulge = _sersic(u, v * q / rng.uniform(0.4, 0.7), size * 0.18, 2.0)
        light = 0.8 * disk + 0.4 * bulge
        lane = 1 - rng.uniform(0.0, 0.7) * np.exp(-((v * q / 0.8) ** 2))
        _paint(image, light * lane, _colour(rng, (RED + BLUE) / 2))
    elif label == 4:  # irregular: lopsided clumps of young stars, a faint diffuse body
        ox, oy = rng.normal(0, 2.0, size=2)
        u, v = _frame(cx + ox, cy + oy, angle, rng.uniform(0.4, 1.0))
        _paint(image, 0.25 * np.exp(-np.hypot(u, v) / (size * 0.35)), _colour(rng, BLUE))
        _knots(rng, image, cx, cy, size * 0.35, int(rng.integers(3, 8)), 0.8)
    else:  # merger: two nuclei and curved tidal tails
        separation = size * rng.uniform(0.3, 0.7)
        offset = separation * np.array([np.cos(angle), np.sin(angle)])
        for sign in (-1, 1):
            px, py = cx + sign * offset[0] / 2, cy + sign * offset[1] / 2
            u, v = _frame(px, py, rng.uniform(0, np.pi), rng.uniform(0.5, 1.0))
            nucleus = rng.uniform(0.5, 0.9) * _sersic(u, v, size * 0.18, 2.5)
            _paint(image, nucleus, _colour(rng, RED))
            # a tail: an arc leaving the nucleus, curving away from the other one
            bend = rng.uniform(0.6, 1.4) * sign
            t = np.linspace(0, 1, 24)
            length = size * rng.uniform(0.7, 1.3)
            direction = angle + (0 if sign > 0 else np.pi) + bend * t
            ax = px + np.cumsum(np.cos(direction)) * length / 24
            ay = py + np.cumsum(np.sin(direction)) * length / 24
            tail = np.zeros((SIDE, SIDE))
            for k in range(len(t)):
                d2 = (XX - ax[k]) ** 2 + (YY - ay[k]) ** 2
                tail = np.maximum(tail, (1 - 0.7 * t[k]) * np.exp(-d2 / 2.0))
            _paint(image, rng.uniform(0.15, 0.45) * tail, _colour(rng, BLUE))

    image *= rng.uniform(0.5, 1.1)  # the galaxy's apparent brightness
    # the survey: foreground stars, seeing, sky level and gradient, photon noise
    for _ in range(rng.integers(0, 4)):
        sx, sy = rng.uniform(0, SIDE, size=2)
        star = np.exp(-((XX - sx) ** 2 + (YY - sy) ** 2) / 0.8)
        _paint(image, rng.uniform(0.2, 0.9) * star, _colour(rng, np.array([0.9, 0.9, 0.85])))
    image = _blur(image, rng.uniform(0.5, 1.3))
    sky = rng.uniform(0.03, 0.1) + rng.uniform(-0.04, 0.04) * (XX - SIDE / 2) / SIDE
    image = image + sky[None]
    image += rng.normal(0, 1, size=image.shape) * np.sqrt(0.0006 + 0.004 * np.clip(image, 0, None))
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def galaxy_cutouts(count: int = 2400, seed: int = 190_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(GALAXY_CLASSES), size=count, p=GALAXY_SHARES)
    X = np.stack([galaxy_frame(rng, int(k)) for k in y])
    flip = rng.random(count) < 0.03
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, len(GALAXY_CLASSES), size=flip.sum())) % len(
        GALAXY_CLASSES
    )
    return X, y.astype(np.int64)


def main() -> None:
    (HERE / "water_treatment.csv").write_text("\n".join(water_treatment()) + "\n")
    X, y = galaxy_cutouts()
    np.savez_compressed(HERE / "galaxy_cutouts32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
