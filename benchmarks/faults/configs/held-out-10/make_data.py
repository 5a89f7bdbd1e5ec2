"""Writes the two user files of the `held-out-10` fault round, beside this script.

Run once: `python make_data.py` (deterministic: numpy's PCG64 seeded with fixed seeds; the
files it writes are the ones the configs read).

hives.parquet -- apiary inspection log (a made-up but plausible beekeeping record)
    2,400 rows, one per hive inspection, 15 feature columns and the target `status`.
    Numbers in their own units and scales: hive weight (kg), brood-nest temperature (C),
    in-hive humidity (%), the hum's dominant frequency (Hz), sound level (dB), varroa mites
    dropped on the sticky board per day, foragers at the entrance per minute, frames of
    brood, frames of capped honey, outside temperature (C), days since the last inspection,
    apiary elevation (m), colony age (days); two text columns: `hive_type` (Langstroth,
    Dadant, Warre, Top-bar) and `region` (coastal, lowland, upland, mountain).
    Target `status`, 5 balanced classes: thriving, queenless, varroa, swarm_prep, starving.
    Each class shifts a few readings (a queenless colony roars higher and lets its brood
    cool, a varroa colony drops mites and loses brood, a colony preparing to swarm is
    crowded and pipes, a starving one is light with no honey), on top of the season
    (outside temperature moves traffic, weight and sound), the region and the hive type;
    the classes overlap, so a good model reaches about 0.78-0.82 accuracy (a logistic
    regression ~0.80, gradient boosting ~0.78, the healthy MLP ~0.79). 4% of the labels are
    another class (the inspector's mistakes). No missing values. ~63 KB.

gramstain.npz -- Gram-stained smear micrographs, 32x32 RGB patches (a synthetic stand-in)
    X: (2,400, 3, 32, 32) uint8, channels first; y: int64, 6 balanced classes (400 drawn
    each, 391-412 after the label noise):
    0 gram_pos_clusters (purple cocci in grape-like clumps: staphylococci),
    1 gram_pos_chains (purple cocci in chains: streptococci),
    2 gram_pos_rods (purple rods: bacilli), 3 gram_neg_rods (pink rods: enterobacteria),
    4 gram_neg_diplococci (pink bean-shaped pairs: neisseria),
    5 yeast (large purple ovals, some budding).
    Colour is what the Gram stain is for: classes 0-2 and 5 keep the purple crystal violet,
    3-4 lose it and are counterstained pink by safranin; the two rod classes differ mostly
    by it (Gram-negative rods are also slimmer and longer). Stain strength, decolourisation (some
    Gram-positive cells turn partly pink), background tint, uneven illumination, focus blur
    (a third of the images), pink debris and sensor noise vary per image; 2% of the labels
    are wrong. A small CNN reaches about 0.83-0.89, a small ResNet 0.86-0.90. ~5.8 MB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
STATUSES = ["thriving", "queenless", "varroa", "swarm_prep", "starving"]
GRAM_CLASSES = [
    "gram_pos_clusters",
    "gram_pos_chains",
    "gram_pos_rods",
    "gram_neg_rods",
    "gram_neg_diplococci",
    "yeast",
]


# --- hives.parquet ------------------------------------------------------------------------


def make_hives(n: int = 2400, seed: int = 20240610) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = len(STATUSES)
    status = np.repeat(np.arange(k), n // k)
    rng.shuffle(status)
    region = rng.choice(["coastal", "lowland", "upland", "mountain"], n, p=[0.2, 0.35, 0.3, 0.15])
    elevation = np.select(
        [region == "coastal", region == "lowland", region == "upland"],
        [rng.gamma(2.0, 15.0, n), rng.uniform(60, 400, n), rng.uniform(400, 1100, n)],
        rng.uniform(1100, 1900, n),
    )
    hive_types = ["Langstroth", "Dadant", "Warre", "Top-bar"]
    hive_type = rng.choice(hive_types, n, p=[0.5, 0.2, 0.15, 0.15])
    capacity = {"Langstroth": 1.0, "Dadant": 1.15, "Warre": 0.8, "Top-bar": 0.85}
    cap = np.array([capacity[t] for t in hive_type])
    day = rng.uniform(60, 290, n)  # day of the year of the inspection
    season = np.sin((day - 80) / 365 * 2 * np.pi)  # 1 in midsummer
    outside = 8 + 14 * season - elevation / 180 + rng.normal(0, 4, n)
    age = rng.gamma(2.0, 260.0, n) + 30
    since = rng.integers(3, 29, n).astype(float)
    strength = rng.normal(0, 1, n) + 0.3 * np.tanh((age - 200) / 200)  # colony vigour

    is_ = {s: status == i for i, s in enumerate(STATUSES)}
    brood = 5 + 1.4 * strength + 2 * season + rng.normal(0, 1.2, n)
    brood -= 2.6 * is_["queenless"] + 2.0 * is_["varroa"] + 1.6 * is_["starving"]
    brood += 1.2 * is_["swarm_prep"]
    brood = np.clip(brood, 0, 10 * cap).round()
    honey = 3 + 1.2 * strength + 1.5 * season * cap + rng.normal(0, 1.2, n)
    honey += -3.0 * is_["starving"] + 0.5 * is_["swarm_prep"] - 0.5 * is_["varroa"]
    honey = np.clip(honey, 0, 8 * cap).round()
    weight = 18 * cap + 2.6 * honey + 1.3 * brood + rng.normal(0, 4.5, n)
    brood_temp = 34.8 + rng.normal(0, 0.45, n) + 0.04 * (outside - 15)
    brood_temp -= 1.0 * is_["queenless"] + 0.5 * is_["starving"] + 0.25 * is_["varroa"]
    humidity = 58 + 8 * rng.normal(0, 1, n) - 0.4 * (outside - 15) + 8 * is_["swarm_prep"]
    hum_hz = 245 + 18 * rng.normal(0, 1, n) + 1.2 * (outside - 15)
    hum_hz += 70 * is_["queenless"] + 55 * is_["swarm_prep"] - 10 * is_["starving"]
    sound_db = 61 + 3 * strength + 0.2 * (outside - 15) + rng.normal(0, 3, n)
    sound_db += 4 * is_["queenless"] + 6 * is_["swarm_prep"] - 4 * is_["starving"]
    mites = rng.gamma(1.3, 2.2, n) * np.exp(0.4 * season)
    mites += is_["varroa"] * rng.gamma(2.5, 5.5, n)
    traffic = 30 + 45 * (1 / (1 + np.exp(-(outside - 12) / 3))) * np.exp(0.35 * strength)
    traffic *= np.exp(rng.normal(0, 0.3, n))
    traffic *= np.where(is_["starving"], 0.7, 1.0) * np.where(is_["varroa"], 0.85, 1.0)
    traffic *= np.where(is_["swarm_prep"], 1.25, 1.0)

    noisy = rng.random(n) < 0.04  # the inspector's mistakes
    label = status.copy()
    label[noisy] = (status[noisy] + rng.integers(1, k, noisy.sum())) % k
    return pd.DataFrame(
        {
            "hive_weight_kg": weight.round(1),
            "brood_temp_c": brood_temp.round(2),
            "humidity_pct": np.clip(humidity, 20, 99).round(1),
            "hum_peak_hz": hum_hz.round(0),
            "sound_db": sound_db.round(1),
            "mite_drop_per_day": mites.round(1),
            "foragers_per_min": traffic.round(0),
            "brood_frames": brood,
            "honey_frames": honey,
            "outside_temp_c": outside.round(1),
            "days_since_inspection": since,
            "elevation_m": elevation.round(0),
            "colony_age_days": age.round(0),
            "hive_type": hive_type,
            "region": region,
            "status": np.array(STATUSES)[label],
        }
    )


# --- gramstain.npz -----------------------------------------------------------------------

SIDE = 32
SUPER = 2  # drawn at 64x64, averaged down: smooth edges
PURPLE = np.array([0.36, 0.16, 0.52])  # crystal violet, as it looks through the lens
PINK = np.array([0.86, 0.36, 0.50])  # safranin


def _grid() -> tuple[np.ndarray, np.ndarray]:
    size = SIDE * SUPER
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / SUPER
    return yy, xx


YY, XX = _grid()


def _ellipse(cy: float, cx: float, a: float, b: float, angle: float) -> np.ndarray:
    """Soft coverage in [0, 1] of an ellipse with semi-axes a (along angle) and b."""
    dy, dx = YY - cy, XX - cx
    c, s = np.cos(angle), np.sin(angle)
    u, v = dx * c + dy * s, -dx * s + dy * c
    r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return np.clip((1.15 - r) / 0.3, 0, 1)


def _cocci_clumps(rng, n_clumps):
    cells = []
    for _ in range(n_clumps):  # grape bunches: cocci on a jittered hexagonal lattice
        cy, cx = rng.uniform(7, 25, 2)
        spin = rng.uniform(0, np.pi)
        for i in range(-2, 3):
            for j in range(-2, 3):
                u, v = 2.7 * (i + 0.5 * j), 2.7 * 0.866 * j
                if u * u + v * v > 16 or rng.random() < 0.35:
                    continue
                dy = u * np.sin(spin) + v * np.cos(spin) + rng.normal(0, 0.25)
                dx = u * np.cos(spin) - v * np.sin(spin) + rng.normal(0, 0.25)
                cells.append((cy + dy, cx + dx, 1.1, 1.1, 0.0))
    return cells


def _chains(rng, n_chains):
    cells = []
    for _ in range(n_chains):
        cy, cx = rng.uniform(4, 28, 2)
        t = rng.uniform(0, 2 * np.pi)
        for _ in range(rng.integers(5, 10)):
            cells.append((cy, cx, 1.1, 1.1, t))
            t += rng.normal(0, 0.3)
            cy, cx = cy + 3.0 * np.sin(t), cx + 3.0 * np.cos(t)
    return cells


def _rods(rng, n, length, width):
    cells = []
    for _ in range(n):
        cy, cx = rng.uniform(3, 29, 2)
        a = rng.uniform(*length) / 2
        cells.append((cy, cx, a, width / 2, rng.uniform(0, np.pi)))
    return cells


def _diplococci(rng, n):
    cells = []
    for _ in range(n):
        cy, cx = rng.uniform(4, 28, 2)
        t = rng.uniform(0, np.pi)
        dy, dx = 1.6 * np.sin(t), 1.6 * np.cos(t)
        cells.append((cy + dy, cx + dx, 1.25, 1.5, t))  # flattened sides face each other
        cells.append((cy - dy, cx - dx, 1.25, 1.5, t))
    return cells


def _yeast(rng, n):
    cells = []
    for _ in range(n):
        cy, cx = rng.uniform(5, 27, 2)
        t = rng.uniform(0, np.pi)
        a, b = rng.uniform(3.0, 4.0), rng.uniform(2.3, 2.9)
        cells.append((cy, cx, a, b, t))
        if rng.random() < 0.5:  # a bud at one pole
            cells.append((cy + (a + 0.8) * np.sin(t), cx + (a + 0.8) * np.cos(t), 1.1, 0.9, t))
    return cells


def _cells(rng, label):
    if label == 0:
        return _cocci_clumps(rng, rng.integers(2, 4))
    if label == 1:
        return _chains(rng, rng.integers(3, 5))
    if label == 2:
        return _rods(rng, rng.integers(5, 12), (4.5, 7.0), 2.0)
    if label == 3:
        return _rods(rng, rng.integers(5, 10), (9.0, 12.0), 1.4)
    if label == 4:
        return _diplococci(rng, rng.integers(6, 12))
    return _yeast(rng, rng.integers(2, 5))


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):  # a 3x3 binomial filter per pass, edges repeated
        p = np.pad(img, ((1, 1), (0, 0), (0, 0)), mode="edge")
        img = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
        p = np.pad(img, ((0, 0), (1, 1), (0, 0)), mode="edge")
        img = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    return img


def _image(rng, label: int) -> np.ndarray:
    gram_negative = label in (3, 4)
    # decolourisation: 0 keeps crystal violet (purple), 1 loses it (pink after safranin)
    d = rng.normal(0.82, 0.13) if gram_negative else rng.normal(0.2, 0.15)
    background = np.array([0.93, 0.86, 0.88]) + rng.normal(0, 0.03, 3)
    img = np.broadcast_to(background, (*YY.shape, 3)).copy()
    # debris: faint pink smudges in every class
    for _ in range(rng.integers(0, 4)):
        cy, cx = rng.uniform(0, 32, 2)
        cover = 0.25 * _ellipse(cy, cx, rng.uniform(2, 5), rng.uniform(1, 3), rng.uniform(0, 3.2))
        img = img * (1 - cover[..., None]) + PINK * cover[..., None]
    strength = rng.uniform(0.75, 1.0)
    for cy, cx, a, b, t in _cells(rng, label):
        dd = np.clip(d + rng.normal(0, 0.06), 0, 1)
        colour = (1 - dd) * PURPLE + dd * PINK
        colour = colour * rng.uniform(0.9, 1.1)
        cover = strength * _ellipse(cy, cx, a, b, t)
        img = img * (1 - cover[..., None]) + colour * cover[..., None]
    img = img.reshape(SIDE, SUPER, SIDE, SUPER, 3).mean(axis=(1, 3))
    img = _blur(img, int(rng.random() < 0.3))  # a third out of focus
    gy, gx = rng.normal(0, 0.004, 2)  # uneven illumination
    ramp = 1 + gy * (np.arange(SIDE)[:, None] - 16) + gx * (np.arange(SIDE)[None, :] - 16)
    img = img * ramp[..., None] * rng.uniform(0.85, 1.1)
    img = img + rng.normal(0, 0.02, img.shape)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8).transpose(2, 0, 1)


def make_gramstain(per_class: int = 400, seed: int = 31337) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(GRAM_CLASSES)), per_class)
    rng.shuffle(y)
    X = np.stack([_image(rng, int(label)) for label in y])
    wrong = rng.random(len(y)) < 0.02
    y = y.copy()
    y[wrong] = (y[wrong] + rng.integers(1, len(GRAM_CLASSES), wrong.sum())) % len(GRAM_CLASSES)
    return X, y.astype(np.int64)


def main() -> None:
    make_hives().to_parquet(HERE / "hives.parquet", index=False)
    X, y = make_gramstain()
    np.savez_compressed(HERE / "gramstain.npz", X=X, y=y)


if __name__ == "__main__":
    main()
