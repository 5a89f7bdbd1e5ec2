"""The user data of fault-benchmark round held-out-31: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

honey_lots.csv: a honey packer's intake laboratory, floral source of each lot
-----------------------------------------------------------------------------
3,200 rows, 19 columns. Each row is one lot of honey (a drum or a pallet of buckets)
bought from a beekeeper and sampled at intake by a packer's quality laboratory, before it
is blended and labelled: moisture by refractometer, electrical conductivity, colour on the
Pfund scale, pH and free acidity by titration, the fructose/glucose ratio and proline by
HPLC and photometry, HMF and diastase (freshness and heating), methylglyoxal (MGO, the
manuka marker), viscosity at 20 C, manganese by ICP, specific optical rotation, the pollen
count per gram from microscopy, the lot's age and its mass. Two text columns say how the
lot came in (`processing`: raw, creamed, filtered) and when it was harvested
(`harvest_season`: spring, summer, autumn). The text column `floral_source` holds the
laboratory's call, from the pollen spectrum and the sensory panel:

    acacia     20%   (black locust) very pale, the lowest conductivity, a high
                     fructose/glucose ratio (stays liquid), little pollen, spring
    clover     22%   pale, low conductivity, fructose/glucose near 1.1 (crystallises,
                     often creamed), summer
    chestnut   15%   dark, high conductivity and pH, manganese-rich, bitter, pollen
                     over-represented (tens of thousands a gram), summer
    heather    13%   (ling) amber, wet (moisture ~20%), thixotropic (a jelly: high
                     viscosity), acidic, rich in proline, late summer to autumn
    manuka     12%   dark amber, methylglyoxal 80-1,500 mg/kg in most lots (a fifth are
                     multifloral manuka with little), low diastase, high proline
    honeydew   18%   (forest honey, from aphid secretions) dark, conductive, the only
                     one with a positive optical rotation, little pollen

Columns (units): moisture_pct (%, ~14-24), conductivity_s_m (S/m, ~0.005-0.2), colour_mm
(Pfund mm, 0-150), ph (~3.3-6.2), free_acidity_meq_kg (~3-70), fructose_glucose (~0.9-1.8),
proline_mg_kg (~80-1,600), hmf_mg_kg (~0.3-80), diastase (Schade units, ~2-45), mgo_mg_kg
(0-~2,000), viscosity_pa_s (~1-300), manganese_pct (% w/w, ~1e-4 to 0.03),
specific_rotation_deg (~-30 to +25), pollen_per_g (~10-~170,000), age_months (1-30),
lot_kg (~15-~12,000), processing (text), harvest_season (text), floral_source (target).
Scales run from 1e-4 (manganese) to 1e4-1e5 (lot mass, pollen); no value is missing.

What separates the sources: conductivity, colour, rotation, the sugar ratio and pH first;
MGO, moisture and viscosity for manuka and heather; pollen only partly (filtering strips
90% of it, creaming is done to clover and some acacia). Heating and age raise HMF and
lower diastase in every class; the lot mass says nothing. Chestnut and honeydew,
acacia and clover, heather and manuka overlap most; 4% of the calls are wrong, always to a
look-alike. In scikit-learn, on the standardised columns (text one-hot), a logistic
regression reaches about 0.88 test accuracy; the commonest source alone: 0.23.

blood_smear24.npz: colour crops of white blood cells in stained blood smears
------------------------------------------------------------------------------
Arrays `X` (3,000 x 3 x 24 x 24, uint8, channels first, RGB: a 24 x 24 pixel crop of a
Wright-Giemsa stained peripheral blood smear seen through a microscope camera, one white
cell near its centre) and `y` (int64 class ids 0-5), stored compressed. The background is
pale plasma with pink red cells (each with a paler centre) around and under the white
cell. A haematology technician labelled the white cell:

    0 neutrophil    24%   pale lilac cytoplasm, a nucleus of three to five dark purple
                          lobes joined by thin strands
    1 band          12%   (band neutrophil) the same cytoplasm, an unsegmented nucleus bent
                          into a C or a U of even width
    2 eosinophil    14%   cytoplasm packed with coarse orange-red granules, a nucleus of
                          two lobes
    3 basophil      11%   dark blue-purple granules over the whole cell that hide the
                          nucleus
    4 lymphocyte    22%   a small cell, a round dense nucleus that fills most of it, a
                          thin rim of sky-blue cytoplasm
    5 monocyte      17%   the largest cell, a folded kidney-shaped nucleus, grey-blue
                          cytoplasm with a few clear vacuoles

Every crop has its own position (+-3 px), size, rotation, red-cell crowd, stain batch (the
hues and their strength shift), illumination, focus and camera noise. Cases sit between
classes: a band whose bend is nearly closed and a neutrophil with two lobes, a large
lymphocyte and a small monocyte, a lightly granulated basophil, an eosinophil in a weak
stain. 3% of the labels are wrong, always to a look-alike. A logistic regression on the
standardised pixels reaches about 0.64 test accuracy, a small CNN (trainwell's `cnn`,
three conv blocks with batch norm, 15 epochs) about 0.87; the largest class alone: 0.23.
The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

SOURCES = ["acacia", "clover", "chestnut", "heather", "manuka", "honeydew"]
SHARES = [0.20, 0.22, 0.15, 0.13, 0.12, 0.18]
LOOKALIKES = {0: (1,), 1: (0, 3), 2: (5,), 3: (4, 1), 4: (3, 2), 5: (2,)}
PROCESSING = ["raw", "creamed", "filtered"]
PROCESSING_SHARES = [
    (0.55, 0.15, 0.30),  # acacia
    (0.35, 0.45, 0.20),  # clover
    (0.60, 0.05, 0.35),  # chestnut
    (0.70, 0.10, 0.20),  # heather (pressed, rarely filtered)
    (0.55, 0.35, 0.10),  # manuka
    (0.50, 0.05, 0.45),  # honeydew
]
SEASONS = ["spring", "summer", "autumn"]
SEASON_SHARES = [
    (0.80, 0.20, 0.00),
    (0.10, 0.80, 0.10),
    (0.00, 0.80, 0.20),
    (0.00, 0.35, 0.65),
    (0.10, 0.55, 0.35),
    (0.15, 0.55, 0.30),
]
# per source: (mean, spread) of conductivity S/m, colour mm, pH, free acidity, moisture %,
# fructose/glucose, proline mg/kg, diastase, rotation deg; then manganese % (median),
# pollen per g (median)
CONSTANTS = [
    (
        (0.018, 0.007),
        (18, 12),
        (4.00, 0.30),
        (13, 5),
        (17.0, 1.1),
        (1.52, 0.10),
        (260, 90),
        (11, 4),
        (-16, 5),
        0.0004,
        2200,
    ),
    (
        (0.026, 0.010),
        (38, 16),
        (3.90, 0.28),
        (20, 7),
        (17.3, 1.1),
        (1.16, 0.08),
        (380, 110),
        (17, 6),
        (-15, 5),
        0.0006,
        7000,
    ),
    (
        (0.105, 0.030),
        (100, 22),
        (5.00, 0.40),
        (15, 6),
        (17.4, 1.1),
        (1.42, 0.10),
        (640, 160),
        (24, 7),
        (-7, 6),
        0.0060,
        22000,
    ),
    (
        (0.072, 0.022),
        (82, 22),
        (4.30, 0.30),
        (34, 9),
        (20.2, 1.3),
        (1.30, 0.09),
        (820, 180),
        (23, 7),
        (-12, 5),
        0.0020,
        6000,
    ),
    (
        (0.060, 0.020),
        (86, 22),
        (4.05, 0.30),
        (36, 10),
        (17.8, 1.2),
        (1.32, 0.09),
        (880, 220),
        (11, 5),
        (-11, 5),
        0.0015,
        11000,
    ),
    (
        (0.098, 0.030),
        (110, 22),
        (4.65, 0.35),
        (28, 8),
        (16.6, 1.1),
        (1.24, 0.10),
        (560, 160),
        (22, 7),
        (6, 7),
        0.0045,
        1400,
    ),
]
COLUMNS = [
    "moisture_pct",
    "conductivity_s_m",
    "colour_mm",
    "ph",
    "free_acidity_meq_kg",
    "fructose_glucose",
    "proline_mg_kg",
    "hmf_mg_kg",
    "diastase",
    "mgo_mg_kg",
    "viscosity_pa_s",
    "manganese_pct",
    "specific_rotation_deg",
    "pollen_per_g",
    "age_months",
    "lot_kg",
    "processing",
    "harvest_season",
    "floral_source",
]


def _lot(rng: np.random.Generator, label: int) -> list[str]:
    diastase, mn, pollen = CONSTANTS[label][7], CONSTANTS[label][9], CONSTANTS[label][10]
    processing = int(rng.choice(3, p=PROCESSING_SHARES[label]))
    season = int(rng.choice(3, p=SEASON_SHARES[label]))
    # a blend: every lot carries some nectar of its neighbours, pulling it towards them
    blend = rng.beta(1.2, 6.0)
    other = LOOKALIKES[label][int(rng.integers(len(LOOKALIKES[label])))]
    o = CONSTANTS[other]

    def draw(i: int, low: float, high: float) -> float:
        m = (1.0 - blend) * CONSTANTS[label][i][0] + blend * o[i][0]
        return float(np.clip(rng.normal(m, CONSTANTS[label][i][1]), low, high))

    conductivity = draw(0, 0.005, 0.2)
    colour_mm = draw(1, 0.0, 150.0)
    ph_v = draw(2, 3.3, 6.2)
    acidity = draw(3, 3.0, 70.0)
    moisture = draw(4, 14.0, 24.0)
    fructose_glucose = draw(5, 0.9, 1.8)
    proline_v = draw(6, 80.0, 2000.0)
    rotation = draw(8, -30.0, 25.0)
    age = float(rng.uniform(1.0, 30.0))
    heated = processing == 2 or (processing == 1 and rng.random() < 0.4)
    # freshness: HMF grows with age and heat, diastase decays with them
    hmf = float(np.exp(rng.normal(0.4 + 0.06 * age + (1.0 if heated else 0.0), 0.5)))
    hmf = min(hmf, 80.0)
    dia_m = (1.0 - blend) * diastase[0] + blend * o[7][0]
    dia = rng.normal(dia_m, diastase[1]) * np.exp(-age / 60.0) * (0.7 if heated else 1.0)
    dia = float(np.clip(dia, 2.0, 45.0))
    if label == 4 and rng.random() < 0.8:  # monofloral manuka: methylglyoxal from DHA
        mgo = float(np.exp(rng.normal(np.log(300.0) + 0.015 * age, 0.65)))
    elif label == 4:  # multifloral manuka
        mgo = float(rng.uniform(15.0, 90.0))
    else:
        mgo = float(rng.gamma(1.5, 4.0 + 8.0 * blend * (other == 4)))
    mgo = min(mgo, 2000.0)
    # viscosity: exponential in the water content; heather is a thixotropic gel
    visc = 12.0 * np.exp(-0.75 * (moisture - 17.0)) * np.exp(rng.normal(0.0, 0.25))
    if label == 3:
        visc *= rng.uniform(2.5, 9.0)
    if processing == 1:  # creamed: fine crystals make it stiff
        visc *= rng.uniform(1.5, 3.0)
    visc = float(np.clip(visc, 1.0, 300.0))
    manganese = float(np.exp(rng.normal(np.log((1.0 - blend) * mn + blend * o[9]), 0.55)))
    pollen_count = float(np.exp(rng.normal(np.log((1.0 - blend) * pollen + blend * o[10]), 0.7)))
    if processing == 2:  # filtering strips most of the pollen
        pollen_count *= rng.uniform(0.03, 0.15)
    lot = float(np.exp(rng.normal(np.log(600.0), 1.1)))
    lot = float(np.clip(lot, 15.0, 12000.0))
    return [
        f"{moisture:.1f}",
        f"{conductivity:.4f}",
        f"{colour_mm:.0f}",
        f"{ph_v:.2f}",
        f"{acidity:.1f}",
        f"{fructose_glucose:.3f}",
        f"{proline_v:.0f}",
        f"{hmf:.1f}",
        f"{dia:.1f}",
        f"{mgo:.0f}",
        f"{visc:.1f}",
        f"{manganese:.5f}",
        f"{rotation:.1f}",
        f"{pollen_count:.0f}",
        f"{age:.0f}",
        f"{lot:.0f}",
        PROCESSING[processing],
        SEASONS[season],
        SOURCES[label],
    ]


def honey_lots(rows: int = 3200, seed: int = 32_001) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(SOURCES), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _lot(rng, int(label))
        if flip:  # the laboratory's wrong call, to a look-alike
            others = LOOKALIKES[int(label)]
            fields[-1] = SOURCES[others[int(rng.integers(len(others)))]]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 24
SUPER = 2  # drawn at twice the size and averaged down: smooth edges
N = SIZE * SUPER
CLASS_SHARES = [0.24, 0.12, 0.14, 0.11, 0.22, 0.17]
CELL_LOOKALIKES = {0: (1, 2), 1: (0, 5), 2: (0,), 3: (4, 2), 4: (5, 3), 5: (4, 1)}
_R = (np.arange(N, dtype=float) + 0.5) / SUPER
YY, XX = np.meshgrid(_R, _R, indexing="ij")

PLASMA = np.array([236.0, 228.0, 232.0])
RED_CELL = np.array([222.0, 150.0, 160.0])
NUCLEUS = np.array([88.0, 40.0, 125.0])
CYTOPLASM = {
    0: np.array([222.0, 200.0, 222.0]),  # pale lilac
    1: np.array([222.0, 200.0, 222.0]),
    2: np.array([236.0, 170.0, 150.0]),  # pinkish, under the granules
    3: np.array([190.0, 170.0, 215.0]),
    4: np.array([170.0, 195.0, 235.0]),  # sky blue
    5: np.array([190.0, 190.0, 215.0]),  # grey blue
}
GRANULE = {2: np.array([230.0, 95.0, 60.0]), 3: np.array([60.0, 30.0, 110.0])}


def _disc(cx: float, cy: float, r: float, sx: float = 1.0, sy: float = 1.0, angle: float = 0.0):
    c, s = np.cos(angle), np.sin(angle)
    u = ((XX - cx) * c + (YY - cy) * s) / sx
    v = (-(XX - cx) * s + (YY - cy) * c) / sy
    return np.hypot(u, v) / r


def _blob(d: np.ndarray, soft: float = 0.08) -> np.ndarray:
    """A soft-edged mask from a normalised distance (1 at the edge)."""
    return 1.0 / (1.0 + np.exp(np.clip((d - 1.0) / soft, -60.0, 60.0)))


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    f = np.fft.fftfreq(N)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    kernel = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    return np.real(np.fft.ifft2(np.fft.fft2(img, axes=(0, 1)) * kernel[..., None], axes=(0, 1)))


def _paint(img: np.ndarray, mask: np.ndarray, colour: np.ndarray, strength: float = 1.0):
    a = np.clip(mask * strength, 0.0, 1.0)[..., None]
    return img * (1.0 - a) + colour * a


def _nucleus(rng: np.random.Generator, kind: int, cx: float, cy: float, r: float) -> np.ndarray:
    """The nucleus mask of a white cell of radius r."""
    turn = rng.uniform(0.0, 2.0 * np.pi)
    if kind == 0:  # segmented: 3-5 lobes along an arc, joined by thin strands
        lobes = int(rng.integers(2, 6)) if rng.random() < 0.15 else int(rng.integers(3, 6))
        arc = rng.uniform(2.0, 3.6)
        mask = np.zeros_like(XX)
        pts = []
        for i in range(lobes):
            t = turn + (i / max(lobes - 1, 1) - 0.5) * arc
            px, py = cx + 0.5 * r * np.cos(t), cy + 0.5 * r * np.sin(t)
            pts.append((px, py))
            mask = np.maximum(mask, _blob(_disc(px, py, r * rng.uniform(0.24, 0.32))))
        for (ax, ay), (bx, by) in itertools.pairwise(pts):
            for t in np.linspace(0.0, 1.0, 6):
                mask = np.maximum(
                    mask, _blob(_disc(ax + t * (bx - ax), ay + t * (by - ay), 0.07 * r))
                )
        return mask
    if kind == 1:  # band: an unsegmented C / U of even width
        arc = rng.uniform(2.4, 4.4)
        width = r * rng.uniform(0.15, 0.22)
        mask = np.zeros_like(XX)
        for t in np.linspace(-0.5, 0.5, 14):
            a = turn + t * arc
            mask = np.maximum(
                mask, _blob(_disc(cx + 0.5 * r * np.cos(a), cy + 0.5 * r * np.sin(a), width))
            )
        return mask
    if kind == 2:  # eosinophil: two lobes
        mask = np.zeros_like(XX)
        for sgn in (-1.0, 1.0):
            px = cx + sgn * 0.38 * r * np.cos(turn)
            py = cy + sgn * 0.38 * r * np.sin(turn)
            mask = np.maximum(mask, _blob(_disc(px, py, r * rng.uniform(0.28, 0.36))))
        return mask
    if kind == 3:  # basophil: a pale, lobed nucleus mostly hidden
        return 0.5 * _blob(_disc(cx, cy, 0.5 * r, 1.0, rng.uniform(0.6, 0.9), turn))
    if kind == 4:  # lymphocyte: round, dense, filling most of the cell
        off = rng.uniform(0.0, 0.12) * r
        return _blob(
            _disc(
                cx + off * np.cos(turn),
                cy + off * np.sin(turn),
                r * rng.uniform(0.72, 0.86),
                1.0,
                rng.uniform(0.85, 1.0),
                turn,
            )
        )
    # monocyte: a kidney, a large oval with a bite out of one side
    oval = _blob(_disc(cx, cy, 0.62 * r, 1.0, rng.uniform(0.65, 0.8), turn))
    bx, by = cx + 0.62 * r * np.cos(turn + np.pi / 2), cy + 0.62 * r * np.sin(turn + np.pi / 2)
    bite = _blob(_disc(bx, by, rng.uniform(0.3, 0.45) * r))
    return np.clip(oval - bite, 0.0, 1.0)


def _cell(rng: np.random.Generator, kind: int) -> np.ndarray:
    stain = rng.uniform(0.75, 1.2)  # stain batch strength
    hue = rng.normal(0.0, 10.0, size=3)  # stain batch hue shift
    img = np.broadcast_to(PLASMA + 0.5 * hue, (N, N, 3)).copy()
    # red cells around the white one: pink discs with a paler centre
    for _ in range(int(rng.integers(3, 10))):
        rx, ry = rng.uniform(-3.0, 27.0, size=2)
        rr = rng.uniform(3.2, 4.2)
        d = _disc(rx, ry, rr, 1.0, rng.uniform(0.85, 1.0), rng.uniform(0, np.pi))
        img = _paint(img, _blob(d), RED_CELL + hue, 0.85 * stain)
        img = _paint(img, _blob(d / 0.45, 0.2), PLASMA, 0.35)
    cx, cy = 12.0 + rng.uniform(-3.0, 3.0, size=2)
    radius = {0: 6.2, 1: 6.0, 2: 6.6, 3: 5.8, 4: 4.4, 5: 7.4}[kind] * rng.uniform(0.82, 1.18)
    body = _blob(_disc(cx, cy, radius, 1.0, rng.uniform(0.85, 1.0), rng.uniform(0, np.pi)), 0.05)
    img = _paint(img, body, CYTOPLASM[kind] + hue, 0.95)
    if kind == 5:  # vacuoles
        for _ in range(int(rng.integers(0, 5))):
            a, dr = rng.uniform(0, 2 * np.pi), rng.uniform(0.55, 0.85) * radius
            img = _paint(
                img,
                _blob(_disc(cx + dr * np.cos(a), cy + dr * np.sin(a), rng.uniform(0.5, 0.9))),
                PLASMA,
                0.6,
            )
    nucleus = _nucleus(rng, kind, cx, cy, radius) * body
    chromatin = 0.85 + 0.15 * rng.random((N, N))
    img = _paint(img, nucleus * chromatin, NUCLEUS + hue, stain)
    if kind in (2, 3):  # granules
        count = int(rng.integers(25, 60)) if kind == 2 else int(rng.integers(10, 55))
        gmask = np.zeros_like(XX)
        for _ in range(count):
            a = rng.uniform(0, 2 * np.pi)
            dr = radius * np.sqrt(rng.uniform(0.0, 0.9))
            gmask = np.maximum(
                gmask,
                _blob(
                    _disc(cx + dr * np.cos(a), cy + dr * np.sin(a), rng.uniform(0.45, 0.75)), 0.15
                ),
            )
        img = _paint(img, gmask * body, GRANULE[kind] + hue, 0.9 * stain)
    # focus, downsampling, illumination, camera noise
    img = _blur(img, rng.uniform(0.4, 1.6))
    img = img.reshape(SIZE, SUPER, SIZE, SUPER, 3).mean(axis=(1, 3))
    gain = rng.uniform(0.85, 1.1)
    ramp = 1.0 + rng.uniform(-0.08, 0.08) * (np.arange(SIZE) - 12.0)[None, :, None] / 12.0
    img = img * gain * ramp + rng.normal(0.0, rng.uniform(2.0, 7.0), size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8).transpose(2, 0, 1)


def blood_smear(count: int = 3000, seed: int = 32_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=CLASS_SHARES).astype(np.int64)
    X = np.stack([_cell(rng, int(k)) for k in y])
    wrong = np.flatnonzero(rng.random(count) < 0.03)
    for i in wrong:  # the technician's wrong call, to a look-alike
        others = CELL_LOOKALIKES[int(y[i])]
        y[i] = others[int(rng.integers(len(others)))]
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
    (HERE / "honey_lots.csv").write_text("\n".join(honey_lots()) + "\n")
    X, y = blood_smear()
    _save_npz(HERE / "blood_smear24.npz", X=X, y=y)


if __name__ == "__main__":
    main()
