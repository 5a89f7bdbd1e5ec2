"""Writes the two user data files of held-out-7 (run once; deterministic).

crops.csv: field surveys in mixed units (kg/ha, ppm, pH, mm of rain a year, degC, %, m, ha,
two text columns: soil texture and irrigation) and the crop grown on the field: rice, maize,
wheat, cotton, soybean or sorghum (as in crop-recommendation tables built from soil tests
and weather records).
spectro20.npz: 20x20 spectrogram patches of sound events (rows: frequency bins, high at the
top; columns: time frames; 0..255 energy), one of six kinds: tone, upsweep, downsweep,
harmonic, clicks, noise_burst (as in bioacoustic and machine-sound event detection), on a
noisy background with a faint hum in some patches, X (n, 20, 20) uint8 and y (n,) int64.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent

# per crop, of: rainfall_mm, mean_temp_C, humidity_pct, nitrogen_kg_ha, phosphorus_ppm,
# potassium_ppm, soil_pH, elevation_m
MEAN = {
    "rice": (1750, 26, 80, 110, 25, 180, 6.0, 250),
    "maize": (900, 23, 65, 140, 30, 200, 6.4, 700),
    "wheat": (650, 16, 56, 105, 28, 165, 7.0, 1300),
    "cotton": (760, 27, 52, 95, 34, 310, 7.3, 350),
    "soybean": (1000, 22, 67, 40, 40, 230, 6.5, 550),
    "sorghum": (520, 28, 46, 65, 21, 160, 7.0, 600),
}
SD = {
    "rice": (380, 2.5, 7, 28, 8, 55, 0.5, 200),
    "maize": (220, 3, 9, 32, 10, 60, 0.5, 400),
    "wheat": (170, 3.5, 10, 28, 9, 55, 0.5, 550),
    "cotton": (190, 2.5, 10, 28, 10, 75, 0.6, 250),
    "soybean": (220, 3, 9, 18, 12, 65, 0.45, 330),
    "sorghum": (150, 3, 11, 22, 8, 55, 0.8, 380),
}
TEXTURES = ("clay", "loam", "sandy", "silt")
TEXTURE_P = {
    "rice": (0.6, 0.15, 0.0, 0.25),
    "maize": (0.15, 0.5, 0.15, 0.2),
    "wheat": (0.25, 0.55, 0.05, 0.15),
    "cotton": (0.3, 0.35, 0.3, 0.05),
    "soybean": (0.2, 0.5, 0.05, 0.25),
    "sorghum": (0.15, 0.35, 0.5, 0.0),
}
IRRIGATION = ("rainfed", "canal", "drip")
IRRIGATION_P = {
    "rice": (0.3, 0.65, 0.05),
    "maize": (0.55, 0.3, 0.15),
    "wheat": (0.45, 0.45, 0.1),
    "cotton": (0.35, 0.3, 0.35),
    "soybean": (0.7, 0.2, 0.1),
    "sorghum": (0.8, 0.1, 0.1),
}
COLUMNS = (
    "rainfall_mm",
    "mean_temp_C",
    "humidity_pct",
    "nitrogen_kg_ha",
    "phosphorus_ppm",
    "potassium_ppm",
    "soil_pH",
    "elevation_m",
)
DIGITS = (0, 1, 0, 0, 1, 0, 2, 0)


def crops(n=1800, seed=8101):
    rng = np.random.default_rng(seed)
    names = list(MEAN)
    y = rng.choice(len(names), size=n, p=[0.2, 0.2, 0.18, 0.14, 0.14, 0.14])
    columns = {}
    for j, column in enumerate(COLUMNS):
        mean = np.array([MEAN[name][j] for name in names])[y]
        sd = np.array([SD[name][j] for name in names])[y]
        columns[column] = rng.normal(mean, sd)
    columns["rainfall_mm"] = np.maximum(columns["rainfall_mm"], 120)
    columns["humidity_pct"] = np.clip(columns["humidity_pct"], 12, 99)
    columns["nitrogen_kg_ha"] = np.abs(columns["nitrogen_kg_ha"])
    columns["phosphorus_ppm"] = np.abs(columns["phosphorus_ppm"]) + 2
    columns["potassium_ppm"] = np.abs(columns["potassium_ppm"]) + 20
    columns["elevation_m"] = np.abs(columns["elevation_m"]) + 2
    frame = pd.DataFrame(
        {c: columns[c].round(d) for c, d in zip(COLUMNS, DIGITS, strict=True)}
        | {
            "field_area_ha": np.exp(rng.normal(2.0, 1.2, n)).round(2),  # says nothing
            "soil_texture": [TEXTURES[rng.choice(4, p=TEXTURE_P[names[k]])] for k in y],
            "irrigation": [IRRIGATION[rng.choice(3, p=IRRIGATION_P[names[k]])] for k in y],
            "crop": np.array(names)[y],
        }
    )
    frame.to_csv(OUT / "crops.csv", index=False)
    return frame


KINDS = ("tone", "upsweep", "downsweep", "harmonic", "clicks", "noise_burst")


def _line(rows, freq, amplitude, width=0.7):
    """Energy of a line at (fractional) frequency bin `freq[t]` in each column t."""
    return amplitude * np.exp(-0.5 * ((rows[:, None] - freq[None, :]) / width) ** 2)


def spectrograms(n=1500, seed=8102):
    rng = np.random.default_rng(seed)
    size = 20
    rows = np.arange(size, dtype=float)  # frequency bin, 0 = lowest
    t = np.arange(size, dtype=float)
    y = rng.permutation(np.arange(n) % len(KINDS))
    X = np.zeros((n, size, size), np.uint8)
    for k, label in enumerate(y):
        energy = np.abs(rng.normal(rng.uniform(20, 40), rng.uniform(8, 16), (size, size)))
        if rng.random() < 0.3:  # a faint mains hum at a fixed low bin
            energy += _line(rows, np.full(size, rng.uniform(0, 3)), rng.uniform(20, 45))
        start = rng.integers(0, 7)
        stop = rng.integers(start + 10, size + 1)
        on = (t >= start) & (t < stop)
        amp = rng.uniform(70, 200)
        kind = KINDS[label]
        if kind == "tone":
            f0, drift = rng.uniform(3, 17), rng.uniform(-1.5, 1.5)
            signal = _line(rows, f0 + drift * (t - start) / (stop - start), amp)
        elif kind in ("upsweep", "downsweep"):
            slope = min(rng.uniform(0.5, 1.1), 15 / (stop - start))  # stays in the patch
            slope *= 1 if kind == "upsweep" else -1
            span = slope * (stop - start)
            f0 = rng.uniform(1, 18 - span) if span > 0 else rng.uniform(1 - span, 18)
            signal = _line(rows, f0 + slope * (t - start), amp)
        elif kind == "harmonic":
            f0 = rng.uniform(2.5, 5.5)
            signal = sum(_line(rows, np.full(size, h * f0), amp / h**0.5) for h in (1, 2, 3))
        elif kind == "clicks":
            period = rng.integers(3, 6)
            lo = rng.uniform(0, 6)
            hi = lo + rng.uniform(10, 14)
            band = ((rows >= lo) & (rows <= hi))[:, None]
            beat = ((t - start) % period < 1)[None, :]
            signal = amp * band * beat * rng.uniform(0.7, 1.0, (size, size))
        else:  # noise_burst: a block of random energy in a band
            lo = rng.uniform(0, 10)
            hi = lo + rng.uniform(6, 10)
            band = ((rows >= lo) & (rows <= hi))[:, None]
            signal = amp * band * rng.uniform(0.2, 0.9, (size, size))
        energy += signal * on[None, :]
        X[k] = np.clip(energy[::-1], 0, 255).astype(np.uint8)  # high frequencies at the top
    np.savez_compressed(OUT / "spectro20.npz", X=X, y=y.astype(np.int64))
    return X, y


if __name__ == "__main__":
    f = crops()
    print(f.head(), f.crop.value_counts(), sep="\n")
    X, y = spectrograms()
    print(X.shape, np.bincount(y))
