"""The user data of fault-benchmark round held-out-26: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

cell_grading.csv: a battery gigafactory's grading log of lithium-ion cells
---------------------------------------------------------------------------
3,000 rows, 20 columns. Each row is one cell leaving formation and aging: its chemistry and
format, its rating and build (mass, electrolyte), the formation conditions, and what the
grading station measured, with, in the text column `grade`, the bin the cell was sorted to:

    pass              38%   a good cell
    low_capacity      13%   delivers less than its format's usual margin over the rating
                            (an underfilled cell, with a little more resistance, or a thin
                            coating)
    high_resistance   13%   DC resistance above what its chemistry and capacity give (a
                            poor tab weld, a dry separator): the pulse heats it more
    self_discharge    11%   a particle shorts the layers: the open-circuit voltage drops
                            faster over the aging days than the chemistry and the aging
                            temperature explain (lfp's flat curve shows few mV for it)
    lithium_plating   12%   metal lithium lost on the anode, mostly after a cold, fast
                            formation: a first-cycle efficiency low for the chemistry and a
                            little capacity lost (a cold fast formation lowers any cell's
                            efficiency a little)
    gassing           12%   moisture from a damp dry room reacts with the electrolyte: the
                            pouch or prismatic casing swells (cylinders' steel cans do not
                            show it) and the efficiency drops a little

Columns (units): chemistry (text: nmc811, nmc622, nca, lfp), format (text: cyl_21700,
pouch, prismatic), rated_capacity_ah (4-280, a few ratings per format), cell_mass_g
(~54-5,500), electrolyte_fill_g (~5-480), dry_room_dew_point_c (-63 to -22),
formation_temp_c (16-45), formation_c_rate (0.05-0.5), first_cycle_efficiency_pct (~80-95),
discharge_capacity_pct (of the rating, ~93-105), ocv_start_v (3.25-3.70), ocv_drop_mv (over
the aging, 0-225), aging_days (7, 14 or 21), aging_temp_c (25 or 45), dcir_mohm (0.2-63),
acir_1khz_mohm (0.1-32), pulse_temp_rise_c (a 2C pulse of 10 s, 0.1-0.7),
thickness_mm (4.5-72; a cylinder's diameter), thickness_growth_mm (-0.03-2.2), and the
grade. Values span 1e-1 to 5e3 across columns; no value is missing.

What separates the grades: combinations, not one column. The capacity against the
format's margin; the voltage drop against the days, the aging temperature and the
chemistry; the resistance against the rating (the pulse's heating carries their product);
the efficiency against the chemistry and the formation's temperature and rate; the growth
against the thickness and the casing. Mild cases (severity is drawn per row) look normal, so
the grades overlap; 4% of the labels are wrong. In scikit-learn, on the standardised
columns (text one-hot), a logistic regression reaches about 0.83 test accuracy, gradient
boosting about 0.86; trainwell's healthy ReLU MLP (128, 64) about 0.82; the majority class
alone: 0.38.

scope_traces32.npz: photos of an oscilloscope's screen, sorted by waveform
---------------------------------------------------------------------------
Arrays `X` (3,000 x 32 x 32, float32 in 0..1 in 32 grey levels, no channel axis: a phone
camera's photo of the scope's screen, binned to 32 x 32) and `y` (int64 class ids 0-5),
stored compressed. A lab course's teaching assistant sorted each capture by the waveform on
channel 1:

    0 sine            16%   a sine wave
    1 square          18%   a square wave, duty 38-62%; through a limited bandwidth its
                            edges are anything from sharp to rounded, nearly sine-like
    2 triangle        16%   a triangle, its rising part 28-72% of the period
    3 sawtooth        17%   a ramp up or down that snaps back in 3-20% of the period
    4 pulse_train     16%   narrow pulses, 7-30% of the period, up or (30%) down
    5 damped_ring     17%   each period a step that rings down: a decaying oscillation,
                            1.5-4.5 swings per period

Every capture has a random timebase (1.2 to 4.5 periods on screen, 1 to 2.5 for the
ringing), phase, amplitude (0.18-0.85 of the half screen) and offset; the signal's own
noise and sometimes mains hum riding on it; the beam bright where it dwells and faint on
fast edges; the phosphor's glow; the graticule (8 x 8 dotted divisions and the centre
axes, off on 15%); on a third of them channel 2's dim trace, flat or slowly waving, across
the screen; a vignette, glare on the glass and camera noise. Rounded squares look like
sines, lopsided triangles like steep ramps, wide pulses like squares, slowly decaying
rings like noisy sines. 3% of the labels are wrong. A logistic regression on the pixels
reaches about 0.30 test accuracy, trainwell's healthy three-block CNN (16, 32, 48
channels, batch norm) about 0.86 (the largest class alone: 0.18). The class names are in
this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

GRADES = ["pass", "low_capacity", "high_resistance", "self_discharge", "lithium_plating", "gassing"]
SHARES = [0.40, 0.12, 0.12, 0.12, 0.12, 0.12]
# open-circuit voltage at the storage charge (V), first-cycle efficiency (%), resistance
# times capacity (mOhm Ah), electrolyte per Ah (g), normal self-discharge at 25 C (mV/day),
# grams per Ah of a finished cell, how strongly cold fast formation plates lithium
CHEMISTRIES = {
    "nmc811": (3.62, 87.0, 70.0, 1.45, 0.22, 14.5, 1.0),
    "nmc622": (3.66, 88.5, 80.0, 1.50, 0.20, 15.5, 0.8),
    "nca": (3.58, 86.0, 65.0, 1.40, 0.25, 14.0, 1.1),
    "lfp": (3.29, 93.5, 110.0, 1.65, 0.05, 19.0, 0.6),  # a flat curve: few mV per charge lost
}
# rated capacities (Ah), resistance factor (tabs), thickness range (mm), how freely the
# casing swells, chemistry shares
FORMATS = {
    "cyl_21700": ((4.0, 4.5, 4.8, 5.0), 1.35, (21.05, 21.15), 0.04, (0.45, 0.15, 0.35, 0.05)),
    "pouch": ((10.0, 20.0, 40.0, 60.0, 75.0), 1.0, (4.5, 14.0), 1.0, (0.30, 0.40, 0.05, 0.25)),
    "prismatic": ((105.0, 160.0, 230.0, 280.0), 0.9, (26.0, 72.0), 0.3, (0.10, 0.30, 0.0, 0.60)),
}
FORMAT_SHARES = [0.40, 0.35, 0.25]
COLUMNS = [
    "chemistry",
    "format",
    "rated_capacity_ah",
    "cell_mass_g",
    "electrolyte_fill_g",
    "dry_room_dew_point_c",
    "formation_temp_c",
    "formation_c_rate",
    "first_cycle_efficiency_pct",
    "discharge_capacity_pct",
    "ocv_start_v",
    "ocv_drop_mv",
    "aging_days",
    "aging_temp_c",
    "dcir_mohm",
    "acir_1khz_mohm",
    "pulse_temp_rise_c",
    "thickness_mm",
    "thickness_growth_mm",
    "grade",
]


def _cell(rng: np.random.Generator, label: int) -> list[str]:
    severity = rng.uniform(0.05, 1.0)
    names = list(FORMATS)
    if label == 5:  # gassing: a soft or thin casing shows it
        form = names[1 + int(rng.random() < 0.35)]
    else:
        form = names[rng.choice(3, p=FORMAT_SHARES)]
    ratings, r_factor, (thick_lo, thick_hi), swell, chem_p = FORMATS[form]
    chem = list(CHEMISTRIES)[rng.choice(4, p=chem_p)]
    ocv0, ce0, r_spec, fill_per_ah, k25, g_per_ah, plating = CHEMISTRIES[chem]

    rated = float(rng.choice(ratings))
    mass = rated * g_per_ah * rng.normal(1.0, 0.012)
    fill = rated * fill_per_ah * rng.normal(1.0, 0.015)
    dew = rng.normal(-50.0, 4.0)
    temp = rng.uniform(18.0, 45.0)
    c_rate = rng.uniform(0.05, 0.5)
    if label == 4 and rng.random() < 0.8:  # plating: cold, fast formation
        temp = rng.uniform(16.0, 30.0)
        c_rate = rng.uniform(0.22, 0.5)
    ce = ce0 + rng.normal(0.0, 0.6)
    margin = {"cyl_21700": 1.03, "pouch": 1.015, "prismatic": 1.008}[form]  # over the rating
    cap_ratio = rng.normal(margin, 0.006)
    resist = r_spec * r_factor / rated * rng.lognormal(0.0, 0.05)
    ac_share = rng.uniform(0.5, 0.62)
    days = float(rng.choice([7.0, 14.0, 21.0]))
    aging_temp = float(rng.choice([25.0, 45.0], p=[0.6, 0.4]))
    k = k25 * (2.5 if aging_temp == 45.0 else 1.0) * rng.lognormal(0.0, 0.3)
    thick = rng.uniform(thick_lo, thick_hi)
    growth = abs(rng.normal(0.005, 0.004)) * swell

    if label == 1:  # low capacity: an underfilled cell, or thin coating
        cap_ratio = margin - 0.012 - 0.06 * severity + rng.normal(0.0, 0.004)
        if rng.random() < 0.5:
            fill *= 0.96 - 0.1 * severity
            resist *= 1.0 + 0.12 * severity
    elif label == 2:  # high resistance: a poor tab weld or a dry separator
        resist *= 1.12 + 0.6 * severity
        ac_share *= rng.uniform(0.85, 1.05)
    elif label == 3:  # self-discharge: a particle shorts the layers
        k *= 2.2 + 9.0 * severity
    elif label == 4:  # lithium plating: metal lithium lost on the anode
        ce -= (0.6 + 4.0 * severity) * plating
        cap_ratio -= 0.005 + 0.02 * severity
        resist *= 1.0 + 0.05 * severity
    elif label == 5:  # gassing: moisture in the dry room reacts with the electrolyte
        if rng.random() < 0.7:
            dew = rng.uniform(-40.0, -22.0)
        growth = (0.008 + 0.08 * severity) * swell * rng.lognormal(0.0, 0.2)
        ce -= 0.3 + 1.2 * severity
        cap_ratio -= 0.005 * severity

    # the plating a cold fast formation brings to any cell, mild
    stress = max(0.0, (30.0 - temp) / 12.0) * max(0.0, (c_rate - 0.2) / 0.3) * plating
    ce -= 1.2 * stress
    ocv_start = ocv0 + rng.normal(0.0, 0.012)
    drop = k * days + rng.normal(0.0, 0.4)  # the voltmeter reads to a few tenths of a mV
    acir = resist * ac_share
    # a 2C pulse of 10 s: I^2 R over the cell's heat capacity (~1 J/g K), plus the fixture
    heat = (2.0 * rated) ** 2 * resist / 1000.0 * 10.0 / mass
    rise = heat * rng.lognormal(0.0, 0.15) + rng.normal(0.0, 0.01)
    grown = thick * growth + rng.normal(0.0, 0.01)
    return [
        chem,
        form,
        f"{rated:g}",
        f"{mass:.1f}",
        f"{fill:.2f}",
        f"{dew:.1f}",
        f"{temp:.1f}",
        f"{c_rate:.3f}",
        f"{ce:.2f}",
        f"{100.0 * cap_ratio:.2f}",
        f"{ocv_start:.4f}",
        f"{drop:.1f}",
        f"{days:g}",
        f"{aging_temp:g}",
        f"{resist:.3f}",
        f"{acir:.3f}",
        f"{rise:.3f}",
        f"{thick:.2f}",
        f"{grown:.2f}",
        GRADES[label],
    ]


def cell_grading(rows: int = 3000, seed: int = 27_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(GRADES), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _cell(rng, int(label))
        if flip:  # a grading station that logged the wrong bin
            others = [g for g in GRADES if g != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 32
UP = 4  # drawn at four times the size, then averaged down (the camera's pixels)
BIG = SIZE * UP
POINTS = 4000  # samples of the waveform across the screen
LEVELS = 31  # the capture's grey levels above black


def _wave(kind: int, rng: np.random.Generator, phase: np.ndarray) -> np.ndarray:
    """One of the six waveforms, in -1..1, at `phase` (in periods)."""
    p = phase % 1.0
    if kind == 0:  # sine
        return np.sin(2 * np.pi * phase)
    if kind == 1:  # square, through a limited bandwidth (soft edges when slow)
        duty = rng.uniform(0.38, 0.62)
        sharp = rng.uniform(4.0, 40.0)
        return _edges(p, duty, sharp)
    if kind == 2:  # triangle, possibly lopsided
        rise = rng.uniform(0.28, 0.72)
        return np.where(p < rise, -1 + 2 * p / rise, 1 - 2 * (p - rise) / (1 - rise))
    if kind == 3:  # sawtooth, ramping up or down
        rise = rng.uniform(0.03, 0.2)
        wave = np.where(p < 1 - rise, -1 + 2 * p / (1 - rise), 1 - 2 * (p - 1 + rise) / rise)
        return wave if rng.random() < 0.5 else -wave
    if kind == 4:  # pulse train: a narrow duty cycle
        duty = rng.uniform(0.07, 0.3)
        sharp = rng.uniform(15.0, 60.0)
        wave = _edges(p, duty, sharp)
        return wave if rng.random() < 0.7 else -wave
    # damped ringing: each period a step that rings down
    ring = rng.uniform(1.5, 4.5)  # oscillations per period
    decay = rng.uniform(2.0, 9.0)
    return np.exp(-decay * p) * np.cos(2 * np.pi * ring * p)


def _edges(p: np.ndarray, duty: float, sharp: float) -> np.ndarray:
    """High for the first `duty` of each period, low after, in -1..1; the edges as steep as
    `sharp` (a limited bandwidth rounds them)."""
    distance = np.where(p < duty, np.minimum(p, duty - p), np.maximum(duty - p, p - 1))
    high, low = np.tanh(sharp * duty / 2), -np.tanh(sharp * (1 - duty) / 2)
    return 2 * (np.tanh(sharp * distance) - low) / (high - low) - 1


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(image, radius, mode="edge")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, mode="valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="valid")


def _splat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample points onto the big canvas, each shared between its four nearest pixels."""
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    canvas = np.zeros(BIG * BIG)
    corners = [(0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy)]
    for dx, dy, w in [*corners, (1, 1, fx * fy)]:
        _add(canvas, x0 + dx, y0 + dy, w)
    return canvas.reshape(BIG, BIG)


def _add(canvas: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
    keep = (x >= 0) & (x < BIG) & (y >= 0) & (y < BIG)
    canvas += np.bincount(y[keep] * BIG + x[keep], weights=w[keep], minlength=BIG * BIG)


def scope_capture(rng: np.random.Generator, kind: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, POINTS)
    periods = rng.uniform(1.2, 4.5) if kind != 5 else rng.uniform(1.0, 2.5)
    wave = _wave(kind, rng, periods * t + rng.uniform(0.0, 1.0))
    amplitude = rng.uniform(0.18, 0.85)
    offset = rng.uniform(-0.25, 0.25)
    volts = amplitude * wave + offset
    volts += rng.uniform(0.0, 0.1) * rng.normal(size=POINTS)  # the signal's own noise
    if rng.random() < 0.3:  # mains hum riding on it
        volts += rng.uniform(0.03, 0.12) * np.sin(
            2 * np.pi * (rng.uniform(0.3, 1.0) * t + rng.random())
        )
    # the beam: bright where it dwells, faint on fast edges
    x = t * (BIG - 1)
    y = (1.0 - volts) / 2.0 * (BIG - 1)
    dwell = _splat(x, y) / (POINTS / BIG)
    trace = 1.0 - np.exp(-dwell * rng.uniform(1.0, 2.5))
    if rng.random() < 0.35:  # the second channel: a dim flat line or a slow wave
        level = rng.uniform(-0.9, 0.9)
        other = level + rng.choice([0.0, rng.uniform(0.05, 0.2)]) * np.sin(
            2 * np.pi * (rng.uniform(0.2, 1.0) * t + rng.random())
        )
        other += 0.02 * rng.normal(size=POINTS)
        dim = _splat(x, (1.0 - other) / 2.0 * (BIG - 1)) / (POINTS / BIG)
        trace = np.maximum(trace, rng.uniform(0.2, 0.5) * (1.0 - np.exp(-dim)))
    trace = _blur(trace, rng.uniform(1.0, 2.6))  # the phosphor's glow and the focus
    trace /= max(trace.max(), 1e-6)
    # the graticule: eight by eight dotted divisions and the solid centre axes
    grid = np.zeros((BIG, BIG))
    if rng.random() < 0.85:
        lines = np.round(np.linspace(0, BIG - 1, 9)).astype(int)
        dots = (np.arange(BIG) % 4) < 2
        grid[np.ix_(lines, dots)] = 1.0
        grid[np.ix_(dots, lines)] = 1.0
        grid[BIG // 2 - 1 : BIG // 2 + 1, :] = np.maximum(grid[BIG // 2 - 1 : BIG // 2 + 1, :], 0.6)
        grid[:, BIG // 2 - 1 : BIG // 2 + 1] = np.maximum(grid[:, BIG // 2 - 1 : BIG // 2 + 1], 0.6)
        grid *= rng.uniform(0.15, 0.4)
    image = np.maximum(trace * rng.uniform(0.6, 1.0), grid)
    image = image.reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    # the camera on the screen: glare, a vignette, noise
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    vignette = 1.0 - rng.uniform(0.0, 0.5) * (xx**2 + yy**2)
    glare = rng.uniform(0.0, 0.25) * np.exp(
        -((xx - rng.uniform(-0.5, 0.5)) ** 2 + (yy - rng.uniform(-0.5, 0.5)) ** 2) / 0.05
    )
    image = image * vignette + glare + rng.uniform(0.0, 0.08)
    image += rng.normal(0.0, rng.uniform(0.005, 0.03), size=image.shape)
    return np.clip(np.round(image * LEVELS), 0, LEVELS) / LEVELS


def scope_captures(count: int = 3000, seed: int = 27_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count).astype(np.int64)
    X = np.stack([scope_capture(rng, int(k)) for k in y]).astype(np.float32)
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
    (HERE / "cell_grading.csv").write_text("\n".join(cell_grading()) + "\n")
    X, y = scope_captures()
    _save_npz(HERE / "scope_traces32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
