"""The user data of fault-benchmark round held-out-34: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

oil_samples.csv: used-engine-oil analyses of a mine's haul-truck fleet
----------------------------------------------------------------------
3,000 rows, 22 columns. Each row is one sample of crankcase oil drawn from a haul truck's
diesel engine and sent to an oil-analysis laboratory. 19 numeric columns, each in its own
unit: the hours the oil has been in the engine (`hours_on_oil`) and the engine's total
hours (`engine_hours`, 500 to ~6e4); wear and contaminant metals by ICP spectrometry (Fe,
Cr, Cu, Pb, Al, Si, Na, K in ppm); water by Karl Fischer titration (ppm); glycol by gas
chromatography (% by volume, ~1e-3 when there is none); the kinematic viscosity at 100 C
(cSt); fuel dilution by GC (%); the total base number (mg KOH/g); oxidation by FTIR
(A/cm); soot by FTIR (%); the PQ index of ferrous debris; and the particle count above
4 um (per ml, up to ~1e5). Two text columns: `oil_grade` (15W-40 mineral, 10W-30, 5W-40
synthetic) and `truck_model` (T190, T240, T360: engines of different size and make).
`condition` is the tribologist's call:

    normal          35%   wear metals accumulate with the oil's hours and the engine's age
    dust_ingress    15%   a leaking air intake: Si AND Al up together, in the ratio of the
                          pit's dust (Si ~3-5 x Al), a little abrasive Fe and Cr
    coolant_leak    13%   coolant in the oil: water AND the coolant's inhibitor (K; Na in
                          the T360, which runs a sodium-borate coolant), glycol sometimes
    fuel_dilution   13%   a leaking injector: the viscosity 20-35% below its grade's value,
                          the GC fuel figure up (noisily)
    bearing_wear    12%   Pb AND Cu far above the engine's wear (Al in the T360, whose
                          bearings are aluminium-tin), PQ up; worn engines only
    oxidised        12%   an overdue drain or a hot engine: oxidation high for the oil's
                          hours, TBN spent, the oil thicker

No class is one threshold: each marker also shows up alone in normal oil, so only its
combination with another column (or with the grade and truck model) tells. Some batches
of 15W-40 carry a potassium-borate additive (K without water); condensation brings water
without K in a quarter of the trucks; the 10W-30's detergent is sodium; the 5W-40 carries
silicone antifoam, and the T240's gasket maker bleeds Si into mineral oil (Si without
Al); the T360 sheds Al in normal wear; engines under 6,000 h leach Cu from a new oil
cooler and bed in lead-bronze bushings, and rebuilt engines over 40,000 h do the same (Pb
and Cu without a bearing failing); the T240's pump shears the synthetic's polymer
(viscosity low without fuel); 15W-40 topped up with 10W-30 is thin but carries its
sodium; the T360 runs hot and ages mineral oil three times as fast. 3.5% of the labels
are wrong (mostly a look-alike call, e.g. early bearing wear called normal). In
scikit-learn (5-fold, standardised columns, text one-hot) a logistic regression reaches
about 0.88 accuracy, a random forest about 0.92; the commonest class alone: 0.36.

agar_colonies32.npz: photographs of single bacterial colonies on agar plates
-----------------------------------------------------------------------------
2,700 grayscale images (uint8, 1 x 32 x 32) cropped by a colony picker's camera around one
colony on an agar plate, with labels `y` (int64) in the 6 textbook colony forms:

    0 circular      a round, domed colony with a smooth (entire) edge
    1 irregular     a flat colony with a lobed, wavy edge
    2 filamentous   a small core with many thin, curling threads radiating out
    3 rhizoid       a core with a few thick, root-like branches that fork
    4 punctiform    a cluster of pin-point colonies, each a tiny dot
    5 concentric    a target: bright and dim rings around a centre (swarming growth)

The colony's size, position, rotation, brightness and contrast against the medium, the
medium's tone and a lighting gradient, the rim of the Petri dish cutting a corner, air
bubbles, bits of neighbour colonies at the edge, focus (a blur) and sensor noise vary from
crop to crop. 3% of the labels are wrong (mostly a look-alike form). On the raw pixels (an 80/20
split) a logistic regression reaches about 0.41 test accuracy, a random forest about
0.65, the commonest form alone 0.19; a small CNN about 0.84.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
CONDITIONS = ["normal", "dust_ingress", "coolant_leak", "fuel_dilution", "bearing_wear", "oxidised"]
SHARES = np.array([0.35, 0.15, 0.13, 0.13, 0.12, 0.12])
LOOKALIKE = {0: [4, 5, 3], 1: [0, 4], 2: [0, 3], 3: [0, 5], 4: [0, 1], 5: [0, 3]}
GRADES = ["15W-40", "10W-30", "5W-40"]
GRADE_P = [0.5, 0.25, 0.25]
NEW_VISC = np.array([14.6, 11.2, 13.9])  # cSt at 100 C, fresh oil
NEW_TBN = np.array([10.5, 9.0, 12.0])
NEW_NA = np.array([4.0, 45.0, 8.0])  # ppm, the detergent package
NEW_SI = np.array([3.0, 5.0, 40.0])  # ppm, silicone antifoam
OX_RATE = np.array([1.0, 1.1, 0.35])  # the synthetic oil oxidises slower
MODELS = ["T190", "T240", "T360"]
MODEL_P = [0.4, 0.35, 0.25]
SUMP = np.array([1.0, 1.3, 1.7])  # sump volume (relative): dilutes the same wear
COLUMNS = [
    "hours_on_oil",
    "engine_hours",
    "fe_ppm",
    "cr_ppm",
    "cu_ppm",
    "pb_ppm",
    "al_ppm",
    "si_ppm",
    "na_ppm",
    "k_ppm",
    "water_ppm",
    "glycol_pct",
    "visc100_cst",
    "fuel_pct",
    "tbn_mgkoh",
    "oxidation_abs_cm",
    "soot_pct",
    "pq_index",
    "particles_4um_ml",
    "oil_grade",
    "truck_model",
    "condition",
]


def _ln(rng: np.random.Generator, sd: float) -> float:
    return float(np.exp(rng.normal(0.0, sd)))


def _sample(rng: np.random.Generator, label: int) -> list[str]:
    grade = int(rng.choice(3, p=GRADE_P))
    model = int(rng.choice(3, p=MODEL_P))
    hours = float(np.clip(np.exp(rng.normal(np.log(250), 0.25)), 30, 1500))
    if label == 5 and rng.random() < 0.5:  # an overdue drain
        hours = float(np.clip(hours * rng.uniform(1.3, 2.2), 150, 1500))
    if label != 5 and grade == 2 and rng.random() < 0.5:  # extended drains on synthetic oil
        hours = float(np.clip(hours * rng.uniform(1.4, 2.4), 150, 1500))
    engine = float(np.clip(np.exp(rng.normal(np.log(14000), 0.9)), 500, 62000))
    if label == 4:  # bearings fail in worn engines
        engine = float(np.clip(np.exp(rng.normal(np.log(19000), 0.3)), 8000, 38000))
    age = 0.8 + 0.4 * min(engine / 30000, 1.7)  # older engines wear faster
    dose = hours * age / SUMP[model]  # the normal wear the oil holds, per unit of rate
    fe = 0.09 * dose * _ln(rng, 0.25)
    cr = 0.006 * dose * _ln(rng, 0.3)
    cu = 0.010 * dose * _ln(rng, 0.35) + 0.5
    pb = 0.008 * dose * _ln(rng, 0.35) + 0.3
    al = 0.012 * dose * _ln(rng, 0.3) + 0.4
    si = NEW_SI[grade] * _ln(rng, 0.4) + 0.02 * dose * _ln(rng, 0.35)
    na = NEW_NA[grade] * _ln(rng, 0.25) + 1.0
    k = 1.5 * _ln(rng, 0.5) + 0.004 * dose * _ln(rng, 0.5)
    water = 250 * _ln(rng, 0.4)
    glycol = 0.001 * _ln(rng, 0.6)
    visc = NEW_VISC[grade] * (1 + 0.00015 * hours) * _ln(rng, 0.03)
    fuel = 0.6 * _ln(rng, 0.7)
    tbn = NEW_TBN[grade] * np.exp(-hours / 800 * _ln(rng, 0.25))
    if model == 2 and grade == 0:
        tbn *= 0.8
    hot = 3.0 if (model == 2 and grade == 0) else 1.0  # the T360 runs hot: mineral oil ages
    ox = 4.0 + 0.022 * hours * OX_RATE[grade] * hot * _ln(rng, 0.2)
    soot = 0.0022 * hours * age * _ln(rng, 0.4)
    pq = 3 + 0.05 * dose * _ln(rng, 0.5)
    particles = 2500 * _ln(rng, 0.6) * (1 + hours / 500)
    if model == 1 and grade == 2:  # the T240's gear-driven pump shears the synthetic's polymer
        visc *= rng.uniform(0.76, 0.88)
    if model == 1 and grade == 0:  # the T240's silicone gasket maker bleeds into mineral oil
        si += rng.uniform(20, 80)
    if engine < 6000 and rng.random() < 0.8:  # a new oil cooler leaches copper
        cu += rng.uniform(8, 50)
    if engine < 6000 and model != 2:  # lead-bronze bushings bedding in
        pb += rng.uniform(8, 45)
    if engine > 40000 and model != 2 and rng.random() < 0.8:  # rebuilt: new bearings bed in
        pb += rng.uniform(8, 45)
        cu += rng.uniform(5, 30)
    if model == 2:  # aluminium-tin bearings shed some aluminium in normal wear
        al += rng.uniform(5, 30)
    if grade == 0 and rng.random() < 0.5:  # a batch with a potassium-borate additive
        k += rng.uniform(15, 100)
    if label == 0 and grade == 0 and rng.random() < 0.25:  # topped up with 10W-30
        visc *= rng.uniform(0.78, 0.9)
        na += rng.uniform(15, 40)
        tbn *= 0.95
    if label in (0, 3, 5) and rng.random() < 0.3:  # condensation: water without coolant
        water *= rng.uniform(3, 16)
    if label == 1:  # dust: Si and Al together in the dust's ratio, abrasive wear
        dust = rng.uniform(5.0, 20.0)
        al += dust
        si += dust * rng.uniform(3.0, 5.0)
        k += dust * 0.3  # feldspar
        fe += rng.uniform(0, 6)
        cr += rng.uniform(0, 0.8)
        particles *= rng.uniform(1.5, 3.0)
    elif label == 2:  # coolant: K or Na (the inhibitor) with water, sometimes glycol
        leak = rng.uniform(0.3, 1.5)
        if model == 2:  # the T360 runs a sodium-borate coolant: Na, little K
            na += leak * rng.uniform(30, 90)
            k += leak * rng.uniform(0.5, 2)
        else:  # the others an inhibitor with potassium
            k += leak * rng.uniform(20, 60)
            na += leak * rng.uniform(1, 5)
        water += leak * rng.uniform(800, 2500)
        if rng.random() < 0.5:
            glycol += leak * rng.uniform(0.01, 0.1)
        tbn *= rng.uniform(0.75, 0.95)
        visc *= rng.uniform(1.0, 1.06)
    elif label == 3:  # fuel: the viscosity falls; the GC figure is noisy
        loss = rng.uniform(0.2, 0.35)
        visc *= 1 - loss
        fuel = fuel * 0.6 + loss * rng.uniform(8, 18) * _ln(rng, 0.3)
        tbn *= rng.uniform(0.85, 1.0)
    elif label == 4:  # bearings: their metals far above the engine's wear, PQ up
        if model == 2:  # the T360's bearings are aluminium-tin: Al, not Pb or Cu
            al += rng.uniform(15, 50)
        else:  # copper-lead bearings
            pb += rng.uniform(8, 40)
            cu += rng.uniform(8, 40)
        pq += rng.uniform(15, 60)
    elif label == 5:  # oxidation: high for the hours, TBN spent, thicker oil
        ox += rng.uniform(10, 30)
        tbn *= rng.uniform(0.6, 0.85)
        visc *= rng.uniform(1.03, 1.12)
    values = [
        f"{hours:.0f}",
        f"{engine:.0f}",
        f"{fe:.1f}",
        f"{cr:.2f}",
        f"{cu:.1f}",
        f"{pb:.2f}",
        f"{al:.2f}",
        f"{si:.1f}",
        f"{na:.1f}",
        f"{k:.2f}",
        f"{water:.0f}",
        f"{glycol:.4f}",
        f"{visc:.2f}",
        f"{fuel:.2f}",
        f"{tbn:.2f}",
        f"{ox:.1f}",
        f"{soot:.3f}",
        f"{pq:.0f}",
        f"{particles:.0f}",
        GRADES[grade],
        MODELS[model],
    ]
    return values


def oil_samples(rows: int = 3000, seed: int = 38_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(CONDITIONS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.035
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        values = _sample(rng, int(label))
        called = int(label)
        if flip:  # the tribologist's wrong call: mostly a look-alike
            if rng.random() < 0.75:
                called = int(rng.choice(LOOKALIKE[called]))
            else:
                called = int(rng.choice([k for k in range(len(CONDITIONS)) if k != label]))
        lines.append(",".join([*values, CONDITIONS[called]]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 32
FORMS = ["circular", "irregular", "filamentous", "rhizoid", "punctiform", "concentric"]
CONFUSED = {0: [1, 5], 1: [0, 3], 2: [3], 3: [2, 1], 4: [1], 5: [0]}


def _soft(d: np.ndarray, soft: float = 0.04) -> np.ndarray:
    """1 inside (d < 0), 0 outside, with a soft edge."""
    return 1.0 / (1.0 + np.exp(np.clip(d / soft, -30, 30)))


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _segments(xx: np.ndarray, yy: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Distance from every pixel to a polyline (k x 2 points)."""
    a, b = pts[:-1], pts[1:]
    px, py = xx[..., None], yy[..., None]
    dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    t = ((px - a[:, 0]) * dx + (py - a[:, 1]) * dy) / np.maximum(dx * dx + dy * dy, 1e-9)
    t = np.clip(t, 0, 1)
    return np.hypot(px - a[:, 0] - t * dx, py - a[:, 1] - t * dy).min(-1)


def _walk(rng, start, angle, length, steps, wiggle) -> np.ndarray:
    pts = [np.array(start, dtype=float)]
    for _ in range(steps):
        angle += rng.normal(0, wiggle)
        pts.append(pts[-1] + length / steps * np.array([np.cos(angle), np.sin(angle)]))
    return np.array(pts)


def _colony(rng: np.random.Generator, kind: int, xx, yy) -> np.ndarray:
    """The colony's density (0 outside, ~1 in its body), centred near (cx, cy)."""
    cx, cy = rng.normal(0, 0.06, size=2)
    u, v = xx - cx, yy - cy
    r = np.hypot(u, v)
    th = np.arctan2(v, u) + rng.uniform(0, 2 * np.pi)
    size = rng.uniform(0.7, 1.2)
    if kind == 0:  # circular: a smooth dome
        rad = 0.42 * size
        dome = np.sqrt(np.clip(1 - (r / rad) ** 2, 0, 1))
        return (0.55 + 0.45 * dome) * _soft(r - rad, 0.03)
    if kind == 1:  # irregular: lobes and waves on the edge, flat body
        rad = 0.42 * size * (1 + rng.normal(0, 0.03))
        edge = np.ones_like(th)
        for k in range(2, 7):
            edge += rng.uniform(0.05, 0.16) * np.cos(k * th + rng.uniform(0, 2 * np.pi))
        return 0.85 * _soft(r - rad * edge, 0.03) * (1 + 0.08 * rng.normal(size=r.shape))
    if kind == 2:  # filamentous: a small core, many thin threads
        core = 0.13 * size
        img = 0.9 * _soft(r - core, 0.03)
        for _ in range(int(rng.integers(14, 26))):
            a = rng.uniform(0, 2 * np.pi)
            pts = _walk(
                rng,
                (cx + core * np.cos(a), cy + core * np.sin(a)),
                a,
                rng.uniform(0.35, 0.6) * size,
                8,
                0.35,
            )
            img = np.maximum(
                img, rng.uniform(0.45, 0.75) * _soft(_segments(xx, yy, pts) - 0.012, 0.02)
            )
        return img
    if kind == 3:  # rhizoid: thick root-like branches that fork
        core = 0.14 * size
        img = 0.95 * _soft(r - core, 0.03)
        for _ in range(int(rng.integers(4, 7))):
            a = rng.uniform(0, 2 * np.pi)
            main = _walk(rng, (cx, cy), a, rng.uniform(0.4, 0.65) * size, 5, 0.15)
            img = np.maximum(img, 0.85 * _soft(_segments(xx, yy, main) - 0.04, 0.025))
            for j in rng.choice(np.arange(2, 5), size=int(rng.integers(1, 3)), replace=False):
                side = a + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
                twig = _walk(rng, main[j], side, rng.uniform(0.15, 0.3) * size, 3, 0.2)
                img = np.maximum(img, 0.8 * _soft(_segments(xx, yy, twig) - 0.028, 0.025))
        return img
    if kind == 4:  # punctiform: many pin-point colonies in a patch
        img = np.zeros_like(r)
        spread = rng.uniform(0.3, 0.55) * size
        for _ in range(int(rng.integers(8, 18))):
            px, py = np.array([cx, cy]) + rng.normal(0, spread / 1.6, size=2)
            d = np.hypot(xx - px, yy - py)
            img = np.maximum(img, rng.uniform(0.8, 1.0) * _soft(d - rng.uniform(0.05, 0.08), 0.02))
        return img
    # concentric: rings of growth around a centre
    rad = 0.5 * size
    period = rng.uniform(0.13, 0.2)
    ring = 0.5 + 0.5 * np.cos(2 * np.pi * r / period + rng.uniform(0, 2 * np.pi))
    return (0.3 + 0.65 * ring) * _soft(r - rad, 0.03)


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    lin = np.linspace(-1, 1, SIZE)
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    medium = rng.uniform(0.25, 0.45)
    img = medium + 0.02 * _blur(rng.normal(size=xx.shape), 2)
    contrast = rng.uniform(0.3, 0.6) * rng.choice([1.0, -0.7], p=[0.92, 0.08])
    img = img + contrast * _colony(rng, kind, xx, yy)
    if rng.random() < 0.35:  # the dish's rim cuts a corner
        ang = rng.uniform(0, 2 * np.pi)
        cx, cy = 2.3 * np.cos(ang), 2.3 * np.sin(ang)
        d = np.hypot(xx - cx, yy - cy) - rng.uniform(1.3, 1.6)
        img = img * (1 - 0.5 * _soft(d, 0.05)) + 0.25 * _soft(np.abs(d) - 0.03, 0.03)
    for _ in range(int(rng.integers(0, 3))):  # a neighbour colony at the edge
        ang = rng.uniform(0, 2 * np.pi)
        px, py = 1.05 * np.cos(ang), 1.05 * np.sin(ang)
        img += rng.uniform(0.15, 0.4) * _soft(
            np.hypot(xx - px, yy - py) - rng.uniform(0.1, 0.25), 0.03
        )
    for _ in range(int(rng.integers(0, 3))):  # air bubbles: a thin bright ring
        px, py = rng.uniform(-0.9, 0.9, size=2)
        rad = rng.uniform(0.04, 0.1)
        img += 0.2 * _soft(np.abs(np.hypot(xx - px, yy - py) - rad) - 0.015, 0.02)
    img = _blur(img, int(rng.choice(3, p=[0.45, 0.4, 0.15])))
    light = rng.uniform(0.8, 1.2) + rng.uniform(-0.15, 0.15) * xx + rng.uniform(-0.15, 0.15) * yy
    img = img * light + rng.normal(0, rng.uniform(0.015, 0.045), size=img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def agar_colonies(count: int = 2700, seed: int = 38_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    p = [0.19, 0.17, 0.16, 0.16, 0.15, 0.17]
    truth = rng.choice(len(FORMS), size=count, p=p).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in truth])
    y = truth.copy()
    for i in np.flatnonzero(rng.random(count) < 0.03):  # the microbiologist's wrong call
        if rng.random() < 0.8:
            y[i] = rng.choice(CONFUSED[int(truth[i])])
        else:
            y[i] = rng.choice([k for k in range(len(FORMS)) if k != truth[i]])
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
    (HERE / "oil_samples.csv").write_text(oil_samples(), newline="\n")
    X, y = agar_colonies()
    _write_npz(HERE / "agar_colonies32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
