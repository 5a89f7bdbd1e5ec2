"""The user data of fault-benchmark round held-out-32: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

transformer_dga.csv: a utility's oil laboratory, the diagnosis of each power transformer
----------------------------------------------------------------------------------------
3,000 rows, 20 columns. Each row is one oil sample drawn from a grid power transformer
and analysed by the utility's oil laboratory: the dissolved gases by headspace gas
chromatography (hydrogen, methane, ethane, ethylene, acetylene, carbon monoxide and
dioxide, oxygen, nitrogen; ppm by volume), the water content (Karl Fischer, ppm), the
acidity (mg KOH/g), the interfacial tension (mN/m), 2-furfuraldehyde (ppm, paper ageing),
the dielectric dissipation factor (tan delta at 90 C, ~1e-4 to 1e-2), the breakdown
voltage (kV), the oil volume of the tank (litres, ~2,000 to ~90,000) and the unit's age.
Two text columns describe the unit: `cooling` (ONAN, ONAF, OFAF) and `preservation`
(conservator, sealed, nitrogen_blanket). The text column `diagnosis` holds the fault the
engineers confirmed (IEC 60599 / Duval triangle classes, checked at inspection):

    normal              27%  low gases, the background of age and load only
    partial_discharge   11%  corona in gas voids: hydrogen dominates, a little methane
    low_energy_discharge 13% sparking: hydrogen and acetylene, little ethylene
    arcing              12%  high-energy discharge: acetylene and ethylene, much hydrogen
    thermal_low         21%  hot spots below 300 C: methane and ethane dominate
    thermal_high        16%  hot spots above 700 C: ethylene dominates, some acetylene

Each fault's gas signature is a set of log-ratios drawn around its class pattern with a
wide spread, scaled by a fault energy that overlaps the normal units' background; gas
escapes faster from free-breathing (conservator) units, the nitrogen blanket dilutes
oxygen, and paper involvement (CO, CO2, furans) follows age and thermal faults. Scales run
from 1e-4 (tan delta) to ~1e5 (nitrogen, oil volume); no value is missing.

pollen28.npz: brightfield microscope crops of pollen grains
-----------------------------------------------------------
3,000 grayscale images (uint8, 1 x 28 x 28) of single pollen grains from an aerobiology
slide, each centred roughly by the segmentation step, with labels `y` (int64) in 6 types:

    0 triporate  (birch-like)   a round grain with three pores on its rim
    1 tricolpate (oak-like)     a slightly oval grain with three furrows (colpi)
    2 echinate   (daisy-like)   a round grain covered in spines
    3 reticulate (lily-like)    an oval grain with a net-like surface
    4 bisaccate  (pine-like)    a body with two air sacs on either side
    5 tetrad     (heath-like)   four grains stuck together

Size, position, rotation, focus (a blur), illumination gradient, contrast, shot noise and
debris vary from crop to crop; pores, furrows and spines are a few pixels wide, so a small
CNN learns the types well but not perfectly.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
CLASSES = [
    "normal",
    "partial_discharge",
    "low_energy_discharge",
    "arcing",
    "thermal_low",
    "thermal_high",
]
SHARES = np.array([0.27, 0.11, 0.13, 0.12, 0.21, 0.16])
# log10 ppm pattern of [H2, CH4, C2H6, C2H4, C2H2] for a fault of unit energy
PATTERN = np.array(
    [
        [1.3, 0.9, 0.8, 0.6, -0.6],  # normal: background
        [2.3, 1.4, 0.8, 0.5, -0.3],  # partial discharge
        [2.0, 1.1, 0.7, 0.9, 1.4],  # low-energy discharge
        [2.1, 1.4, 0.9, 1.8, 1.8],  # arcing
        [1.3, 1.9, 1.8, 1.2, -0.3],  # thermal low
        [1.5, 1.8, 1.2, 2.1, 0.7],  # thermal high
    ]
)
COOLING = ["ONAN", "ONAF", "OFAF"]
PRESERVATION = ["conservator", "sealed", "nitrogen_blanket"]
COLUMNS = [
    "h2_ppm",
    "ch4_ppm",
    "c2h6_ppm",
    "c2h4_ppm",
    "c2h2_ppm",
    "co_ppm",
    "co2_ppm",
    "o2_ppm",
    "n2_ppm",
    "moisture_ppm",
    "acidity_mgkoh_g",
    "ift_mn_m",
    "furan_2fal_ppm",
    "tan_delta",
    "breakdown_kv",
    "oil_volume_l",
    "age_years",
    "cooling",
    "preservation",
    "diagnosis",
]


def _sample(rng: np.random.Generator, label: int) -> list[str]:
    age = rng.uniform(1, 45)
    volume = float(np.exp(rng.normal(np.log(15000), 0.9)))
    volume = float(np.clip(volume, 2000, 90000))
    cooling = COOLING[int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
    preservation = PRESERVATION[int(rng.choice(3, p=[0.55, 0.3, 0.15]))]
    # fault energy in decades: overlaps the background of normal units
    energy = 0.0 if label == 0 else rng.normal(0.0, 0.3)
    shift = rng.normal(0.0, 0.3, size=5)  # per-gas scatter of the signature
    logs = PATTERN[label] + energy + shift
    logs += 0.006 * age  # all gases creep up with age
    logs -= 0.35 * np.log10(volume / 15000)  # dilution in a larger tank
    if preservation == "conservator":
        logs[0] -= 0.2  # hydrogen escapes a free-breathing unit
    h2, ch4, c2h6, c2h4, c2h2 = 10.0**logs
    thermal = label in (4, 5)
    co = 10.0 ** (rng.normal(2.2 + 0.01 * age + (0.25 if thermal else 0.0), 0.3))
    co2 = co * 10.0 ** rng.normal(0.9, 0.2)
    o2 = 10.0 ** rng.normal(
        {"conservator": 4.3, "sealed": 3.4, "nitrogen_blanket": 3.0}[preservation], 0.2
    )
    n2 = 10.0 ** rng.normal(4.75 if preservation != "nitrogen_blanket" else 4.95, 0.08)
    moisture = 10.0 ** rng.normal(1.05 + 0.008 * age, 0.2)
    acidity = 10.0 ** rng.normal(-1.7 + 0.02 * age, 0.25)
    ift = float(np.clip(rng.normal(42 - 0.35 * age, 4), 12, 50))
    furan = 10.0 ** rng.normal(-2.2 + 0.045 * age + (0.3 if thermal else 0.0), 0.4)
    tan_delta = 10.0 ** rng.normal(-3.4 + 0.02 * age + (0.2 if label in (1, 2) else 0.0), 0.3)
    breakdown = float(np.clip(rng.normal(70 - 1.8 * (moisture / 10), 8), 20, 95))
    values = [
        f"{h2:.1f}",
        f"{ch4:.1f}",
        f"{c2h6:.1f}",
        f"{c2h4:.1f}",
        f"{c2h2:.2f}",
        f"{co:.0f}",
        f"{co2:.0f}",
        f"{o2:.0f}",
        f"{n2:.0f}",
        f"{moisture:.1f}",
        f"{acidity:.4f}",
        f"{ift:.1f}",
        f"{furan:.4f}",
        f"{tan_delta:.6f}",
        f"{breakdown:.1f}",
        f"{volume:.0f}",
        f"{age:.1f}",
        cooling,
        preservation,
        CLASSES[label],
    ]
    return values


def transformer_dga(rows: int = 3000, seed: int = 34_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(CLASSES), size=rows, p=SHARES)
    lines = [",".join(COLUMNS)]
    lines += [",".join(_sample(rng, int(label))) for label in labels]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 28
KINDS = ["triporate", "tricolpate", "echinate", "reticulate", "bisaccate", "tetrad"]


def _soft(d: np.ndarray, soft: float = 0.06) -> np.ndarray:
    """1 inside (d < 0), 0 outside, with a soft edge."""
    return 1.0 / (1.0 + np.exp(np.clip(d / soft, -30, 30)))


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _grain(rng: np.random.Generator, kind: int) -> np.ndarray:
    lin = np.linspace(-1, 1, SIZE)
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    cx, cy = rng.normal(0, 0.08, size=2)
    theta = rng.uniform(0, 2 * np.pi)
    c, s = np.cos(theta), np.sin(theta)
    u = c * (xx - cx) + s * (yy - cy)  # grain's own axes
    v = -s * (xx - cx) + c * (yy - cy)
    rho = np.hypot(u, v)
    phi = np.arctan2(v, u)
    r = rng.uniform(0.48, 0.68)
    dark = np.zeros_like(xx)  # optical density of the grain (0: background)
    if kind == 0:  # triporate: round, three pores (bright rings with a dark dot) on the rim
        body = _soft(rho - r)
        dark += 0.55 * body + 0.25 * _soft(np.abs(rho - 0.9 * r) - 0.06)
        for k in range(3):
            a = k * 2 * np.pi / 3 + rng.normal(0, 0.15)
            px, py = 0.9 * r * np.cos(a), 0.9 * r * np.sin(a)
            d = np.hypot(u - px, v - py)
            dark += 0.45 * _soft(d - 0.09, 0.03) - 0.4 * _soft(np.abs(d - 0.15) - 0.04, 0.03)
    elif kind == 1:  # tricolpate: oval, three furrows running in from the rim
        e = rng.uniform(1.0, 1.2)
        d = np.hypot(u / e, v)
        body = _soft(d - r)
        dark += 0.6 * body
        for k in range(3):
            a = k * 2 * np.pi / 3 + rng.normal(0, 0.12)
            along = u * np.cos(a) + v * np.sin(a)
            across = -u * np.sin(a) + v * np.cos(a)
            furrow = _soft(np.abs(across) - 0.05, 0.03) * _soft(0.35 * r - along, 0.05)
            dark -= 0.45 * furrow * body
    elif kind == 2:  # echinate: round with spines, a dotted surface
        n = rng.integers(7, 11)
        spikes = np.maximum(np.cos(n * (phi + rng.uniform(0, 1))), 0) ** 4
        dark += 0.55 * _soft(rho - r * (0.8 + 0.32 * spikes))
        dots = np.cos(14 * u) * np.cos(14 * v)
        dark += 0.25 * (dots > 0.5) * _soft(rho - 0.8 * r)
    elif kind == 3:  # reticulate: oval with a net on its surface
        e = rng.uniform(1.15, 1.45)
        body = _soft(np.hypot(u / e, v) - r)
        f = rng.uniform(11, 15)
        net = (np.abs(np.sin(f * u)) < 0.35) | (np.abs(np.sin(f * v)) < 0.35)
        dark += body * (0.35 + 0.4 * net)
    elif kind == 4:  # bisaccate: a body with two air sacs (lighter, finely netted)
        rb = 0.75 * r
        body = _soft(np.hypot(u / 1.2, v) - rb)
        sacs = np.zeros_like(xx)
        for side in (-1, 1):
            sacs = np.maximum(sacs, _soft(np.hypot(u, v - side * 0.75 * rb) - 0.62 * rb))
        mesh = 0.5 + 0.5 * np.cos(20 * u) * np.cos(20 * v)
        dark += 0.65 * body + (1 - body) * sacs * (0.2 + 0.2 * mesh)
    else:  # tetrad: four grains, three seen round a central one
        rs = 0.45 * r
        centres = [(0.0, 0.0)] + [
            (0.75 * r * np.cos(k * 2 * np.pi / 3), 0.75 * r * np.sin(k * 2 * np.pi / 3))
            for k in range(3)
        ]
        for px, py in centres:
            g = _soft(np.hypot(u - px, v - py) - rs)
            ring = _soft(np.abs(np.hypot(u - px, v - py) - rs) - 0.04)
            dark = np.maximum(dark, 0.55 * g + 0.2 * ring)
    return dark


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    dark = _grain(rng, kind) * rng.uniform(0.7, 1.2)
    # debris: a few small dark specks
    lin = np.linspace(-1, 1, SIZE)
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    for _ in range(rng.integers(0, 4)):
        px, py = rng.uniform(-1, 1, size=2)
        speck = np.hypot(xx - px, yy - py) - rng.uniform(0.03, 0.1)
        dark += rng.uniform(0.2, 0.6) * _soft(speck, 0.03)
    dark = _blur(dark, int(rng.integers(0, 3)))
    light = 0.85 + rng.uniform(-0.12, 0.12) * xx + rng.uniform(-0.12, 0.12) * yy
    img = light * (1.0 - 0.8 * np.clip(dark, 0, 1.2))
    img += rng.normal(0, rng.uniform(0.03, 0.1), size=img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def pollen(count: int = 3000, seed: int = 34_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(KINDS), size=count, p=[0.2, 0.19, 0.17, 0.16, 0.15, 0.13]).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in y])
    return X, y


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """An .npz with a fixed time stamp in its zip headers: the same bytes on every run."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def main() -> None:
    (HERE / "transformer_dga.csv").write_text(transformer_dga(), newline="\n")
    X, y = pollen()
    _write_npz(HERE / "pollen28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
