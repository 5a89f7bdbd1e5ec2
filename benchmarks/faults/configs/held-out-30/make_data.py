"""The user data of fault-benchmark round held-out-30: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

gem_screening.csv: an auction house's intake screening of loose coloured stones
-------------------------------------------------------------------------------
2,800 rows, 14 columns. Each row is one loose coloured stone handed in for a jewellery sale
and screened at intake by a junior gemmologist with desk instruments, before a certificate
lab sees it: the stone's weight and depth, its colour and cut (text), one refractometer
reading and the birefringence seen, the specific gravity from a hydrostatic balance, the
magnetic susceptibility from a handheld meter, the pleochroism seen in a dichroscope
(0-3), the long-wave UV glow and the depth of an absorption band in the blue-green
(490-520 nm) from a handheld spectroscope, the count of inclusions seen at 10x, and the
appraiser's value. The text column `gem` holds the screener's call:

    quartz      24%   RI 1.544, birefringence 0.009, SG 2.65, diamagnetic; amethyst,
                      citrine, smoky and rock crystal; cheap
    beryl       15%   RI ~1.575 (varies with alkalis), birefringence ~0.006, SG ~2.74;
                      aquamarine, emerald (expensive), heliodor, morganite
    tourmaline  18%   RI ~1.622, birefringence ~0.019 (the largest here), SG ~3.08,
                      strong pleochroism, weakly magnetic; every colour
    topaz       15%   RI ~1.612, birefringence ~0.009, SG ~3.54 (the heaviest of the
                      birefringent ones); blue, colourless, imperial yellow
    spinel      12%   RI ~1.716, singly refractive (birefringence 0), SG ~3.60, no
                      pleochroism; red and pink ones glow red under UV (chromium)
    garnet      16%   RI 1.74-1.81 (often over the refractometer's 1.79 limit), singly
                      refractive, SG 3.7-4.2, clearly magnetic (iron); red ones absorb
                      strongly in the blue-green

Columns (units): carat (ct, ~0.1-11.5), depth_mm (~1.6-11), colour (text: colourless,
yellow, pink, red, purple, blue, green, brown), cut (text: faceted, cabochon, rough),
ri_reading (refractive index, ~1.43-1.79, capped at the refractometer's 1.790),
birefringence (0-0.037), sg (specific gravity, 1.9-4.9), mag_susceptibility_si (SI volume
susceptibility, ~-0.003 to 0.007), pleochroism (0-3), uv_lw_glow (0-~3.4, arbitrary
units), absorption_490_520 (absorbance, 0-~1.6), inclusions (a count, 0-17),
appraisal_usd (1-~14,000). Scales run from 1e-3 (birefringence, susceptibility) to 1e4
(the appraisal); no value is missing.

What separates the gems: the refractive index and the SG first, then the birefringence,
magnetism, glow and absorption; colour and cut only shift the odds. The desk readings are
rough: a faceted stone's refractometer reading scatters by +-0.022, a cabochon's spot
reading by +-0.04 (and shows no birefringence), a rough stone's by +-0.03 (a part of its
birefringence); a small stone's SG scatters by up to +-0.7, rough stones may still carry
matrix; the susceptibility meter's noise (+-8e-4) hides all but the garnets' iron; 8% of
spinels and garnets show strain birefringence. Topaz and tourmaline, quartz and beryl,
spinel and garnet overlap most. 4% of the calls are wrong, always to a look-alike. In
scikit-learn, on the standardised columns (text one-hot), a logistic regression reaches
about 0.90 test accuracy, gradient boosting about 0.91; the commonest gem alone: 0.24
(the shares above count the wrong calls as given).

lunar_landforms28.npz: orbital camera crops of six lunar landforms
-------------------------------------------------------------------
Arrays `X` (2,400 x 1 x 28 x 28, uint8, channels first: a 28 x 28 pixel crop of an orbital
camera's image of the lunar surface, grey level the brightness) and `y` (int64 class ids
0-5), stored compressed. Each crop is rendered from a height field by the light of a low
sun, always from the west (the image's left) within +-50 degrees of azimuth, at 14-46
degrees of elevation; slopes facing the sun are bright, those facing away dark. A
planetary geologist labelled the landform at the crop's centre:

    0 fresh_crater      18%   a deep bowl (depth 0.35-0.6 of its radius, 4.5-9 px) with a
                              sharp raised rim and an ejecta apron: a crescent of shadow
                              inside the western wall, a bright eastern wall
    1 degraded_crater   18%   an old crater worn down: shallow, its rim low and rounded, the
                              shading soft and faint
    2 complex_crater    15%   a large crater (radius 8-12 px) with a flat floor and a
                              central peak that casts its own small shadow
    3 crater_chain      15%   three to six small overlapping craters in a row (secondary
                              impacts)
    4 sinuous_rille     16%   a winding, flat-floored channel with steep walls: a dark line
                              on its western wall beside a bright one on its eastern wall
    5 wrinkle_ridge     17%   a broad low winding arch with a narrow crest: the opposite
                              shading to a rille (bright west, dark east) and wider

Every crop has its own position, size, orientation and sun; all carry regolith roughness,
an albedo mottle, zero to several small background craters (which a crater chain must be
told from), camera gain and offset, and noise. Some cases sit between classes: a shallow
fresh crater and a deep degraded one, a large fresh crater and a complex one whose peak is
small, a chain of two or three craters and background craters that happen to line up, a
rille or a ridge near east-west under a sun from the north-west. 3% of the labels are
wrong. A logistic regression on the standardised pixels reaches about 0.42 test accuracy
(the landforms sit anywhere in the crop), a small CNN (trainwell's `cnn`, three conv
blocks with batch norm, 12 epochs) about 0.89; the largest class alone: 0.18. The class
names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

GEMS = ["quartz", "beryl", "tourmaline", "topaz", "spinel", "garnet"]
SHARES = [0.24, 0.15, 0.18, 0.15, 0.12, 0.16]
COLOURS = ["colourless", "yellow", "pink", "red", "purple", "blue", "green", "brown"]
# how often each gem comes in with each colour (rows follow COLOURS)
COLOUR_SHARES = [
    (
        0.22,
        0.18,
        0.06,
        0.00,
        0.30,
        0.00,
        0.06,
        0.18,
    ),  # quartz: rock crystal, citrine, amethyst, smoky
    (
        0.06,
        0.12,
        0.10,
        0.00,
        0.00,
        0.36,
        0.36,
        0.00,
    ),  # beryl: aquamarine, emerald, heliodor, morganite
    (0.00, 0.06, 0.30, 0.10, 0.04, 0.12, 0.30, 0.08),  # tourmaline
    (0.30, 0.20, 0.10, 0.00, 0.00, 0.34, 0.00, 0.06),  # topaz: blue (treated), imperial, colourless
    (0.00, 0.00, 0.24, 0.30, 0.18, 0.18, 0.00, 0.10),  # spinel
    (0.00, 0.04, 0.04, 0.56, 0.12, 0.00, 0.14, 0.10),  # garnet: pyrope-almandine, rhodolite, green
]
CUTS = ["faceted", "cabochon", "rough"]
CUT_SHARES = [
    (0.70, 0.18, 0.12),
    (0.62, 0.26, 0.12),
    (0.66, 0.22, 0.12),
    (0.80, 0.08, 0.12),
    (0.74, 0.14, 0.12),
    (0.58, 0.30, 0.12),
]
# the gem's true constants: (RI low, spread), (birefringence, spread), (SG, spread),
# (magnetic volume susceptibility in SI, spread), pleochroism 0..3, base price in USD/ct
CONSTANTS = [
    ((1.544, 0.001), (0.0090, 0.0003), (2.65, 0.01), (-1.4e-5, 2e-6), 0.6, 30.0),
    ((1.575, 0.006), (0.0060, 0.0012), (2.74, 0.05), (1.0e-4, 8e-5), 1.2, 180.0),
    ((1.622, 0.006), (0.0190, 0.0030), (3.08, 0.06), (3.0e-4, 3e-4), 2.2, 120.0),
    ((1.612, 0.005), (0.0090, 0.0012), (3.54, 0.02), (-1.0e-5, 5e-6), 1.4, 60.0),
    ((1.716, 0.004), (0.0000, 0.0000), (3.60, 0.03), (6.0e-4, 5e-4), 0.0, 400.0),
    ((1.765, 0.025), (0.0000, 0.0000), (3.90, 0.14), (2.5e-3, 1.4e-3), 0.0, 90.0),
]
# the lab's mistakes go to the stones a screener confuses
LOOKALIKES = {0: (1, 3), 1: (0, 2), 2: (1, 3), 3: (2, 0), 4: (5,), 5: (4,)}
COLUMNS = [
    "carat",
    "depth_mm",
    "colour",
    "cut",
    "ri_reading",
    "birefringence",
    "sg",
    "mag_susceptibility_si",
    "pleochroism",
    "uv_lw_glow",
    "absorption_490_520",
    "inclusions",
    "appraisal_usd",
    "gem",
]


def _stone(rng: np.random.Generator, label: int) -> list[str]:
    (ri_m, ri_s), (bi_m, bi_s), (sg_m, sg_s), (mag_m, mag_s), pleo, price = CONSTANTS[label]
    colour = int(rng.choice(len(COLOURS), p=COLOUR_SHARES[label]))
    cut = int(rng.choice(3, p=CUT_SHARES[label]))
    carat = float(np.exp(rng.normal(0.2 if label in (0, 3) else -0.2, 0.75)))
    depth = 4.3 * carat ** (1.0 / 3.0) * rng.uniform(0.8, 1.2)
    ri = rng.normal(ri_m, ri_s)
    bire = max(rng.normal(bi_m, bi_s), 0.0)
    # readings: a table refractometer on a facet (+-0.003), the spot method on a cabochon
    # (+-0.012, no birefringence seen), a rough stone on whatever flat it has (+-0.008)
    if cut == 0:
        ri_read = ri + rng.normal(0.0, 0.022)
        bire_read = bire + abs(rng.normal(0.0, 0.006))
    elif cut == 1:
        ri_read = ri + rng.normal(0.0, 0.040)
        bire_read = abs(rng.normal(0.0, 0.004))
    else:
        ri_read = ri + rng.normal(0.0, 0.030)
        bire_read = bire * rng.uniform(0.3, 1.0) + abs(rng.normal(0.0, 0.005))
    ri_read = min(ri_read, 1.790)  # over the refractometer's limit: read as its limit
    if label in (4, 5) and rng.random() < 0.08:  # strain birefringence (anomalous)
        bire_read += rng.uniform(0.002, 0.008)
    # hydrostatic SG: the smaller the stone, the worse the weighing
    sg = rng.normal(sg_m, sg_s) + rng.normal(0.0, min(0.40 / np.sqrt(carat), 0.7))
    if cut == 2 and rng.random() < 0.2:  # matrix still on a rough stone
        sg -= rng.uniform(0.05, 0.4)
    sg = float(np.clip(sg, 1.9, 4.9))  # the balance's readable range
    mag = rng.normal(mag_m, mag_s) + rng.normal(0.0, 8.0e-4)
    pleochroism = (
        int(np.clip(round(rng.normal(pleo, 0.7)), 0, 3)) if COLOURS[colour] != "colourless" else 0
    )
    glow = 0.02 + rng.gamma(1.2, 0.15)
    if label == 4 and COLOURS[colour] in ("red", "pink"):  # chromium spinel glows red
        glow += rng.uniform(0.8, 2.5)
    if label == 3 and colour in (0, 1) and rng.random() < 0.5:
        glow += rng.uniform(0.2, 0.8)
    # absorption in the blue-green (iron garnets, iron-bearing tourmaline, blue spinel)
    absorb = rng.gamma(1.5, 0.06)
    if label == 5 and colour in (3, 4):
        absorb += rng.uniform(0.3, 1.4)
    elif label in (2, 4) and colour in (5, 6):
        absorb += rng.uniform(0.1, 0.6)
    inclusions = int(rng.poisson([2.0, 4.0, 6.0, 2.5, 3.0, 5.0][label] * (1.0 + 0.5 * (cut > 0))))
    appraisal = price * carat**1.3 * np.exp(rng.normal(0.0, 0.6)) * (0.4 if cut == 2 else 1.0)
    if label == 1 and colour == 6:  # emerald
        appraisal *= rng.uniform(3.0, 15.0)
    return [
        f"{carat:.2f}",
        f"{depth:.1f}",
        COLOURS[colour],
        CUTS[cut],
        f"{ri_read:.3f}",
        f"{bire_read:.4f}",
        f"{sg:.2f}",
        f"{mag:.6f}",
        f"{pleochroism}",
        f"{glow:.2f}",
        f"{absorb:.3f}",
        f"{inclusions}",
        f"{appraisal:.0f}",
        GEMS[label],
    ]


def gem_screening(rows: int = 2800, seed: int = 31_001) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(GEMS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _stone(rng, int(label))
        if flip:  # the screener's wrong call, to a look-alike
            others = LOOKALIKES[int(label)]
            fields[-1] = GEMS[others[int(rng.integers(len(others)))]]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 28
CLASS_SHARES = [0.19, 0.17, 0.15, 0.16, 0.16, 0.17]
_R = np.arange(SIZE, dtype=float)
YY, XX = np.meshgrid(_R, _R, indexing="ij")


def _smooth_noise(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Gaussian-filtered white noise (std 1) with features of about `scale` pixels."""
    f = np.fft.fftfreq(SIZE)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    kernel = np.exp(-2.0 * (np.pi * scale) ** 2 * (fx**2 + fy**2))
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(SIZE, SIZE))) * kernel))
    return field / (field.std() + 1e-9)


def _blur(h: np.ndarray, sigma: float) -> np.ndarray:
    f = np.fft.fftfreq(SIZE)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    kernel = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    return np.real(np.fft.ifft2(np.fft.fft2(h) * kernel))


def _crater(cx, cy, radius, depth, rim, floor=0.0):
    """A crater's height field: a bowl (flat-floored inside `floor` x radius), a raised rim
    and an ejecta apron falling off outside it."""
    r = np.hypot(XX - cx, YY - cy) / radius
    bowl = np.where(
        r < 1.0, -depth * (1.0 - np.clip((r - floor) / (1.0 - floor + 1e-9), 0.0, 1.0) ** 2), 0.0
    )
    ridge = rim * np.exp(-(((r - 1.0) / 0.18) ** 2))
    apron = np.where(r > 1.0, rim * 0.6 * r**-3.0, 0.0)
    return bowl + ridge + apron


def _path(rng, cx, cy, angle, wiggle):
    """Coordinates along (u) and across (v) a sinuous line through (cx, cy)."""
    c, s = np.cos(angle), np.sin(angle)
    u = (XX - cx) * c + (YY - cy) * s
    v = -(XX - cx) * s + (YY - cy) * c
    wave = wiggle * np.sin(u / rng.uniform(2.5, 5.0) + rng.uniform(0.0, 2.0 * np.pi))
    return u, v - wave - rng.uniform(-0.02, 0.02) * u**2


def _landform(rng: np.random.Generator, kind: int) -> np.ndarray:
    h = 0.25 * _smooth_noise(rng, rng.uniform(1.0, 2.5))  # regolith roughness
    for _ in range(int(rng.poisson(2.0))):  # small background craters, in every class
        h += _crater(*rng.uniform(0.0, 28.0, size=2), rng.uniform(0.8, 2.2), 0.8, 0.25)
    cx, cy = rng.uniform(10.0, 18.0, size=2)
    if kind == 0:  # fresh bowl crater: deep, sharp rim
        radius = rng.uniform(4.5, 9.0)
        h += _crater(
            cx, cy, radius, rng.uniform(0.35, 0.6) * radius, rng.uniform(0.08, 0.15) * radius
        )
    elif kind == 1:  # degraded crater: shallow, soft, its rim worn down
        radius = rng.uniform(5.0, 10.0)
        crater = _crater(
            cx, cy, radius, rng.uniform(0.2, 0.4) * radius, rng.uniform(0.03, 0.08) * radius
        )
        h += _blur(crater, rng.uniform(0.8, 1.8))
    elif kind == 2:  # complex crater: flat floor and a central peak
        radius = rng.uniform(8.0, 12.0)
        depth = rng.uniform(0.25, 0.4) * radius
        h += _crater(
            cx, cy, radius, depth, rng.uniform(0.06, 0.1) * radius, floor=rng.uniform(0.4, 0.6)
        )
        peak = np.exp(
            -(
                (
                    np.hypot(XX - cx - rng.normal(0, 0.6), YY - cy - rng.normal(0, 0.6))
                    / rng.uniform(1.0, 2.0)
                )
                ** 2
            )
        )
        h += rng.uniform(0.25, 0.6) * depth * peak
    elif kind == 3:  # crater chain: a row of small overlapping secondaries
        angle = rng.uniform(0.0, np.pi)
        count = int(rng.integers(3, 7))
        spacing = rng.uniform(2.8, 4.5)
        for i in range(count):
            t = (i - (count - 1) / 2.0) * spacing
            r = rng.uniform(1.4, 2.8)
            x = cx + t * np.cos(angle) + rng.normal(0.0, 0.5)
            y = cy + t * np.sin(angle) + rng.normal(0.0, 0.5)
            h += _crater(x, y, r, rng.uniform(0.3, 0.5) * r, 0.12 * r)
    elif kind == 4:  # sinuous rille: a flat-floored, steep-walled channel, winding
        _, v = _path(rng, cx, cy, rng.uniform(0.0, np.pi), rng.uniform(1.0, 3.0))
        width = rng.uniform(1.2, 2.6)
        h -= rng.uniform(1.5, 3.0) / (1.0 + np.exp((np.abs(v) - width) / 0.35))
    else:  # wrinkle ridge: a broad low arch with a narrow crest on one side
        _, v = _path(rng, cx, cy, rng.uniform(0.0, np.pi), rng.uniform(0.5, 2.0))
        h += rng.uniform(1.2, 2.4) * np.exp(-((v / rng.uniform(3.5, 6.0)) ** 2))
        h += rng.uniform(1.2, 2.2) * np.exp(
            -(((v - rng.uniform(-1.5, 1.5)) / rng.uniform(0.7, 1.2)) ** 2)
        )
    # render: the sun always from the west (image left), at a random low elevation
    gy, gx = np.gradient(h)
    az = rng.uniform(-0.9, 0.9)
    el = rng.uniform(0.25, 0.8)
    sun = np.array([-np.cos(el) * np.cos(az), -np.cos(el) * np.sin(az), np.sin(el)])
    norm = np.sqrt(gx**2 + gy**2 + 1.0)
    light = np.clip((-gx * sun[0] - gy * sun[1] + sun[2]) / norm, 0.0, None)
    albedo = 1.0 + 0.12 * _smooth_noise(rng, rng.uniform(2.0, 5.0))
    img = albedo * light / sun[2]
    gain, offset = rng.uniform(70.0, 130.0), rng.uniform(5.0, 40.0)
    img = offset + gain * img + rng.normal(0.0, rng.uniform(4.0, 12.0), size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)[None]


def lunar_landforms(count: int = 2400, seed: int = 31_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=CLASS_SHARES).astype(np.int64)
    X = np.stack([_landform(rng, int(k)) for k in y])
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
    (HERE / "gem_screening.csv").write_text("\n".join(gem_screening()) + "\n")
    X, y = lunar_landforms()
    _save_npz(HERE / "lunar_landforms28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
