"""Two user data files for the held-out-13 round of the fault benchmark, written beside this
script. Deterministic: numpy PCG64 generators with fixed seeds, so a rerun writes the same
files (`python make_data.py`).

sleep_epochs.csv: 2,700 rows, 19 columns + `target` (a CSV table)
    30-second epochs of overnight polysomnography, summarised the way a sleep lab's
    software exports them, with the sleep stage a technician scored (AASM rules). 5 classes
    (`target`, text, as scored): N2 38%, REM 17%, wake 16%, N3 15%, N1 14%.
    17 numeric columns in their own units and scales: delta_power_uv2, theta_power_uv2,
    alpha_power_uv2, sigma_power_uv2, beta_power_uv2 (EEG band powers in uV^2, log-normal,
    from about 0.5 to 3,000), spindle_count and k_complex_count (events in the epoch, 0-8),
    emg_rms_uv (chin EMG, 0.5-60), rapid_eye_movements (EOG count, 0-25),
    slow_eye_movement_pct (0-100), heart_rate_bpm (40-120), rmssd_ms (heart-rate
    variability, 5-200), resp_rate_bpm (6-30), resp_irregularity_pct (coefficient of
    variation of breath intervals, 0-80), minutes_since_lights_off (0-510), spo2_pct
    (85-100) and age_years (18-85); 2 text columns: eeg_montage (C3-M2, C4-M1, F4-M1: the
    derivation the powers come from; frontal leads read larger slow waves and smaller
    alpha) and body_position (supine, left, right, prone).
    What separates them: slow-wave (delta) power and low heart rate mark N3; spindles,
    K-complexes and sigma power mark N2; alpha and beta power, high chin EMG and blinks mark
    wake; REM combines rapid eye movements, the lowest chin EMG (atonia), theta and an
    irregular breath; N1 sits between wake, N2 and REM on every measure (slow eye
    movements, fading alpha, some theta). Delta power falls with age and slow-wave sleep
    comes early in the night, REM late. Scatter is wide and 10% of the labels are changed
    to a neighbouring stage (inter-scorer disagreement: wake/N1, N1/N2, N2/N3, N1/REM), so
    N1 in particular is hard. A logistic regression, a gradient-boosted tree or a
    standardised two-layer MLP all reach about 0.80-0.84 test accuracy (chance: 0.38, the
    share of the largest class).

score_glyphs32.npz: 2,450 images, X uint8 (2450, 1, 32, 32), y int64 (2450,)
    Grayscale crops of scanned printed sheet music, one symbol each, as an optical music
    recognition pipeline cuts them out around a detected glyph: dark ink on off-white paper
    with the five staff lines running through (at a random height, spacing and slight
    tilt), pieces of neighbouring symbols at the edges, scan speckles, blur and uneven
    toner. 7 classes, 350 images each: 0 whole_note (a hollow, slightly tilted oval head,
    no stem), 1 half_note (a hollow head with a stem), 2 quarter_note (a filled head with a
    stem), 3 eighth_note (a filled head with a stem and a curved flag), 4 sharp (two
    vertical strokes crossed by two thick rising bars), 5 flat (a tall stroke with a
    rounded loop at its foot), 6 natural (two offset vertical strokes, the left one
    reaching up and the right one down, joined by two rising bars). Stems go up from the
    right of the head or down from its left; every symbol sits at a random place (+-6 px
    across, +-4 px up and down), print size (+-20%), stroke width and small slant. What
    separates the classes is local shape (hollow against filled heads, a flag, the short
    bars of the accidentals) wherever the symbol sits: a small CNN (three conv blocks)
    reaches about 0.97 test accuracy and a small ResNet 0.98-0.99, an MLP on the pixels
    about 0.72 and a linear model about 0.53 (chance: 0.14).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# --- sleep_epochs.csv --------------------------------------------------------------------

STAGES = (("wake", 0.17), ("N1", 0.09), ("N2", 0.41), ("N3", 0.14), ("REM", 0.19))
NEIGHBOURS = {0: (1,), 1: (0, 2, 4), 2: (1, 3), 3: (2,), 4: (1,)}  # scorers' disagreements
MONTAGES = ("C3-M2", "C4-M1", "F4-M1")
POSITIONS = ("supine", "left", "right", "prone")


def sleep_epochs(rows: int = 2700, seed: int = 1301, noise: float = 0.10) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    share = np.array([p for _, p in STAGES])
    y = rng.choice(len(STAGES), size=rows, p=share / share.sum())
    n = rows

    def per_stage(values: tuple[float, ...]) -> np.ndarray:
        """One value per row, from one value per stage (in STAGES order)."""
        return np.asarray(values, dtype=np.float64)[y]

    def normal(mean: tuple[float, ...], sd: tuple[float, ...] | float) -> np.ndarray:
        scale = per_stage(sd) if isinstance(sd, tuple) else sd
        return per_stage(mean) + scale * rng.standard_normal(n)

    def lognormal(median: tuple[float, ...], sigma: float) -> np.ndarray:
        return per_stage(median) * np.exp(sigma * rng.standard_normal(n))

    age = np.clip(rng.normal(47, 16, n), 18, 85)
    montage = rng.integers(0, len(MONTAGES), n)
    frontal = montage == 2
    position = rng.choice(len(POSITIONS), size=n, p=(0.42, 0.25, 0.25, 0.08))
    # time of night: slow-wave sleep early, REM late, wake at both ends
    when = np.clip(
        normal((240, 200, 240, 120, 330), (170, 140, 130, 80, 110)) + rng.normal(0, 30, n), 0, 510
    )
    ageing = np.exp(-0.018 * (age - 45))  # slow waves shrink with age

    delta = lognormal((45, 70, 140, 420, 60), 0.63) * ageing * np.where(frontal, 1.35, 1.0)
    theta = lognormal((18, 32, 30, 38, 36), 0.58)
    alpha = lognormal((38, 14, 9, 8, 11), 0.69) * np.where(frontal, 0.7, 1.0)
    spindle_band = lognormal((4.0, 4.5, 11.0, 7.0, 3.6), 0.63)
    beta = lognormal((9.0, 5.0, 3.6, 2.8, 4.5), 0.63)
    spindles = rng.poisson(per_stage((0.05, 0.3, 1.9, 0.8, 0.05)))
    kcomplex = rng.poisson(per_stage((0.05, 0.25, 1.3, 0.7, 0.05)))
    emg = lognormal((22, 11, 8, 7, 2.8), 0.52)
    rems = rng.poisson(per_stage((2.5, 0.7, 0.2, 0.1, 5.5)) * rng.uniform(0.3, 1.7, n))
    sems = np.clip(normal((12, 45, 10, 4, 15), (12, 22, 9, 4, 12)), 0, 100)
    heart = normal((72, 66, 61, 57, 67), (8, 8, 7, 7, 9)) + 0.08 * (age - 47)
    rmssd = lognormal((35, 42, 48, 58, 36), 0.52) * np.exp(-0.01 * (age - 47))
    resp = normal((15.5, 14.5, 14.0, 13.5, 16.5), (2.5, 2.5, 2.0, 2.0, 3.0))
    irregular = np.abs(normal((18, 15, 9, 6, 28), (8, 8, 5, 4, 11)))
    spo2 = np.clip(rng.normal(95.5, 1.4, n) - 0.6 * (y == 4) - 0.02 * (age - 47), 85, 100)

    flip = rng.random(n) < noise  # a flipped label is a neighbouring stage
    labels = y.copy()
    for i in np.flatnonzero(flip):
        labels[i] = rng.choice(NEIGHBOURS[int(y[i])])

    return pd.DataFrame(
        {
            "delta_power_uv2": np.round(np.clip(delta, 0.5, 3000), 2),
            "theta_power_uv2": np.round(np.clip(theta, 0.5, 3000), 2),
            "alpha_power_uv2": np.round(np.clip(alpha, 0.5, 3000), 2),
            "sigma_power_uv2": np.round(np.clip(spindle_band, 0.2, 3000), 2),
            "beta_power_uv2": np.round(np.clip(beta, 0.2, 3000), 2),
            "spindle_count": np.clip(spindles, 0, 8).astype(np.int64),
            "k_complex_count": np.clip(kcomplex, 0, 8).astype(np.int64),
            "emg_rms_uv": np.round(np.clip(emg, 0.5, 60), 2),
            "rapid_eye_movements": np.clip(rems, 0, 25).astype(np.int64),
            "slow_eye_movement_pct": np.round(sems, 1),
            "heart_rate_bpm": np.round(np.clip(heart, 40, 120), 1),
            "rmssd_ms": np.round(np.clip(rmssd, 5, 200), 1),
            "resp_rate_bpm": np.round(np.clip(resp, 6, 30), 1),
            "resp_irregularity_pct": np.round(np.clip(irregular, 0, 80), 1),
            "minutes_since_lights_off": np.round(when, 1),
            "spo2_pct": np.round(spo2, 1),
            "age_years": np.round(age).astype(np.int64),
            "eeg_montage": [MONTAGES[k] for k in montage],
            "body_position": [POSITIONS[k] for k in position],
            "target": [STAGES[k][0] for k in labels],
        }
    )


# --- score_glyphs32.npz ------------------------------------------------------------------

SIZE = 32
GLYPHS = ("whole_note", "half_note", "quarter_note", "eighth_note", "sharp", "flat", "natural")
_R, _C = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def _soft(distance: np.ndarray, width: float) -> np.ndarray:
    """Ink coverage 0..1 of the points within `width` of a shape, with a soft edge."""
    return 1 / (1 + np.exp(np.clip((distance - width) / 0.4, -50, 50)))


def _stroke(y0: float, x0: float, y1: float, x1: float, width: float) -> np.ndarray:
    """A straight pen stroke of half-width `width` from (y0, x0) to (y1, x1)."""
    vy, vx = y1 - y0, x1 - x0
    t = np.clip(((_R - y0) * vy + (_C - x0) * vx) / max(vy * vy + vx * vx, 1e-9), 0, 1)
    return _soft(np.hypot(_R - y0 - t * vy, _C - x0 - t * vx), width)


def _oval(cy: float, cx: float, ry: float, rx: float, tilt: float) -> np.ndarray:
    """The normalised radius of each pixel in a tilted ellipse (1 on its outline)."""
    c, s = np.cos(tilt), np.sin(tilt)
    u, v = c * (_C - cx) + s * (_R - cy), -s * (_C - cx) + c * (_R - cy)
    return np.sqrt((u / rx) ** 2 + (v / ry) ** 2)


def _head(cy: float, cx: float, size: float, filled: bool, rng: np.random.Generator):
    """A note head: a tilted oval, solid or a ring (the ring thicker at the sides)."""
    ry, rx = size * rng.uniform(0.62, 0.72), size * rng.uniform(0.95, 1.1)
    tilt = -rng.uniform(0.25, 0.5)
    d = _oval(cy, cx, ry, rx, tilt)
    outer = _soft((d - 1) * ry, 0.2)
    if filled:
        return outer
    hole = _soft((_oval(cy, cx, ry * 0.5, rx * 0.62, tilt + 0.5) - 1) * ry * 0.5, 0.1)
    return np.clip(outer - hole, 0, 1)


def _glyph(kind: int, rng: np.random.Generator) -> np.ndarray:
    """The ink (0..1) of one symbol near the centre of the crop."""
    cy, cx = 15.5 + rng.uniform(-4, 4), 15.5 + rng.uniform(-6, 6)
    z = rng.uniform(0.8, 1.2)  # the print size: every length scales with it
    size = z * rng.uniform(3.3, 4.0)  # head half-width, px
    pen = rng.uniform(0.55, 0.85)  # stroke half-width, px
    ink = np.zeros((SIZE, SIZE))
    if kind <= 3:  # notes
        if kind == 0:
            return _head(cy, cx, size * 1.15, False, rng)
        up = rng.random() < 0.5
        length = z * rng.uniform(10, 13)
        if up:  # the head low, the stem up from its right side
            hy, hx = cy + 5 * z, cx - z
            sx, top, foot = hx + size * 0.95, hy - length, hy - 0.5
        else:  # the head high, the stem down from its left side
            hy, hx = cy - 5 * z, cx + z
            sx, top, foot = hx - size * 0.95, hy + 0.5, hy + length
        ink = np.maximum(_head(hy, hx, size, kind >= 2, rng), _stroke(top, sx, foot, sx, pen * 0.8))
        if kind == 3:  # a flag: a curve from the stem's free end, away from it and back
            end = top if up else foot
            sign = 1 if up else -1
            span = z * (rng.uniform(6.5, 8.5) if up else rng.uniform(5.0, 6.5))
            pts = [
                (end + sign * span * t, sx + z * (4.2 * np.sin(np.pi * 0.8 * t) + 1.2 * t))
                for t in np.linspace(0, 1, 7)
            ]
            for (y0, x0), (y1, x1) in pairwise(pts):
                ink = np.maximum(ink, _stroke(y0, x0, y1, x1, pen * 1.1))
        return ink
    lean = rng.uniform(-0.08, 0.08)  # small rotation: x shifts with y

    def upright(x: float, y0: float, y1: float, width: float) -> np.ndarray:
        return _stroke(y0, x + lean * (y0 - cy), y1, x + lean * (y1 - cy), width)

    if kind == 4:  # sharp: two verticals, two thick rising bars across them
        gap = z * rng.uniform(2.2, 3.0)
        for x in (cx - gap, cx + gap):
            ink = np.maximum(ink, upright(x, cy - 9 * z, cy + 9 * z, pen * 0.7))
        for dy in (-3.2 * z, 3.2 * z):
            y, w = cy + dy, gap + 2.5 * z
            ink = np.maximum(ink, _stroke(y + 1.5 * z, cx - w, y - 1.5 * z, cx + w, pen * 1.5))
    elif kind == 5:  # flat: a tall stroke and a rounded loop at its foot
        x = cx - 2.5 * z
        ink = upright(x, cy - 11 * z, cy + 5 * z, pen * 0.75)
        loop = _oval(cy + 2.2 * z, x + 2.6 * z, 2.7 * z, 2.9 * z, -0.6)
        ink = np.maximum(ink, _soft(np.abs(loop - 1) * 2.7 * z, pen * 0.9))
    else:  # natural: left stroke reaching up, right stroke down, two rising bars
        gap = z * rng.uniform(2.0, 2.7)
        ink = np.maximum(upright(cx - gap, cy - 9 * z, cy + 3.5 * z, pen * 0.7), ink)
        ink = np.maximum(ink, upright(cx + gap, cy - 3.5 * z, cy + 9 * z, pen * 0.7))
        for dy in (-2.8 * z, 2.8 * z):
            y = cy + dy
            ink = np.maximum(ink, _stroke(y + 0.9 * z, cx - gap, y - 0.9 * z, cx + gap, pen * 1.5))
    return ink


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    radius = 2
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(img, radius, mode="edge")
    rows = sum(k[i] * padded[i : i + SIZE, :] for i in range(2 * radius + 1))
    return sum(k[i] * rows[:, i : i + SIZE] for i in range(2 * radius + 1))


def _staff(rng: np.random.Generator) -> np.ndarray:
    """Five thin staff lines at a random height, spacing and slight tilt."""
    spacing = rng.uniform(5.2, 6.6)
    first = rng.uniform(-2 * spacing, SIZE - 3 * spacing)
    slope = rng.normal(0, 0.015)
    width = rng.uniform(0.25, 0.45)
    lines = np.zeros((SIZE, SIZE))
    for k in range(5):
        y = first + k * spacing + slope * (_C - 15.5)
        lines = np.maximum(lines, _soft(np.abs(_R - y), width))
    return lines * rng.uniform(0.55, 0.9)


def _clutter(rng: np.random.Generator) -> np.ndarray:
    """Pieces of neighbouring symbols poking in at the left or right edge."""
    ink = np.zeros((SIZE, SIZE))
    for _ in range(rng.integers(0, 4)):
        x = rng.choice((rng.uniform(-3, 2), rng.uniform(SIZE - 3, SIZE + 2)))
        if rng.random() < 0.5:  # a stem or bar line
            y0 = rng.uniform(-4, 20)
            ink = np.maximum(ink, _stroke(y0, x, y0 + rng.uniform(8, 20), x, 0.6))
        else:  # a blob of a head
            y = rng.uniform(2, 30)
            ink = np.maximum(ink, _soft((_oval(y, x, 2.6, 3.6, -0.4) - 1) * 2.6, 0.2))
    return ink


def score_glyphs32(per_class: int = 350, seed: int = 1302) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = np.repeat(np.arange(len(GLYPHS)), per_class)
    y = y[rng.permutation(len(y))]
    X = np.empty((len(y), 1, SIZE, SIZE), np.uint8)
    for i, kind in enumerate(y):
        ink = np.maximum(_glyph(int(kind), rng), _staff(rng))
        ink = np.maximum(ink, _clutter(rng))
        toner = rng.uniform(0.75, 1.0) * (1 + 0.15 * rng.standard_normal((SIZE, SIZE)))
        ink = _blur(ink * toner, rng.uniform(0.45, 0.9))
        ink += (rng.random((SIZE, SIZE)) < 0.01) * rng.uniform(0.3, 0.8)  # speckles
        paper = rng.uniform(0.85, 0.96) + rng.normal(0, 0.03, (SIZE, SIZE))
        img = paper - 0.8 * np.clip(ink, 0, 1)
        X[i, 0] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return X, y.astype(np.int64)


def main() -> None:
    sleep_epochs().to_csv(HERE / "sleep_epochs.csv", index=False)
    X, y = score_glyphs32()
    np.savez_compressed(HERE / "score_glyphs32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
