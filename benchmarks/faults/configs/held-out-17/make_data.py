"""The user data of fault-benchmark round held-out-17: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness).

transformer_dga.csv: dissolved-gas analysis of power transformers
-----------------------------------------------------------------
2,400 rows, 20 columns. Each row is one oil sample of a grid transformer, with the unit's
nameplate and operating data; the text column `target` is the diagnosed condition:

    normal                32%   background gas of ageing oil only
    partial_discharge     12%   hydrogen-dominated gas, wetter insulation
    low_energy_discharge  12%   hydrogen and acetylene; more tap-changer operations
    arcing                12%   acetylene and ethylene, the most gas
    thermal_low           19%   methane and ethane; paper ageing (CO, furans), high load
    thermal_high          12%   ethylene-dominated; warm oil

Columns (units): manufacturer (text, 6 makers; uninformative), cooling (text: ONAN, ONAF,
OFAF, ODAF; weakly informative), rated_mva (MVA, 5-500; uninformative), age_years,
load_pct (% of rating), top_oil_temp_c (deg C), tap_operations (count, ~500 to 3e5),
h2_ppm, ch4_ppm, c2h6_ppm, c2h4_ppm, c2h2_ppm (dissolved gases, ppm: 0.03 to 5e3),
co_ppm, co2_ppm (up to ~2e4), furan_2fal_ppm (2-furaldehyde, 0.008-15), moisture_ppm,
breakdown_kv (dielectric strength, kV), acidity_mgkoh_g (0.009-0.3), ift_mn_m
(interfacial tension, mN/m), and the target. Values run from 1e-2 to 3e5 across columns;
no value is missing.

What separates the classes: the mix of the five hydrocarbon gases (as in Duval's triangle
or IEC 60599 ratios), on top of a background of ageing-oil gas that every unit carries and
that scales with age; incipient faults have made little gas yet and look normal, and every
gas overlaps between classes in absolute ppm, so no single column separates them: ratios
and the paper/loading columns together do. 4% of the labels are replaced by a random other
class (misdiagnoses). A standardised three-layer MLP (128, 64, 32) reaches about 0.86-0.88
test accuracy (a logistic regression ~0.83; the majority class alone: 0.32).

sky_camera.npz: all-sky camera crops of cloud types
---------------------------------------------------
Arrays `X` (2,600 x 1 x 28 x 28, uint8, channels first: 0 dark .. 255 white) and `y`
(int64 class ids 0-5); stored compressed, 1.9 MB:

    0 clear         16%   bare sky (darker at the zenith), at most haze or a tiny wisp
    1 cumulus       19%   two to four puffy heaps with flat, shaded bases
    2 stratus       16%   a grey, nearly featureless deck with slow undulation, some breaks
    3 cirrus        16%   thin fibrous streaks all leaning one way
    4 altocumulus   17%   a regular field of small cloudlets (mackerel sky) over part
    5 cumulonimbus  16%   one towering mass with a bright anvil top and a dark base

Every frame has random exposure (auto-gain), lens vignetting with a shifted centre, sensor
noise, sky haze; a third show the sun's glare, more than half a dark horizon of trees and
roofs at the bottom, and up to three birds or dust spots on the dome. Faint cirrus and
haze look alike, stratus undulation resembles a faint cloudlet field, small cumulonimbus
resemble large cumulus. 3% of the labels are wrong. A small three-block CNN (16, 32, 32
channels, batch norm) reaches about 0.85-0.89 test accuracy (the largest class alone:
0.19). The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

DGA_CLASSES = [
    "normal",
    "partial_discharge",
    "low_energy_discharge",
    "arcing",
    "thermal_low",
    "thermal_high",
]
DGA_SHARES = [0.32, 0.13, 0.12, 0.11, 0.19, 0.13]
# share of the fault gas by gas, per class: H2, CH4, C2H6, C2H4, C2H2 (Duval / IEC 60599)
FAULT_GAS = np.array(
    [
        [0.30, 0.25, 0.30, 0.10, 0.05],  # normal: the slow background ageing of the oil
        [0.86, 0.10, 0.03, 0.007, 0.003],  # partial discharge: hydrogen, a little methane
        [0.45, 0.08, 0.02, 0.10, 0.35],  # low-energy discharge: H2 and acetylene
        [0.30, 0.10, 0.02, 0.30, 0.28],  # arcing: acetylene and ethylene, lots of gas
        [0.10, 0.38, 0.37, 0.14, 0.01],  # thermal < 700 C: methane and ethane
        [0.10, 0.26, 0.08, 0.53, 0.03],  # thermal > 700 C: ethylene
    ]
)
COOLING = ["ONAN", "ONAF", "OFAF", "ODAF"]
COOLING_P = np.array(
    [
        [0.35, 0.35, 0.18, 0.12],
        [0.30, 0.36, 0.20, 0.14],
        [0.30, 0.34, 0.22, 0.14],
        [0.26, 0.36, 0.22, 0.16],
        [0.50, 0.30, 0.12, 0.08],
        [0.40, 0.34, 0.16, 0.10],
    ]
)
MAKERS = ["Arvena", "Boltrak", "Cendor", "Dunmore", "Elstrom", "Faraway"]


def transformer_dga(rows: int = 2400, seed: int = 170_001) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(DGA_CLASSES), size=rows, p=DGA_SHARES)
    n = rows

    def per_class(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[y]

    normal, t12 = y == 0, y == 4  # the classes the background below depends on

    age = np.clip(rng.gamma(4.0, 5.5, size=n), 0.5, 60)
    age[t12] += rng.uniform(0, 8, size=t12.sum())
    mva = np.exp(rng.uniform(np.log(5), np.log(500), size=n))
    cooling = np.array([rng.choice(4, p=COOLING_P[k]) for k in y])
    maker = rng.integers(0, len(MAKERS), size=n)
    load = np.clip(rng.normal(per_class([62, 60, 62, 64, 74, 70]), 16), 10, 135)
    ambient = rng.normal(15, 9, size=n)
    oil_temp = ambient + 0.45 * load + rng.normal(per_class([0, 0, 0, 1, 6, 4]), 7)
    tap_ops = np.exp(rng.normal(np.log(per_class([9e3, 9e3, 2.6e4, 1.5e4, 9e3, 9e3])), 0.9))

    # background gas of ageing oil, everywhere; then the fault's own gas on top
    background = rng.lognormal(np.log(40 + 4 * age), 0.55)
    comp = np.stack([rng.dirichlet(90 * FAULT_GAS[k] + 0.4) for k in y])
    base_comp = np.stack([rng.dirichlet(60 * FAULT_GAS[0] + 0.4) for _ in range(n)])
    severity = rng.lognormal(np.log(per_class([0, 220, 200, 500, 280, 320]) + 1e-9), 0.85)
    severity[normal] = 0.0
    gases = background[:, None] * base_comp + severity[:, None] * comp
    gases *= rng.lognormal(0.0, 0.12, size=gases.shape)  # sampling and analysis error
    h2, ch4, c2h6, c2h4, c2h2 = gases.T
    c2h2 = np.where(rng.random(n) < 0.25, c2h2 * 0.1, c2h2)  # below detection on old kits

    # paper insulation: carbon oxides and furans, driven by age and thermal stress
    paper = age / 20 + per_class([0, 0.1, 0.1, 0.4, 1.2, 0.7]) * rng.uniform(0, 1.5, size=n)
    co = rng.lognormal(np.log(120 + 180 * paper), 0.45)
    co2 = co * rng.lognormal(np.log(per_class([9, 8, 8, 6, 5.5, 6.5])), 0.35)
    furan = rng.lognormal(np.log(0.03 * np.exp(1.2 * paper)), 0.6)
    moisture = rng.lognormal(np.log(per_class([12, 22, 15, 14, 16, 14]) * (1 + age / 40)), 0.4)
    breakdown = np.clip(rng.normal(72 - 0.9 * moisture, 8), 15, 95)
    acidity = rng.lognormal(np.log(0.02 * (1 + age / 10)), 0.45)
    ift = np.clip(rng.normal(40 - 60 * acidity, 3.5), 12, 48)

    label = y.copy()
    flip = rng.random(n) < 0.04
    label[flip] = (y[flip] + rng.integers(1, 6, size=flip.sum())) % 6

    return pd.DataFrame(
        {
            "manufacturer": [MAKERS[k] for k in maker],
            "cooling": [COOLING[k] for k in cooling],
            "rated_mva": np.round(mva, 1),
            "age_years": np.round(age, 1),
            "load_pct": np.round(load, 1),
            "top_oil_temp_c": np.round(oil_temp, 1),
            "tap_operations": np.round(tap_ops).astype(np.int64),
            "h2_ppm": np.round(h2, 1),
            "ch4_ppm": np.round(ch4, 1),
            "c2h6_ppm": np.round(c2h6, 1),
            "c2h4_ppm": np.round(c2h4, 1),
            "c2h2_ppm": np.round(c2h2, 2),
            "co_ppm": np.round(co, 0),
            "co2_ppm": np.round(co2, 0),
            "furan_2fal_ppm": np.round(furan, 3),
            "moisture_ppm": np.round(moisture, 1),
            "breakdown_kv": np.round(breakdown, 1),
            "acidity_mgkoh_g": np.round(acidity, 4),
            "ift_mn_m": np.round(ift, 1),
            "target": [DGA_CLASSES[k] for k in label],
        }
    )


# ----------------------------------------------------------------------------- the images

SKY_CLASSES = ["clear", "cumulus", "stratus", "cirrus", "altocumulus", "cumulonimbus"]
SKY_SHARES = [0.16, 0.19, 0.16, 0.16, 0.17, 0.16]
SIDE = 28


def _smooth_noise(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Zero-mean, unit-std low-frequency noise: white noise low-passed in Fourier space."""
    white = rng.normal(size=(SIDE, SIDE))
    f = np.fft.fftfreq(SIDE)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    smooth = np.real(np.fft.ifft2(np.fft.fft2(white) * np.exp(-((radius * scale) ** 2))))
    return (smooth - smooth.mean()) / (smooth.std() + 1e-9)


def _streaks(rng: np.random.Generator, angle: float, along: float, across: float) -> np.ndarray:
    """Unit-std noise stretched along `angle`: long along it, thin across it (cirrus)."""
    white = rng.normal(size=(SIDE, SIDE))
    fy = np.fft.fftfreq(SIDE)[:, None]
    fx = np.fft.fftfreq(SIDE)[None, :]
    u = fx * np.cos(angle) + fy * np.sin(angle)
    v = -fx * np.sin(angle) + fy * np.cos(angle)
    filt = np.exp(-((u * along) ** 2) - (v * across) ** 2)
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * filt))
    return (out - out.mean()) / (out.std() + 1e-9)


def _puff(yy: np.ndarray, xx: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))


def sky_frame(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 28x28 grayscale all-sky camera crop, values in [0, 1] (1: white cloud)."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    # the sky: darker at the zenith (top), brighter towards the horizon, with haze
    sky = rng.uniform(0.18, 0.34) + rng.uniform(0.05, 0.2) * (yy / SIDE) ** 1.5
    sky += 0.03 * _smooth_noise(rng, 10)
    cloud = np.zeros((SIDE, SIDE))  # cloud cover 0..1
    shade = np.zeros((SIDE, SIDE))  # darkening of cloud bases
    if label == 0:  # clear: perhaps a hint of haze or one tiny wisp
        if rng.random() < 0.3:
            cloud += np.clip(0.12 * _smooth_noise(rng, rng.uniform(5, 9)), 0, None)
        if rng.random() < 0.2:
            cloud += 0.25 * _puff(yy, xx, *rng.uniform(3, SIDE - 3, size=2), rng.uniform(1, 1.8))
    elif label == 1:  # cumulus: a few puffy heaps with flat, shaded bases
        for _ in range(rng.integers(2, 5)):
            cx, cy = rng.uniform(3, SIDE - 3), rng.uniform(6, SIDE - 3)
            width = rng.uniform(2.5, 4.5)
            for _ in range(rng.integers(3, 7)):
                ox, oy = rng.normal(0, width * 0.6), -abs(rng.normal(0, width * 0.5))
                body = _puff(yy, xx, cx + ox, cy + oy, width * rng.uniform(0.5, 0.9))
                cloud = np.maximum(cloud, body * (yy < cy + width * 0.4))
            shade += 0.25 * _puff(yy, xx, cx, cy + width * 0.2, width * 0.7)
    elif label == 2:  # stratus: a grey, featureless deck with slow undulation
        level = rng.uniform(0.45, 0.8)
        cloud += level + 0.09 * _smooth_noise(rng, rng.uniform(6, 12))
        shade += rng.uniform(0.15, 0.4) * np.ones((SIDE, SIDE))
        if rng.random() < 0.25:  # a break in the deck
            cloud *= 1 - 0.7 * _puff(yy, xx, *rng.uniform(4, SIDE - 4, size=2), rng.uniform(3, 6))
    elif label == 3:  # cirrus: thin fibrous streaks, all leaning one way
        angle = rng.uniform(0, np.pi)
        streaks = _streaks(rng, angle, rng.uniform(1.5, 3.0), rng.uniform(12, 20))
        cloud += np.clip(rng.uniform(0.25, 0.45) * streaks, 0, None)
    elif label == 4:  # altocumulus: a regular field of small cloudlets (mackerel sky)
        angle = rng.uniform(0, np.pi)
        spacing = rng.uniform(3.2, 5.2)
        u = xx * np.cos(angle) + yy * np.sin(angle)
        v = -xx * np.sin(angle) + yy * np.cos(angle)
        phase = rng.uniform(0, 2 * np.pi, size=2)
        jitter = 0.6 * _smooth_noise(rng, 6)
        cells = (np.sin(2 * np.pi * u / spacing + phase[0] + jitter) + 1) * (
            np.sin(2 * np.pi * v / (spacing * rng.uniform(1.0, 1.6)) + phase[1]) + 1
        )
        patch = np.clip(0.6 + 0.5 * _smooth_noise(rng, 9), 0, 1)  # the field covers part
        cloud += rng.uniform(0.35, 0.6) * cells / 4 * patch
        shade += 0.12 * cells / 4 * patch
    else:  # cumulonimbus: a towering mass, bright anvil top, very dark base
        cx = rng.uniform(6, SIDE - 6)
        top = rng.uniform(1, 8)
        width = rng.uniform(5, 9)
        tower = np.exp(-(((xx - cx) / width) ** 4)) * (yy > top)
        cloud = np.clip(tower + 0.4 * _smooth_noise(rng, 6) * tower, 0, 1)
        anvil = np.exp(-(((yy - top) / 2.0) ** 2)) * np.exp(-(((xx - cx) / (width * 1.8)) ** 2))
        cloud = np.maximum(cloud, anvil)
        shade += rng.uniform(0.35, 0.6) * tower * np.clip((yy - top) / (SIDE - top), 0, 1)
    cloud = np.clip(cloud, 0, 1)
    bright = rng.uniform(0.75, 1.0)
    image = sky * (1 - cloud) + cloud * (bright - shade * bright)

    # nuisance: the sun (glare), the horizon's trees and roofs, lens vignetting, exposure,
    # birds and dust on the dome, sensor noise
    if rng.random() < 0.35:
        sx, sy = rng.uniform(0, SIDE, size=2)
        image += rng.uniform(0.2, 0.5) * _puff(yy, xx, sx, sy, rng.uniform(1.5, 4.0))
    if rng.random() < 0.55:
        height = rng.uniform(1, 5) + 1.5 * np.sin(xx[0] / rng.uniform(1.5, 4) + rng.uniform(0, 6))
        image[yy > SIDE - 1 - height[None, :]] *= rng.uniform(0.1, 0.35)
    centre = SIDE / 2 + rng.normal(0, 2, size=2)
    vignette = 1 - rng.uniform(0.1, 0.35) * (
        ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (SIDE / 2) ** 2
    )
    image *= vignette
    for _ in range(rng.integers(0, 4)):
        cx, cy = rng.uniform(0, SIDE, size=2)
        image *= 1 - 0.6 * _puff(yy, xx, cx, cy, rng.uniform(0.5, 1.0))
    image *= rng.uniform(0.75, 1.25)  # auto-exposure
    image += rng.normal(0, 0.04, size=image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def sky_camera(count: int = 2600, seed: int = 170_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(SKY_CLASSES), size=count, p=SKY_SHARES)
    X = np.stack([sky_frame(rng, int(k)) for k in y])[:, None]
    flip = rng.random(count) < 0.03
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, len(SKY_CLASSES), size=flip.sum())) % len(SKY_CLASSES)
    return X, y.astype(np.int64)


def main() -> None:
    transformer_dga().to_csv(HERE / "transformer_dga.csv", index=False)
    X, y = sky_camera()
    np.savez_compressed(HERE / "sky_camera.npz", X=X, y=y)


if __name__ == "__main__":
    main()
