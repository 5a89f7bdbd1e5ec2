"""The user data of fault-benchmark round held-out-36: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

kiln_firings.csv: a ceramics works' kiln log with the sorter's verdict on each load
-----------------------------------------------------------------------------------
3,000 rows, 21 columns. Each row is one firing of a glaze kiln at a pottery that fires
earthenware, stoneware and porcelain in electric and gas kilns, with the kiln controller's
log, the glaze room's records, the witness cones and a test tile from the load. 18
numeric columns, each in its own unit: the peak temperature the thermocouple read (C),
the final ramp rate (C/h), the soak at peak (min), the cooling rate through the quartz
inversion around 573 C (C/h), the firing's length (h), the load (kg: 15 to ~900), the
ware's wall thickness (mm), the ware's moisture when it was glazed (% by weight), the
glaze room's relative humidity (%), the glaze slurry's specific gravity, the fired glaze's
thickness (mm), the glaze's and the body's thermal expansion (x1e-7 /K), carbon monoxide
in the flue (ppm: tens in oxidation, thousands in a gas kiln's reduction), the witness
cone's bend (degrees), the test tile's water absorption (%) and firing shrinkage (%), and
the firings since the elements or burners were last serviced (a count). Two text
columns: `body` (earthenware, stoneware, porcelain) and `kiln` (electric, gas).
`defect` is the sorter's verdict on the load:

    ok           34%   ware sound; heat work, fit and cooling in their bodies' ranges
    crazing      14%   the glaze expands more than the body (glaze CTE above the body's):
                       a web of fine cracks in the glaze; the thicker the glaze, the worse
    dunting      13%   cooled too fast through the quartz inversion for the wall's
                       thickness: cracks through the body
    underfired   13%   too little heat work for the body (the peak reading less the soak's
                       and the ramp's share, and the thermocouple's drift): cones standing,
                       a porous, little-shrunk tile
    bloating     13%   too much heat work for the body (less is enough in reduction): the
                       tile vitrified, then swelled: absorption ~0 but shrinkage LOW
    crawling     13%   a thick glaze laid on damp ware: the glaze pulls back in beads

No class is one threshold: the peak reading means nothing without the body's maturing
temperature, the soak, the ramp and the old thermocouple's drift (worn elements read high
and ramp slowly); a glaze's expansion only matters against its body's; a cooling rate only
against the wall's thickness and the body; thick glazes and damp ware each occur alone in
sound loads, and humid days dampen the ware. 3% of the labels are wrong (mostly a
look-alike verdict). In scikit-learn (5-fold, standardised columns, text one-hot) a
logistic regression reaches about 0.91 accuracy, a random forest about 0.88 (the verdicts
hang on differences and ratios, which axis-aligned cuts follow poorly); the commonest
class alone 0.35.

tyre_treads32.npz: a tyre retreader's camera on the treads of incoming casings
-----------------------------------------------------------------------------
2,400 grayscale images (uint8, 1 x 32 x 32) of a patch of tyre tread under a ring light,
with labels `y` (int64) in 6 tread designs:

    0 rib          continuous grooves running round the tyre (straight or zigzag)
    1 lug          slanted transverse grooves from the shoulders that stop short,
                   staggered, with solid rubber between them
    2 block        a grid of grooves both ways: staggered rectangular blocks
    3 directional  V-shaped (chevron) grooves, the apex anywhere across the patch
    4 asymmetric   ribs on one side of the patch, blocks on the other
    5 winter       blocks cut by many thin sipes: fine stripes inside every block

The tread's scale (7 to 10 px a block), its skew under the camera (+-10 degrees), the
pattern's phase, the groove width, the wear (shallow grooves: low contrast), the rubber's
tone, the tyre's curvature shading, dust and dirt, focus and sensor noise vary from image
to image. 3% of the labels are wrong (mostly a look-alike design). On the raw pixels (an
80/20 split) a logistic regression reaches about 0.25 test accuracy, a random forest about
0.56, the commonest design alone 0.17; a small CNN about 0.9-0.95.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
DEFECTS = ["ok", "crazing", "dunting", "underfired", "bloating", "crawling"]
SHARES = np.array([0.34, 0.14, 0.13, 0.13, 0.13, 0.13])
LOOKALIKE = {0: [1, 3, 5], 1: [0, 2], 2: [1], 3: [0], 4: [0], 5: [0, 1]}
BODIES = ["earthenware", "stoneware", "porcelain"]
BODY_P = [0.3, 0.45, 0.25]
MATURES = np.array([1100.0, 1240.0, 1285.0])  # C, the body's maturing temperature
BODY_CTE = np.array([72.0, 61.0, 53.0])  # x1e-7 /K
ABSORB = np.array([9.0, 2.0, 0.5])  # %, a well-fired tile's water absorption
SHRINK = np.array([5.5, 11.5, 13.5])  # %, its firing shrinkage
WALL = np.array([7.0, 8.5, 4.0])  # mm, typical ware
DUNT_LIMIT = np.array([700.0, 800.0, 1100.0])  # (C/h) x mm the body tolerates
KILNS = ["electric", "gas"]
COLUMNS = [
    "peak_temp_c",
    "ramp_rate_c_h",
    "soak_min",
    "cool_rate_c_h",
    "firing_hours",
    "load_kg",
    "wall_thickness_mm",
    "ware_moisture_pct",
    "glaze_room_rh_pct",
    "glaze_sg",
    "glaze_thickness_mm",
    "glaze_cte",
    "body_cte",
    "flue_co_ppm",
    "cone_bend_deg",
    "water_absorption_pct",
    "shrinkage_pct",
    "firings_since_service",
    "body",
    "kiln",
    "defect",
]


def _ln(rng: np.random.Generator, sd: float) -> float:
    return float(np.exp(rng.normal(0.0, sd)))


def _firing(rng: np.random.Generator, label: int) -> list[str]:
    body = int(rng.choice(3, p=BODY_P))
    gas = rng.random() < 0.4
    reduction = gas and rng.random() < (0.85 if label == 4 else 0.6)
    load = (300.0 if gas else 60.0) * _ln(rng, 0.5)
    service = float(rng.integers(0, 400 if gas else 250))
    wall = float(np.clip(WALL[body] * _ln(rng, 0.35), 2.0, 25.0))
    ramp = rng.uniform(90, 200) * (1 - (0.0016 * service if not gas else 0.0))
    ramp *= 1 - 0.06 * np.log(load / 100)  # heavy loads heat slowly
    soak = float(rng.choice([0, 10, 15, 20, 30, 45, 60]))
    drift = 0.05 * service if not gas else 0.0  # an aged thermocouple reads high
    # heat work beyond what the body needs, in C-equivalents
    if label == 3:
        work = -rng.uniform(25, 70)
    elif label == 4:
        work = rng.uniform(15, 45) if reduction else rng.uniform(30, 70)
    else:
        work = rng.normal(-4 if reduction else 0, 9)
    peak = MATURES[body] + work - 0.4 * soak + 0.12 * (ramp - 120) + drift + rng.normal(0, 5)
    hours = peak / ramp * 1.7 + soak / 60 + 0.004 * load + rng.normal(0, 0.4)
    cone = float(np.clip(40 + 1.1 * work + rng.normal(0, 12), 0, 90))
    absorb = ABSORB[body] * np.exp(-work / 30) * _ln(rng, 0.25)
    shrink = SHRINK[body] + 0.06 * float(np.clip(work, -70, 25)) + rng.normal(0, 0.6)
    if label == 4:  # vitrified, then swelled with gas: no pores but the tile grew back
        absorb *= rng.uniform(0.1, 0.4)
        shrink -= rng.uniform(2.0, 5.0)
    co = (5000 * _ln(rng, 0.6)) if reduction else (120 if gas else 25) * _ln(rng, 0.5)
    # glaze fit: a sound glaze is a little under the body's expansion, in compression
    body_cte = BODY_CTE[body] + rng.normal(0, 2.5)
    rh = rng.uniform(25, 90)
    sg = rng.uniform(1.35, 1.62)
    thick = 0.55 * (sg - 1) / 0.45 * _ln(rng, 0.25)
    moisture = (0.3 + 0.015 * rh) * _ln(rng, 0.35)
    if label == 1:  # crazing: glaze expansion above the body's
        glaze_cte = body_cte + rng.uniform(1, 14)
        thick *= rng.uniform(1.0, 1.5)
    else:
        glaze_cte = body_cte - rng.uniform(2, 14)
    if label == 5:  # crawling: a thick coat on damp ware
        thick *= rng.uniform(1.4, 2.2)
        moisture *= rng.uniform(1.8, 3.2)
    limit = DUNT_LIMIT[body] / wall
    cool = limit * (rng.uniform(1.15, 2.2) if label == 2 else rng.uniform(0.25, 0.85))
    cool = float(np.clip(cool, 15, 450))
    return [
        f"{peak:.0f}",
        f"{ramp:.0f}",
        f"{soak:.0f}",
        f"{cool:.0f}",
        f"{hours:.1f}",
        f"{load:.0f}",
        f"{wall:.1f}",
        f"{moisture:.2f}",
        f"{rh:.0f}",
        f"{sg:.2f}",
        f"{thick:.2f}",
        f"{glaze_cte:.1f}",
        f"{body_cte:.1f}",
        f"{co:.0f}",
        f"{cone:.0f}",
        f"{absorb:.2f}",
        f"{shrink:.1f}",
        f"{service:.0f}",
        BODIES[body],
        KILNS[int(gas)],
    ]


def kiln_firings(rows: int = 3000, seed: int = 40_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(DEFECTS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.03
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        values = _firing(rng, int(label))
        called = int(label)
        if flip:  # the sorter's wrong verdict: mostly a look-alike
            if rng.random() < 0.75:
                called = int(rng.choice(LOOKALIKE[called]))
            else:
                called = int(rng.choice([k for k in range(len(DEFECTS)) if k != label]))
        lines.append(",".join([*values, DEFECTS[called]]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 32
TREADS = ["rib", "lug", "block", "directional", "asymmetric", "winter"]
CONFUSED = {0: [4], 1: [3], 2: [5, 4], 3: [1], 4: [0, 2], 5: [2]}


def _near(t: np.ndarray) -> np.ndarray:
    """Distance to the nearest whole number."""
    return np.abs(t - np.round(t))


def _line(d: np.ndarray, half: float, px: float) -> np.ndarray:
    """A groove of half-width `half` (tread units) at distance d, edges anti-aliased."""
    return np.clip((half - d) * px + 0.5, 0.0, 1.0)


def _blocks(u: np.ndarray, v: np.ndarray, w: float, px: float, aspect: float) -> np.ndarray:
    column = np.floor(u)
    vv = v / aspect + 0.5 * (column % 2)  # staggered, like bricks
    return np.maximum(_line(_near(u), w, px), _line(_near(vv) * aspect, w, px))


def _pattern(kind: int, u: np.ndarray, v: np.ndarray, px: float, rng) -> np.ndarray:
    """1 in a groove, 0 on the rubber; u across the tread, v round it (tread units)."""
    w = rng.uniform(0.09, 0.14)  # half-width of a groove
    if kind == 0:  # rib: continuous circumferential grooves, maybe zigzag
        zig = rng.uniform(0.0, 0.18) * (2 * _near(v * rng.uniform(0.8, 1.4)) - 0.5)
        return _line(_near(u / 1.2 + zig), w / 1.2, px * 1.2)
    if kind == 1:  # lug: slanted transverse grooves that stop short, staggered
        slope = rng.choice([-1, 1]) * rng.uniform(0.2, 0.5)
        column = np.floor(u / 1.6)
        t = v + slope * u + 0.5 * (column % 2)
        inside = (u / 1.6 - column) < rng.uniform(0.55, 0.75)
        return _line(_near(t), w, px) * inside
    if kind == 2:  # block
        return _blocks(u, v, w, px, rng.uniform(0.7, 1.0))
    if kind == 3:  # directional: chevrons, the apex somewhere across the patch
        apex = rng.uniform(-0.8, 0.8) + np.mean(u)
        slope = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
        t = v + slope * np.abs(u - apex)
        return _line(_near(t * 0.9) / 0.9, w, px)
    if kind == 4:  # asymmetric: ribs on one side, blocks on the other
        split = np.mean(u) + rng.uniform(-0.6, 0.6)
        side = rng.choice([-1, 1])
        ribs = _line(_near(u / 0.8), w / 0.8, px * 0.8)
        blocks = _blocks(u, v, w, px, rng.uniform(0.7, 1.0))
        return np.where(side * (u - split) > 0, ribs, blocks)
    # winter: larger blocks, each cut by thin sipes across it
    blocks = _blocks(u, v, w, px, rng.uniform(0.8, 1.1))
    wave = 0.04 * np.sin(u * 2 * np.pi * 3)  # zigzag sipes
    sipes = _line(_near((v + wave) * rng.uniform(3.0, 4.0)), 0.12, px / 3.5)
    return np.maximum(blocks, 0.8 * sipes)


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    px = rng.uniform(7.0, 10.0)  # pixels per tread unit
    angle = rng.uniform(-10, 10) * np.pi / 180
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(float) - SIZE / 2
    u = (np.cos(angle) * xs + np.sin(angle) * ys) / px + rng.uniform(0, 10)
    v = (-np.sin(angle) * xs + np.cos(angle) * ys) / px + rng.uniform(0, 10)
    groove = _pattern(kind, u, v, px, rng)
    rubber = rng.uniform(0.35, 0.7)
    depth = rng.uniform(0.3, 0.85)  # worn treads: shallow, less dark grooves
    grain = _blur(rng.normal(0, 0.05, size=(SIZE, SIZE)), 2)
    img = rubber * (1 + grain) * (1 - depth * groove)
    for _ in range(int(rng.poisson(1.2))):  # dust and dirt
        cy, cx = rng.uniform(-16, 16, size=2)
        r = rng.uniform(1.5, 4.0)
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r * r))
        img = img + rng.uniform(-0.15, 0.25) * blob
    img = _blur(img, int(rng.choice(3, p=[0.55, 0.35, 0.1])))
    curve = 1 - rng.uniform(0.0, 0.35) * (xs / SIZE * 2 + rng.uniform(-0.3, 0.3)) ** 2
    light = rng.uniform(0.8, 1.2) * curve + rng.uniform(-0.2, 0.2) * ys / SIZE
    img = img * light + rng.normal(0, rng.uniform(0.015, 0.05), size=img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def tyre_treads(count: int = 2400, seed: int = 40_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    p = [0.17, 0.17, 0.17, 0.16, 0.16, 0.17]
    truth = rng.choice(len(TREADS), size=count, p=p).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in truth])
    y = truth.copy()
    for i in np.flatnonzero(rng.random(count) < 0.03):  # the sorter's wrong call
        if rng.random() < 0.8:
            y[i] = rng.choice(CONFUSED[int(truth[i])])
        else:
            y[i] = rng.choice([k for k in range(len(TREADS)) if k != truth[i]])
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
    (HERE / "kiln_firings.csv").write_text(kiln_firings(), newline="\n")
    X, y = tyre_treads()
    _write_npz(HERE / "tyre_treads32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
