"""The user data of fault-benchmark round held-out-28: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

avalanche_obs.csv: an avalanche warning service's field observations, one row per site visit
---------------------------------------------------------------------------
3,000 rows, 19 columns. Each row is one observer's visit to a slope in the mountains: the
weather station's record of the last days (temperature, hours above freezing, new snow,
rain, wind speed and direction, sunshine), the slope's elevation, steepness and aspect,
and a snow pit dug there (snow depth, the depth and grain size of the weakest layer found,
an extended column test: the taps to a fracture and how far it ran across the column). The
text column `problem` holds the avalanche problem the forecasters recorded for that slope
that day:

    none              30%   no significant problem: a settled, bonded snowpack (windy or
                            warm days without snow to move or melt are common here)
    wind_slab         16%   wind-drifted snow on a lee slope: a strong wind blowing over
                            the ridge onto the slope's aspect, with new snow (or old snow
                            to move), a shallow slab that breaks in the test
    storm_slab        13%   a thick layer of recent storm snow, little wind: lots of new
                            snow in 72 hours, the weak layer at the storm snow's base
    persistent_slab   15%   a buried layer of surface hoar or facets (large grains) 40-130
                            cm down, breaking in few taps and running across the column;
                            most often in the continental range's thin, cold snowpack
    wet_loose         16%   the surface melting: a warm, sunny afternoon on slopes facing
                            the sun, hours above freezing, no propagation in the test
    wet_slab           9%   water reaching a buried layer: rain on snow or many hours
                            above freezing, warmest and wettest in the coastal range

Columns (units): range (text: coastal, intermountain, continental), aspect (text: N, NE,
E, SE, S, SW, W, NW), elevation_m (1,100-3,500), slope_deg (25-50), air_temp_c (-30 to
14), hours_above_0c_48h (0-48), new_snow_24h_cm (0-~80), new_snow_72h_cm (0-~130),
rain_24h_mm (0-~40), wind_speed_kmh (0-~95), wind_dir_deg (0-359, where the wind blows
from), solar_wm2 (0-~950), days_since_storm (0-30), snow_depth_cm (~30-450),
weak_layer_depth_cm (~5-280), weak_layer_grain_mm (~0.3-6), ect_taps (1-31; 31: no
fracture), ect_propagation_pct (0-100, of the column's width), and the problem. Values
span 1e-1 to 3.5e3 across columns; no value is missing.

What separates the problems: combinations, not one column. A wind slab needs the wind to
blow from the side opposite the slope's aspect (its direction against the aspect, an angle
that wraps at 360) and snow to move; a storm slab the new snow against its wind; a
persistent slab a large-grained layer at depth that still propagates; wet problems the
warmth, the sun against the aspect, and the rain. Mild cases (a severity is drawn per row)
look like `none`, windy dry days and warm north slopes look like problems, so the classes
overlap; 4% of the labels are wrong. In scikit-learn, on the standardised columns (text
one-hot), a logistic regression reaches about 0.77 test accuracy, gradient boosting about
0.86; the majority class alone: 0.30.

fingerprints28.npz: live-scan fingerprint images, sorted by Henry pattern class
---------------------------------------------------------------------------
Arrays `X` (3,000 x 1 x 28 x 28, uint8 grey, channels first: the centre of a fingertip on
a low-resolution optical sensor, ridges dark on a light platen) and `y` (int64 class ids
0-5), stored compressed. An examiner labelled the pattern of the ridges:

    0 arch            15%   ridges enter on one side and leave on the other, bowed up
                            over the centre: no core, no delta
    1 tented_arch     12%   an arch whose middle ridges rise to a point: a core right above
                            a delta, close together
    2 left_loop       22%   ridges enter, curve round a core and leave on the same side: a
                            loop with its delta to one side
    3 right_loop      20%   the mirror image: the delta on the other side
    4 whorl           19%   ridges circle round a centre (two cores close together), with a
                            delta on each side
    5 double_loop     12%   two loops side by side, curling opposite ways (an S-shaped
                            centre), with two deltas

Ridges are grown from noise by repeated Gabor filtering along an orientation field drawn
from the cores and deltas (Sherlock and Monro's zero-pole model), as synthetic-fingerprint
generators do. Every print has its own position, rotation (up to 20 degrees), ridge
spacing (2.8-3.8 px), finger contact (an ellipse that may cut the pattern off at an edge),
pressure (dry prints break into dots, wet ones blur and run together), skin creases, a
scar now and then, a light gradient and sensor noise. Tented arches with a low core look
like loops, loops with a far delta like arches, small whorls like double loops. 3% of the
labels are wrong. A logistic regression on the pixels is no better than the largest class
alone (about 0.2 test accuracy), an MLP on the pixels reaches about 0.43, a small CNN
about 0.85. The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

PROBLEMS = ["none", "wind_slab", "storm_slab", "persistent_slab", "wet_loose", "wet_slab"]
SHARES = [0.33, 0.16, 0.13, 0.15, 0.14, 0.09]
RANGES = ["coastal", "intermountain", "continental"]
# each range's share of the visits for each problem (its climate), and its base elevation
RANGE_SHARES = {
    0: (0.35, 0.35, 0.30),
    1: (0.35, 0.35, 0.30),
    2: (0.50, 0.32, 0.18),
    3: (0.12, 0.33, 0.55),
    4: (0.35, 0.35, 0.30),
    5: (0.60, 0.28, 0.12),
}
RANGE_BASE = {"coastal": 1100.0, "intermountain": 1500.0, "continental": 2000.0}
ASPECTS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
COLUMNS = [
    "range",
    "aspect",
    "elevation_m",
    "slope_deg",
    "air_temp_c",
    "hours_above_0c_48h",
    "new_snow_24h_cm",
    "new_snow_72h_cm",
    "rain_24h_mm",
    "wind_speed_kmh",
    "wind_dir_deg",
    "solar_wm2",
    "days_since_storm",
    "snow_depth_cm",
    "weak_layer_depth_cm",
    "weak_layer_grain_mm",
    "ect_taps",
    "ect_propagation_pct",
    "problem",
]


def _visit(rng: np.random.Generator, label: int) -> list[str]:
    severity = rng.uniform(0.0, 1.0) ** 1.3
    range_name = RANGES[rng.choice(3, p=RANGE_SHARES[label])]
    continental = range_name == "continental"
    elevation = RANGE_BASE[range_name] + rng.uniform(0.0, 1500.0)
    slope = rng.uniform(25.0, 50.0)
    aspect_i = int(rng.integers(8))
    aspect_deg = 45.0 * aspect_i

    # the weather of the last days: a cold, dry, calm baseline with its own spread
    temp = rng.normal(-7.0 if continental else -4.0, 5.0) - (elevation - 2000.0) / 200.0
    if temp < -2.0:
        hours_warm = float(np.clip(rng.normal(2.0, 4.0), 0.0, 48.0))
    else:
        hours_warm = rng.uniform(0.0, 14.0)
    snow72 = float(rng.exponential(8.0))
    snow24 = snow72 * rng.uniform(0.0, 0.6)
    rain = 0.0
    wind = float(rng.gamma(2.0, 8.0))
    wind_dir = float(rng.normal(250.0, 60.0)) % 360.0  # mostly from the west
    solar = rng.uniform(0.0, 700.0) * (0.5 + 0.5 * np.cos(np.deg2rad(aspect_deg - 180.0)))
    days_storm = float(rng.integers(2, 31))
    depth = rng.normal(120.0 if continental else 220.0, 50.0) + (elevation - 2000.0) / 15.0
    # the pit: a weakest layer found somewhere, usually small rounded grains, well bonded
    wl_depth = rng.uniform(0.15, 0.9) * depth if rng.random() < 0.5 else rng.uniform(10.0, 70.0)
    grain = rng.lognormal(np.log(0.8), 0.35)
    taps = float(rng.integers(18, 32))
    prop = float(np.clip(rng.normal(5.0, 10.0), 0.0, 100.0))

    if label == 0:  # settled days that look like problems to one column or another
        kind = rng.random()
        if kind < 0.22:  # wind and snow, but blowing onto the slope: scoured, not loaded
            wind = rng.uniform(25.0, 80.0)
            wind_dir = (aspect_deg + rng.normal(0.0, 45.0)) % 360.0
            snow72 = rng.uniform(0.0, 35.0)
            snow24 = snow72 * rng.uniform(0.1, 0.8)
            days_storm = float(rng.integers(0, 6))
        elif kind < 0.40:  # a warm spell on a shady slope
            temp = rng.uniform(0.0, 8.0)
            hours_warm = rng.uniform(6.0, 30.0)
            aspect_i = int(rng.choice([7, 0, 1]))
            aspect_deg = 45.0 * aspect_i
            solar = rng.uniform(0.0, 250.0)
        elif kind < 0.55:  # a storm some days ago: deep new snow, bonded since
            snow72 = rng.uniform(15.0, 60.0)
            snow24 = snow72 * rng.uniform(0.0, 0.3)
            days_storm = float(rng.integers(2, 5))
        elif kind < 0.70:  # an old faceted layer, deep and dormant
            grain = rng.uniform(1.5, 4.0)
            wl_depth = rng.uniform(60.0, 160.0)
        if rng.random() < 0.3:  # a test that fractures, and now and then runs
            taps = float(rng.integers(6, 24))
            prop = float(np.clip(rng.normal(20.0, 25.0), 0.0, 100.0))

    if label == 1:  # wind slab: a strong wind over the ridge onto the slope, snow to move
        wind = 20.0 + 55.0 * severity + rng.normal(0.0, 10.0)
        lee = aspect_deg + 180.0  # the wind blows from the other side of the ridge
        wind_dir = (lee + rng.normal(0.0, 40.0)) % 360.0
        if rng.random() < 0.7:
            snow72 = rng.uniform(5.0, 40.0)
            snow24 = snow72 * rng.uniform(0.2, 0.8)
        days_storm = float(rng.integers(0, 6))
        wl_depth = rng.uniform(15.0, 30.0 + 40.0 * severity)
        taps = float(np.clip(rng.normal(24.0 - 12.0 * severity, 4.0), 1, 31))
        prop = float(np.clip(rng.normal(15.0 + 50.0 * severity, 25.0), 0.0, 100.0))
    elif label == 2:  # storm slab: lots of new snow, little wind
        snow72 = 20.0 + 100.0 * severity * rng.uniform(0.6, 1.0) + rng.normal(0.0, 8.0)
        snow24 = snow72 * rng.uniform(0.35, 0.8)
        wind = float(rng.gamma(2.0, 7.0))
        days_storm = float(rng.integers(0, 3))
        temp = min(temp, rng.uniform(-6.0, 0.0))
        wl_depth = snow72 * rng.uniform(0.8, 1.05)
        grain = rng.lognormal(np.log(0.6), 0.3)
        taps = float(np.clip(rng.normal(20.0 - 10.0 * severity, 4.0), 1, 31))
        prop = float(np.clip(rng.normal(15.0 + 45.0 * severity, 25.0), 0.0, 100.0))
    elif label == 3:  # persistent slab: a buried layer of large grains that still propagates
        grain = 1.1 + 4.5 * severity * rng.uniform(0.4, 1.0) + rng.normal(0.0, 0.4)
        wl_depth = rng.uniform(40.0, 130.0)
        days_storm = float(rng.integers(3, 31))
        temp -= rng.uniform(0.0, 5.0)
        taps = float(np.clip(rng.normal(22.0 - 10.0 * severity, 4.0), 1, 31))
        prop = float(np.clip(rng.normal(20.0 + 55.0 * severity, 25.0), 0.0, 100.0))
    elif label == 4:  # wet loose: the surface melting on a sunny slope
        sunny = int(rng.choice([3, 4, 5, 2, 6], p=[0.25, 0.35, 0.25, 0.075, 0.075]))
        aspect_i, aspect_deg = sunny, 45.0 * sunny
        temp = rng.uniform(-3.0, 3.0 + 9.0 * severity)
        hours_warm = rng.uniform(1.0, 8.0 + 16.0 * severity)
        solar = rng.uniform(350.0, 950.0)
        if rng.random() < 0.5:
            snow72 = rng.uniform(3.0, 25.0)  # moist new snow sliding off
            snow24 = snow72 * rng.uniform(0.0, 0.5)
        prop = float(np.clip(rng.normal(3.0, 6.0), 0.0, 100.0))
    elif label == 5:  # wet slab: water reaching a buried layer
        temp = rng.uniform(0.5, 6.0 + 8.0 * severity)
        hours_warm = rng.uniform(16.0 + 10.0 * severity, 48.0)
        if rng.random() < 0.6:  # rain on snow
            rain = 3.0 + 40.0 * severity * rng.uniform(0.4, 1.0)
        wl_depth = rng.uniform(30.0, 120.0)
        grain = rng.lognormal(np.log(1.4), 0.4)
        taps = float(np.clip(rng.normal(20.0 - 8.0 * severity, 5.0), 1, 31))
        prop = float(np.clip(rng.normal(10.0 + 40.0 * severity, 25.0), 0.0, 100.0))

    if rng.random() < 0.3:  # the pit dug where the slope is not like the rest of it
        taps = float(rng.integers(5, 32))
        prop = float(rng.choice([0.0, rng.uniform(0.0, 100.0)]))
    if rain == 0.0 and temp > 1.0 and rng.random() < 0.08:  # drizzle on a mild day
        rain = rng.uniform(0.2, 4.0)
    snow24 = min(snow24, snow72)
    depth = max(depth, snow72 + 20.0, wl_depth + rng.uniform(10.0, 60.0))
    if temp > 0:
        hours_warm = max(hours_warm, rng.uniform(1.0, 8.0))
    return [
        range_name,
        ASPECTS[aspect_i],
        f"{elevation:.0f}",
        f"{slope:.0f}",
        f"{temp:.1f}",
        f"{np.clip(hours_warm, 0.0, 48.0):.0f}",
        f"{max(snow24, 0.0):.0f}",
        f"{max(snow72, 0.0):.0f}",
        f"{rain:.1f}",
        f"{max(wind, 0.0):.0f}",
        f"{round(wind_dir) % 360}",
        f"{solar:.0f}",
        f"{days_storm:g}",
        f"{depth:.0f}",
        f"{max(wl_depth, 5.0):.0f}",
        f"{max(grain, 0.3):.1f}",
        f"{taps:.0f}",
        f"{prop:.0f}",
        PROBLEMS[label],
    ]


def avalanche_obs(rows: int = 3000, seed: int = 29_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(PROBLEMS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _visit(rng, int(label))
        if flip:  # a problem entered against the wrong slope
            others = [p for p in PROBLEMS if p != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 28
UP = 2  # grown at twice the size, then averaged down (the sensor's pixels)
BIG = SIZE * UP
PAD = 64  # the FFT's frame: the pattern wraps round outside the print, which is masked
NBINS = 16  # orientations of the Gabor filters
SHARES_IMG = [0.15, 0.12, 0.21, 0.21, 0.19, 0.12]


def _singular_points(kind: int, rng: np.random.Generator, s: float):
    """Cores and deltas (complex positions about the pattern's centre, y downwards)."""
    if kind == 1:  # tented arch: a core right above a delta
        d = rng.uniform(4.0, 9.0) * s
        return [-d / 2 * 1j], [rng.uniform(-1.5, 1.5) * s + d / 2 * 1j]
    if kind in (2, 3):  # loops: the delta below the core, to one side
        side = 1.0 if kind == 2 else -1.0
        core = rng.uniform(-2.0, 2.0) * s - rng.uniform(3.0, 8.0) * s * 1j
        return [core], [side * rng.uniform(8.0, 17.0) * s + rng.uniform(6.0, 14.0) * s * 1j]
    if kind == 4:  # whorl: two cores close together, a delta on each side
        h = rng.uniform(0.8, 3.0) * s
        tilt = rng.uniform(-1.0, 1.0) * s
        cores = [-h - (3.0 + tilt) * s * 1j, h - (3.0 - tilt) * s * 1j]
        deltas = [
            -rng.uniform(10.0, 16.0) * s + rng.uniform(8.0, 14.0) * s * 1j,
            rng.uniform(10.0, 16.0) * s + rng.uniform(8.0, 14.0) * s * 1j,
        ]
        return cores, deltas
    # double loop: two cores further apart, one above the other's side (an S-shaped centre)
    h = rng.uniform(3.0, 6.0) * s
    v = rng.uniform(2.5, 6.0) * s * (1.0 if rng.random() < 0.5 else -1.0)
    cores = [-h - (3.0 * s + v / 2) * 1j, h - (3.0 * s - v / 2) * 1j]
    deltas = [
        -rng.uniform(11.0, 17.0) * s + rng.uniform(8.0, 14.0) * s * 1j,
        rng.uniform(11.0, 17.0) * s + rng.uniform(8.0, 14.0) * s * 1j,
    ]
    return cores, deltas


def _orientation(kind: int, rng: np.random.Generator, u: np.ndarray, v: np.ndarray, s: float):
    """The ridges' direction (radians, modulo pi) at (u, v), in the pattern's own frame."""
    if kind == 0:  # plain arch: ridges bowed up over the centre, flat far away
        bow = rng.uniform(0.4, 1.1)
        w = rng.uniform(9.0, 18.0) * s
        fade = np.exp(-np.clip(v, 0.0, None) / (rng.uniform(12.0, 25.0) * s))
        return np.arctan(-bow * u / w * np.exp(-(u**2) / (2 * w**2)) * fade)
    cores, deltas = _singular_points(kind, rng, s)
    z = u + 1j * v
    theta = np.zeros_like(u)
    for c in cores:
        theta += 0.5 * np.angle(z - c)
    for d in deltas:
        theta -= 0.5 * np.angle(z - d)
    return theta


def _gabor_bank(period: float, sigma: float) -> np.ndarray:
    r = np.arange(PAD) - PAD // 2
    yy, xx = np.meshgrid(r, r, indexing="ij")
    envelope = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    bank = []
    for b in range(NBINS):
        t = np.pi * b / NBINS
        g = envelope * np.cos(2 * np.pi * (-xx * np.sin(t) + yy * np.cos(t)) / period)
        bank.append(np.fft.ifftshift(g - g.mean()))
    return np.fft.rfft2(np.stack(bank))


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    x = np.arange(image.shape[0])
    k = np.exp(-0.5 * ((x[:, None] - x[None, :]) / max(sigma, 1e-3)) ** 2)
    k /= k.sum(axis=1, keepdims=True)
    return k @ image @ k.T


def fingerprint(rng: np.random.Generator, kind: int) -> np.ndarray:
    grid = np.arange(BIG, dtype=float)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    cx = BIG / 2 + rng.uniform(-7.0, 7.0)
    cy = BIG / 2 + rng.uniform(-7.0, 5.0)
    rot = np.deg2rad(rng.uniform(-20.0, 20.0))
    u = (xx - cx) * np.cos(rot) + (yy - cy) * np.sin(rot)
    v = -(xx - cx) * np.sin(rot) + (yy - cy) * np.cos(rot)
    scale = rng.uniform(0.85, 1.2)
    theta = _orientation(kind, rng, u, v, scale) + rot
    bins = np.round((theta % np.pi) / np.pi * NBINS).astype(int) % NBINS

    # grow ridges from noise along the field
    period = rng.uniform(5.6, 7.6)  # at twice the size: 2.8-3.8 sensor pixels
    bank = _gabor_bank(period, period * 0.55)
    frame = np.zeros((PAD, PAD))
    frame[:BIG, :BIG] = rng.normal(size=(BIG, BIG))
    for _ in range(7):
        response = np.fft.irfft2(np.fft.rfft2(frame)[None] * bank, s=(PAD, PAD))
        chosen = np.take_along_axis(response[:, :BIG, :BIG], bins[None], 0)[0]
        frame = np.zeros((PAD, PAD))
        frame[:BIG, :BIG] = np.tanh(chosen / (chosen.std() + 1e-9) * 1.5)
    ridge = 0.5 + 0.5 * frame[:BIG, :BIG]  # 1 on a ridge, 0 in a valley

    # the skin and the pressure: dry prints break into dots, wet ones run together
    pores = _blur(rng.normal(size=(BIG, BIG)), 0.8)
    pressure = rng.uniform(-0.4, 0.4)
    if pressure < -0.15:  # dry: ridges broken
        ridge = ridge * (pores > rng.uniform(-1.2, -0.2) * pores.std())
    ridge = np.clip(ridge + pressure * 0.6, 0.0, 1.0)
    if pressure > 0.15:  # wet: valleys filled in
        ridge = _blur(ridge, 0.6 + 1.5 * pressure)
    # creases: thin white lines across the ridges
    for _ in range(int(rng.poisson(0.8))):
        a = rng.uniform(0.0, np.pi)
        off = rng.uniform(-25.0, 25.0)
        dist = (xx - cx) * np.sin(a) - (yy - cy) * np.cos(a) - off
        ridge *= 1.0 - 0.9 * np.exp(-0.5 * (dist / rng.uniform(0.6, 1.5)) ** 2)
    if rng.random() < 0.1:  # a scar: a short white gash
        a = rng.uniform(0.0, np.pi)
        px, py = rng.uniform(10.0, 46.0, size=2)
        along = (xx - px) * np.cos(a) + (yy - py) * np.sin(a)
        across = -(xx - px) * np.sin(a) + (yy - py) * np.cos(a)
        gash = np.exp(-0.5 * (across / rng.uniform(1.0, 2.5)) ** 2) * (np.abs(along) < 12.0)
        ridge *= 1.0 - gash

    # the finger's contact area: an ellipse, sometimes cutting the pattern off at an edge
    ex, ey = cx + rng.normal(0.0, 6.0), cy + rng.uniform(-4.0, 10.0)
    ax, ay = rng.uniform(20.0, 40.0), rng.uniform(26.0, 50.0)
    contact = ((xx - ex) / ax) ** 2 + ((yy - ey) / ay) ** 2
    mask = 1.0 / (1.0 + np.exp((contact - 1.0) / 0.08))

    ink = ridge * mask * rng.uniform(0.6, 0.95)
    light = (
        0.92 + rng.uniform(-0.1, 0.1) * (xx / BIG - 0.5) + rng.uniform(-0.1, 0.1) * (yy / BIG - 0.5)
    )
    image = light * (1.0 - ink)
    image = image.reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    image += rng.normal(0.0, rng.uniform(0.02, 0.06), size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)[None]


def fingerprints(count: int = 3000, seed: int = 29_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=SHARES_IMG).astype(np.int64)
    X = np.stack([fingerprint(rng, int(k)) for k in y])
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
    (HERE / "avalanche_obs.csv").write_text("\n".join(avalanche_obs()) + "\n")
    X, y = fingerprints()
    _save_npz(HERE / "fingerprints28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
