"""The user data of fault-benchmark round held-out-24: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

pv_strings.csv: a solar plant's string-inverter log, checked by the O&M crew
----------------------------------------------------------------------------
3,000 rows, 21 columns. Each row is one 15-minute daytime record of one string inverter
of a utility solar plant: the weather station beside it, the inverter's own DC and AC
readings, its insulation monitor and the string-combiner currents, and, in the text column
`condition`, what the operations-and-maintenance crew found when they walked the array
for that record:

    normal            40%   nothing wrong
    soiling           12%   dust on the modules: every string delivers less than the clean
                            reference cell's irradiance promises, the more so the longer
                            since the last wash and rain; voltage and the spread between
                            strings stay normal
    partial_shading   12%   a row, a mast or a tree shades part of the array, mostly when the
                            sun is low: bypass diodes cut in, the DC voltage drops, the strings'
                            currents spread far apart, the power falls short
    open_string       12%   a blown fuse or a burnt connector: one (sometimes two) strings
                            give nothing, the DC current falls by that string's share, the
                            combiner's spread jumps, the voltage is normal
    inverter_derating 12%   a clogged fan or a failing heat sink: the inverter runs hot and
                            caps its AC output below what the DC side could give, moving off
                            the maximum power point (higher DC voltage, lower current)
    insulation_fault  12%   a damaged cable or a wet junction box: the insulation resistance
                            to ground falls and the leakage current rises, with a small loss
                            of power; damp mornings lower every inverter's resistance too

Columns (units): inverter_model (text: sunway_50k, tessera_60k, helios_100k: rated 50, 60
and 100 kW AC, 10, 12 and 20 strings), mounting (text: fixed_tilt, tracker, rooftop),
plant_age_years (0.3-14), day_of_year, hour (solar time, 6.5-18.5), irradiance_w_m2 (the
clean reference cell in the plane of the array, 80-1,150), ambient_temp_c, module_temp_c,
wind_speed_m_s, humidity_pct, rain_7d_mm, days_since_wash, dc_voltage_v (~450-910),
dc_current_a (~7-180), string_spread_pct (the combiner currents' coefficient of variation,
~1.5-50), ac_power_w (~3.7e3 to 1e5), inverter_temp_c, insulation_kohm (~30 to ~2.4e4),
leakage_ma (~0.02 to ~20), energy_today_wh (~2.5e3 to ~7.6e5), and the condition. Values
span 1e-2 to 8e5 across columns; no value is missing.

What separates the conditions: ratios and combinations, not one column. "Too little power"
is only too little against the irradiance, the module temperature, the inverter's size and
the plant's age; low sun also gives low power and, on trackers less than on fixed tilt,
some spread; damp mornings lower the insulation of healthy inverters; hot afternoons warm
every inverter. Mild cases (severity is drawn per row) look normal, so the classes
overlap. 4% of the labels are wrong. In scikit-learn, on the standardised columns (text
one-hot), a logistic regression reaches about 0.85 test accuracy (soiling, a loss
relative to the irradiance, inverter size and age, is where it fails), gradient boosting
about 0.90, an MLP with one hidden layer of 3 units about 0.80; trainwell's healthy GELU
MLP (128, 64) about 0.89; the majority class alone: 0.38.

el_cells32.npz: electroluminescence images of solar cells from a module line's EL tester
------------------------------------------------------------------------------------------
Arrays `X` (2,400 x 1 x 32 x 32, uint8, channels first: 0 dark .. 255 the brightest
emission) and `y` (int64 class ids 0-5); stored compressed:

    0 intact            20%   an evenly glowing cell, dark busbars, no defect
    1 crack             16%   one or two thin dark lines across the cell at any angle,
                              sometimes branching
    2 inactive_area     16%   a crack that cut a piece of the cell off: a corner or side
                              region behind a straight edge is (nearly) dark
    3 finger_failure    16%   broken contact fingers: short dark bands running from busbar
                              to busbar, across the busbars' direction
    4 shunt             16%   one to three dark round spots with soft edges
    5 pid               16%   potential-induced degradation: the cell glows dimmer, its
                              border much dimmer than its middle, on some or all sides

Every cell is mono- or multicrystalline (multi cells carry a grain texture with faint dark
grain boundaries), with two to four busbars running either way, at a random small shift
and tilt inside the crop, with neighbouring cells' edges behind dark gaps, uneven current
and camera vignetting, a blur of random strength and camera noise. Faint cracks look like
grain boundaries, small inactive corners like shunts, mild PID like vignetting.
3% of the labels are wrong. A logistic regression on the pixels reaches about 0.46 test
accuracy, trainwell's healthy three-block CNN (12, 24, 48 channels, batch norm) about 0.86
(the largest class alone: 0.20). The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

CONDITIONS = [
    "normal",
    "soiling",
    "partial_shading",
    "open_string",
    "inverter_derating",
    "insulation_fault",
]
SHARES = [0.40, 0.12, 0.12, 0.12, 0.12, 0.12]
INVERTERS = {  # rated AC power (W), strings, modules per string
    "sunway_50k": (50_000.0, 10, 18),
    "tessera_60k": (60_000.0, 12, 17),
    "helios_100k": (100_000.0, 20, 18),
}
MOUNTINGS = ["fixed_tilt", "tracker", "rooftop"]
COLUMNS = [
    "inverter_model",
    "mounting",
    "plant_age_years",
    "day_of_year",
    "hour",
    "irradiance_w_m2",
    "ambient_temp_c",
    "module_temp_c",
    "wind_speed_m_s",
    "humidity_pct",
    "rain_7d_mm",
    "days_since_wash",
    "dc_voltage_v",
    "dc_current_a",
    "string_spread_pct",
    "ac_power_w",
    "inverter_temp_c",
    "insulation_kohm",
    "leakage_ma",
    "energy_today_wh",
    "condition",
]
MODULE_W = 410.0  # a module's rated power at 1,000 W/m2 and 25 C
MODULE_V = 37.5  # its maximum-power-point voltage
MODULE_I = MODULE_W / MODULE_V


def _sun(day: float, hour: float) -> float:
    """The sun's elevation (radians) at latitude 38 N, from the day of the year and solar time."""
    lat = np.radians(38.0)
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284.0 + day) / 365.0)
    angle = np.radians(15.0 * (hour - 12.0))
    s = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(angle)
    return float(np.arcsin(np.clip(s, -1.0, 1.0)))


def _row(rng: np.random.Generator, label: int) -> list[str]:
    model = ["sunway_50k", "tessera_60k", "helios_100k"][rng.choice(3, p=[0.4, 0.35, 0.25])]
    mounting = MOUNTINGS[rng.choice(3, p=[0.45, 0.3, 0.25])]
    rated, strings, per_string = INVERTERS[model]
    age = float(rng.uniform(0.3, 14.0))
    while True:  # a daytime record with the sun at least 8 degrees up
        day = float(rng.integers(1, 366))
        if label == 2 and mounting != "rooftop" and rng.random() < 0.8:
            # shading in the field: rows and masts, mostly with the sun low (chimneys and
            # dormers shade a roof at any hour)
            hour = float(rng.choice([rng.uniform(6.5, 9.0), rng.uniform(15.5, 18.5)]))
        elif label == 4:  # derating: the sunny hours of the warmer half of the year
            hour = float(rng.uniform(9.5, 17.0))
            day = float(rng.integers(90, 300))
        elif label == 5 and rng.random() < 0.5:  # moisture: often the morning
            hour = float(rng.uniform(6.5, 10.5))
        else:
            hour = float(rng.uniform(6.5, 18.5))
        elevation = _sun(day, hour)
        if elevation > np.radians(8.0):
            break
    clear = 1040.0 * np.sin(elevation) ** (0.75 if mounting == "tracker" else 1.15)
    clear = clear * (1.25 if mounting == "tracker" else 1.0) + 40.0
    cloud = 1.0 - 0.75 * rng.beta(0.6, 1.8)
    irradiance = float(np.clip(clear * cloud, 80.0, 1150.0))
    season = -np.cos(2 * np.pi * (day - 15.0) / 365.0)  # -1 in January, +1 in July
    ambient = 16.0 + 10.0 * season + 6.0 * np.sin(np.pi * (hour - 8.0) / 14.0)
    ambient += rng.normal(0.0, 3.5)
    wind = float(rng.gamma(2.0, 1.6))
    humidity = float(
        np.clip(rng.normal(75.0 - 2.0 * (hour - 6.5) - 0.8 * ambient, 12.0), 8.0, 100.0)
    )
    rain = float(rng.exponential(6.0) if rng.random() < 0.35 else 0.0)
    wash = float(rng.integers(0, 150))
    if label == 1:  # soiling: mostly a long time since the last wash and the last rain
        wash = float(min(10.0 + rng.gamma(2.0, 35.0), 220.0) // 1)
        rain = float(rng.exponential(2.0) if rng.random() < 0.25 else 0.0)
    severity = rng.uniform(0.05, 1.0)
    module_temp = ambient + irradiance * (0.032 if mounting == "rooftop" else 0.026) - 0.9 * wind
    module_temp += rng.normal(0.0, 1.2)
    # what a clean, healthy array would give
    dirt = 0.0006 * wash * np.exp(-0.15 * rain) * rng.uniform(0.5, 1.0)  # a little dust always
    ageing = 1.0 - 0.0055 * age
    current = strings * MODULE_I * irradiance / 1000.0 * ageing * (1.0 - dirt)
    current *= rng.normal(1.0, 0.015)
    voltage = per_string * MODULE_V * (1.0 - 0.0031 * (module_temp - 25.0))
    voltage *= 1.0 + 0.025 * np.log(irradiance / 1000.0) * 0.5
    voltage *= rng.normal(1.0, 0.01) * (1.0 - 0.002 * age)
    low_sun = max(0.0, np.radians(20.0) - elevation) / np.radians(12.0)
    spread = 1.5 + rng.gamma(2.0, 0.5) + (6.0 if mounting == "fixed_tilt" else 2.5) * low_sun
    insulation = rng.lognormal(np.log(6000.0 * np.exp(-0.025 * max(humidity - 50.0, 0.0))), 0.45)
    insulation *= 1.0 - 0.03 * age
    loss_other = 1.0
    off_mpp = 1.0
    cap = rated
    fan = 0.0
    if label == 1:  # soiling: a uniform loss on every string
        dirt_extra = 0.05 + 0.27 * severity
        current *= 1.0 - dirt_extra
    elif label == 2:  # partial shading
        shaded = 0.05 + 0.35 * severity
        current *= 1.0 - shaded * rng.uniform(0.5, 0.9)
        voltage *= 1.0 - shaded * rng.uniform(0.25, 0.6)
        spread += 4.0 + 30.0 * severity * rng.uniform(0.6, 1.2)
    elif label == 3:  # open strings
        dead = 1 + int(rng.random() < 0.25)
        current *= 1.0 - dead / strings
        share = np.full(strings, 1.0)
        share[:dead] = 0.0
        share *= rng.normal(1.0, spread / 100.0, size=strings)
        spread = float(100.0 * share.std() / max(share.mean(), 1e-6))
        voltage *= rng.normal(1.0, 0.006)
    elif label == 4:  # derating: the inverter runs hot and caps its output
        fan = 8.0 + 18.0 * severity
        cap = rated * (0.85 - 0.35 * severity) * rng.uniform(0.9, 1.1)
        off_mpp = 0.97 - 0.05 * severity
    elif label == 5:  # insulation fault
        insulation = rng.lognormal(np.log(900.0 * np.exp(-2.2 * severity)), 0.5)
        loss_other = 1.0 - 0.03 * severity * rng.random()
    dc_power = current * voltage * loss_other
    ac = dc_power * 0.975
    if ac > cap:  # the inverter caps its output and walks its DC voltage up
        ac = cap * rng.normal(1.0, 0.004)
        ratio = ac / 0.975 / max(dc_power, 1.0)
        voltage *= 1.0 + 0.6 * (1.0 - ratio) * (1.0 if label == 4 else 0.5)
        current = ac / 0.975 / voltage
    if label == 4:
        voltage /= off_mpp
        current *= off_mpp**2
        ac = min(ac, current * voltage * 0.965)
    load = ac / rated
    inverter_temp = ambient + 6.0 + 22.0 * load + fan + rng.normal(0.0, 1.8)
    leakage = voltage / insulation * rng.lognormal(0.0, 0.2)
    # energy since sunrise: the clear-sky integral, scaled by today's clouds
    hours_up = max(hour - (12.0 - 6.8 - 1.6 * season), 0.2)
    energy = ac * hours_up * 0.62 * rng.normal(1.0, 0.12)
    return [
        model,
        mounting,
        f"{age:.1f}",
        f"{day:.0f}",
        f"{hour:.2f}",
        f"{irradiance:.0f}",
        f"{ambient:.1f}",
        f"{module_temp:.1f}",
        f"{wind:.1f}",
        f"{humidity:.0f}",
        f"{rain:.1f}",
        f"{wash:.0f}",
        f"{voltage:.1f}",
        f"{current:.2f}",
        f"{spread:.2f}",
        f"{max(ac, 0.0):.0f}",
        f"{inverter_temp:.1f}",
        f"{insulation:.0f}",
        f"{leakage:.3f}",
        f"{max(energy, 0.0):.0f}",
        CONDITIONS[label],
    ]


def pv_strings(rows: int = 3000, seed: int = 25_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(CONDITIONS), size=rows, p=SHARES)
    lines = [",".join(COLUMNS)]
    wrong = rng.random(rows) < 0.04
    for label, flip in zip(labels, wrong, strict=True):
        fields = _row(rng, int(label))
        if flip:  # a crew that logged the wrong ticket
            others = [c for c in CONDITIONS if c != fields[-1]]
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


def _segment(x0, y0, x1, y1, width, edge=0.4) -> np.ndarray:
    """A stroke of half-width `width` from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((GX - x0) * dx + (GY - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    d = np.hypot(GX - (x0 + t * dx), GY - (y0 + t * dy)) - width
    return _soft(d, edge)


def _blob(cx, cy, r, edge) -> np.ndarray:
    return _soft(np.hypot(GX - cx, GY - cy) - r, edge)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = 3
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(image, radius, mode="edge")
    rows = sum(k[i] * padded[:, i : i + image.shape[1]] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + image.shape[0], :] for i in range(2 * radius + 1))


def _smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Noise on a coarse `cells` x `cells` grid, bilinearly spread over the drawing grid."""
    coarse = rng.normal(0.0, 1.0, size=(cells + 1, cells + 1))
    n = SIZE * UP
    t = np.linspace(0.0, cells, n, endpoint=False)
    i = t.astype(int)
    f = t - i
    rows = coarse[i] * (1 - f)[:, None] + coarse[i + 1] * f[:, None]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


def el_image(rng: np.random.Generator, kind: int) -> np.ndarray:
    # the cell's frame: a small shift and tilt; u runs along the busbars, v across them
    tilt = rng.normal(0.0, 0.035)
    ox, oy = rng.normal(0.0, 1.0, size=2)
    c, s = np.cos(tilt), np.sin(tilt)
    u = (GX - ox) * c + (GY - oy) * s
    v = -(GX - ox) * s + (GY - oy) * c
    if rng.random() < 0.5:  # busbars either way
        u, v = v, u
    half = rng.uniform(13.2, 14.6)  # the cell's half width; a dark gap, then the neighbours
    inside = _soft(np.maximum(np.abs(u), np.abs(v)) - half, 0.5)
    mono = rng.random() < 0.5
    if mono:  # monocrystalline cells have chamfered corners
        inside *= _soft(np.abs(u) + np.abs(v) - 1.72 * half, 0.5)
    beyond = 1.0 - _soft(np.maximum(np.abs(u), np.abs(v)) - (half + 1.6), 0.5)
    glow = rng.uniform(0.55, 0.85)
    cell = np.full_like(GX, glow)
    # uneven current: a gentle gradient and low-frequency unevenness
    gx, gy = rng.normal(0.0, 0.006, size=2)
    cell *= 1.0 + gx * u + gy * v + 0.04 * _smooth_noise(rng, 3)
    if not mono:  # multicrystalline grains and faint grain boundaries
        cell *= 1.0 + rng.uniform(0.05, 0.12) * _smooth_noise(rng, 8)
        for _ in range(int(rng.integers(2, 7))):
            x0, y0 = rng.uniform(-half, half, size=2)
            angle = rng.uniform(0, np.pi)
            length = rng.uniform(3.0, 9.0)
            x1, y1 = x0 + length * np.cos(angle), y0 + length * np.sin(angle)
            cell *= 1.0 - rng.uniform(0.05, 0.14) * _segment(x0, y0, x1, y1, 0.25)
    bars = int(rng.integers(2, 5))
    pitch = 2 * half / bars
    centres = -half + pitch * (np.arange(bars) + 0.5)
    for b in centres:  # dark busbars along u
        cell *= 1.0 - 0.55 * _soft(np.abs(v - b) - 0.45, 0.35)
    cell *= 1.0 - 0.04 * (np.cos(2 * np.pi * u / 1.1) > 0.6)  # fingers, barely resolved

    def line_through(x, y, angle, reach):
        return (
            x - reach * np.cos(angle),
            y - reach * np.sin(angle),
            x + reach * np.cos(angle),
            y + reach * np.sin(angle),
        )

    if kind == 1:  # cracks
        for _ in range(1 + int(rng.random() < 0.35)):
            x, y = rng.uniform(-0.6 * half, 0.6 * half, size=2)
            angle = rng.uniform(0, np.pi)
            reach = rng.uniform(7.0, 20.0)
            x0, y0, x1, y1 = line_through(x, y, angle, reach)
            depth = rng.uniform(0.55, 0.9)
            cell *= 1.0 - depth * _segment(x0, y0, x1, y1, rng.uniform(0.45, 0.7))
            if rng.random() < 0.4:  # a branch
                t = rng.uniform(0.2, 0.8)
                bx, by = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                bangle = angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
                blen = rng.uniform(3.0, 9.0)
                ex, ey = bx + blen * np.cos(bangle), by + blen * np.sin(bangle)
                cell *= 1.0 - depth * _segment(bx, by, ex, ey, 0.4)
    elif kind == 2:  # an inactive area cut off by a crack
        angle = rng.uniform(0, 2 * np.pi)
        nx, ny = np.cos(angle), np.sin(angle)
        # a straight edge; the side beyond it (along the normal) is dark
        reach = half * (np.abs(nx) + np.abs(ny))
        offset = reach * rng.uniform(0.25, 0.65)
        d = GX * nx + GY * ny - offset
        dark = _soft(-d, 0.5)  # 1 beyond the edge
        cell *= 1.0 - rng.uniform(0.65, 0.95) * dark
        cell *= 1.0 - 0.5 * _soft(np.abs(d) - 0.3, 0.3)  # the crack itself
    elif kind == 3:  # finger failures: dark bands from one busbar to the next
        for _ in range(int(rng.integers(3, 8))):
            k = int(rng.integers(0, bars))
            lo = centres[k] - pitch / 2
            at = rng.uniform(-half + 1, half - 1)
            width = rng.uniform(0.5, 1.6)
            band = _soft(np.abs(u - at) - width, 0.5) * _soft(
                np.abs(v - (lo + pitch / 2)) - pitch / 2, 0.5
            )
            cell *= 1.0 - rng.uniform(0.4, 0.8) * band
    elif kind == 4:  # shunts: dark spots
        for _ in range(int(rng.integers(1, 4))):
            x, y = rng.uniform(-half + 2, half - 2, size=2)
            cell *= 1.0 - rng.uniform(0.5, 0.9) * _blob(x, y, rng.uniform(1.6, 4.0), 1.4)
    elif kind == 5:  # PID: dimmer, much dimmer at the border
        cell *= rng.uniform(0.55, 0.85)
        sides = rng.random(4) < 0.75
        sides[int(rng.integers(4))] = True
        depth = rng.uniform(3.0, 8.0)
        for side, edge in zip(sides, (u - half, -u - half, v - half, -v - half), strict=True):
            if side:
                cell *= 1.0 - rng.uniform(0.45, 0.85) * np.exp(np.minimum(edge, 0.0) / depth * 2.2)
    neighbours = rng.uniform(0.3, 0.8) * glow * beyond * (1.0 + 0.05 * _smooth_noise(rng, 4))
    image = cell * inside + neighbours
    # camera vignetting and the dark floor
    r2 = (GX**2 + GY**2) / (SIZE / 2) ** 2
    image *= 1.0 - rng.uniform(0.0, 0.35) * r2
    image = rng.uniform(0.02, 0.08) + image
    image = image.reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    image = _blur(image, rng.uniform(0.35, 0.8))
    image += rng.normal(0.0, rng.uniform(0.012, 0.035), size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def el_cells(count: int = 2400, seed: int = 25_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=[0.20, 0.16, 0.16, 0.16, 0.16, 0.16]).astype(np.int64)
    X = np.stack([el_image(rng, int(k)) for k in y])[:, None]
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
    (HERE / "pv_strings.csv").write_text("\n".join(pv_strings()) + "\n")
    X, y = el_cells()
    _save_npz(HERE / "el_cells32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
