"""The user data of fault-benchmark round held-out-33: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

stream_sediments.csv: a geological survey's stream-sediment samples, bedrock of each catchment
--------------------------------------------------------------------------------------------
3,000 rows, 21 columns. Each row is one sample of active stream sediment taken by a regional
geochemical survey at the outlet of a small catchment, sieved, and analysed by the survey's
laboratory: major oxides by X-ray fluorescence (SiO2, Al2O3, CaO, MgO, K2O, Na2O, Fe2O3 in
weight %), the loss on ignition (wt %, carbonate and organic matter), trace elements (Cr,
Ni, Rb, Sr, Zr, Ba in ppm), gold by fire assay (ppb), the median grain size of the sample
(d50, micrometres), the catchment's area upstream of the site (hectares) and the stream
water's electrical conductivity measured on site (microsiemens/cm). Two text columns say
how the sample was taken: `mesh_fraction` (minus80: the sand and silt, minus200: the silt
alone) and `season` (spring, summer, autumn). The text column `bedrock` holds the
lithology that underlies most of the catchment, read off the survey's geological map:

    granite     20%   K2O and Na2O both high, Rb and Ba high, SiO2 ~70%, little Fe, Mg, Cr
    basalt      18%   Fe2O3, CaO and MgO high, Cr and Ni moderate, Sr high, K2O and Rb low
    limestone   16%   CaO and the loss on ignition very high (CO2), Sr high, the rest
                      diluted; the stream water hard (high conductivity)
    shale       20%   Al2O3, K2O, Fe2O3 and Rb high, Na2O low (weathered clay), LOI moderate
    sandstone   16%   SiO2 very high (quartz), Zr high (resistant zircon), the rest diluted
    ultramafic  10%   MgO, Cr and Ni extreme (serpentinite), Al2O3, K2O, Rb, Sr very low

A sediment is a mixture: 40-90% of it comes from the catchment's own bedrock (less in a
large catchment), the rest from the other rocks of the region (a random blend); each
element then scatters by 15-30% (lognormal). Coarse samples (large d50) are diluted by
quartz sand; the minus200 fraction concentrates heavy minerals (Zr, Cr) and clay (Al, K,
Rb); summer's low flow makes the water more conductive. Gold, the season and the catchment's
area say nothing of the bedrock by themselves. Scales run from ~0.05 (gold, ppb; K2O and
Na2O go down to ~0.1 wt %) to 5e4 (catchment hectares); no value is missing. Granite,
shale and sandstone overlap most (mixed catchments); 3.5% of the labels are wrong (a
contact mapped on the wrong side of a catchment), most of them to a look-alike. In
scikit-learn, on the standardised columns (text one-hot), a logistic regression reaches
about 0.94 test accuracy; the commonest bedrock alone: 0.20.

solder_joints32.npz: automated optical inspection crops of SMD solder joints
---------------------------------------------------------------------------
3,000 grayscale images (uint8, 1 x 32 x 32) cut by an AOI machine around one two-terminal
chip resistor (a black ceramic body with metal end caps) on a printed circuit board, seen
from above under ring lighting, with labels `y` (int64) in 6 classes:

    0 good          the dark body between two pads, each end wetted by a smooth, bright
                    fillet that covers its pad
    1 bridge        like good, but a bright band of solder runs from one end across to a
                    neighbour pad
    2 insufficient  the pads' dull copper shows; only a thin, dim line of solder at each end
    3 excess        round, bulging, very bright blobs of solder swallow both ends
    4 missing       two pads of flat, grainy solder paste, no component between them
    5 tombstone     the component stands on one end: its bright end cap and a short dark
                    side on one pad, with a shadow; the other pad holds flat paste

The component's orientation (0/90/180/270 degrees and a few degrees of skew), position,
size, the board's solder-mask texture and copper traces, neighbour pads, white silkscreen
marks, uneven lighting, focus (a blur), specular glints and sensor noise vary from crop to
crop. 3% of the labels are wrong (the operator's wrong call, mostly to a look-alike). On
the raw pixels a logistic regression reaches about 0.78 test accuracy, a random forest
about 0.9; a small CNN about 0.95.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
LITHOLOGIES = ["granite", "basalt", "limestone", "shale", "sandstone", "ultramafic"]
SHARES = np.array([0.20, 0.18, 0.16, 0.20, 0.16, 0.10])
# an end-member sediment of each bedrock:
# SiO2 Al2O3 CaO MgO K2O Na2O Fe2O3 LOI (wt %), Cr Ni Rb Sr Zr Ba (ppm)
ENDMEMBER = np.array(
    [
        [72.0, 14.0, 1.5, 0.6, 4.6, 3.4, 2.2, 1.0, 12, 6, 210, 140, 190, 650],
        [49.0, 15.0, 10.0, 7.0, 0.6, 2.6, 12.0, 1.5, 260, 130, 12, 380, 120, 220],
        [8.0, 1.6, 47.0, 1.6, 0.3, 0.08, 0.7, 40.0, 9, 10, 6, 650, 22, 45],
        [60.0, 17.5, 1.8, 2.5, 3.6, 1.0, 7.0, 7.0, 105, 65, 155, 140, 160, 560],
        [86.0, 5.0, 1.0, 0.5, 1.3, 0.6, 2.0, 1.4, 30, 10, 45, 60, 420, 260],
        [42.0, 2.0, 1.4, 37.0, 0.05, 0.15, 9.0, 9.0, 2600, 2100, 2, 9, 10, 10],
    ]
)
# the lithologies a geologist confuses each one with (the wrong labels' targets)
LOOKALIKE = {0: [3, 4], 1: [5, 3], 2: [3], 3: [0, 1], 4: [0, 3], 5: [1]}
MESH = ["minus80", "minus200"]
SEASONS = ["spring", "summer", "autumn"]
COLUMNS = [
    "sio2_pct",
    "al2o3_pct",
    "cao_pct",
    "mgo_pct",
    "k2o_pct",
    "na2o_pct",
    "fe2o3_pct",
    "loi_pct",
    "cr_ppm",
    "ni_ppm",
    "rb_ppm",
    "sr_ppm",
    "zr_ppm",
    "ba_ppm",
    "au_ppb",
    "d50_um",
    "catchment_ha",
    "water_ec_us_cm",
    "mesh_fraction",
    "season",
    "bedrock",
]
# columns a fine fraction concentrates (heavy minerals, clay), by what factor
FINE = np.array([0.93, 1.15, 1.0, 1.05, 1.12, 0.95, 1.1, 1.1, 1.35, 1.1, 1.15, 1.0, 1.6, 1.05])


def _sample(rng: np.random.Generator, label: int) -> list[float | str]:
    area = float(np.exp(rng.normal(np.log(800), 1.3)))  # hectares
    area = float(np.clip(area, 15, 50000))
    own = rng.uniform(0.45, 0.9) - 0.04 * np.log10(area / 800)  # share from its own bedrock
    own = float(np.clip(own, 0.4, 0.9))
    others = [k for k in range(len(LITHOLOGIES)) if k != label]
    blend = rng.dirichlet(np.ones(len(others)) * 0.7)
    comp = own * ENDMEMBER[label] + (1 - own) * (blend @ ENDMEMBER[others])
    comp = comp * np.exp(rng.normal(0.0, rng.uniform(0.15, 0.3), size=comp.size))
    mesh = int(rng.random() < 0.45)
    if mesh:
        comp = comp * FINE
    d50 = float(np.exp(rng.normal(np.log(90 if mesh else 260), 0.45)))
    quartz = float(np.clip(0.15 * np.log(d50 / 150), 0.0, 0.35))  # coarse: quartz sand
    comp *= 1 - quartz
    comp[0] += 100 * quartz
    comp *= rng.uniform(97.0, 99.5) / comp[:8].sum()  # the oxides and LOI close to ~98%
    season = int(rng.choice(3, p=[0.3, 0.4, 0.3]))
    ec = comp[2] * 9.0 + 35.0 + 0.8 * comp[3]
    ec *= (1.35 if season == 1 else 1.0) * np.exp(rng.normal(0.0, 0.35))
    gold = float(np.exp(rng.normal(np.log(2.0), 1.1)))
    fmt = ["{:.2f}"] * 8 + ["{:.0f}"] * 6
    values: list[float | str] = [f.format(v) for f, v in zip(fmt, comp, strict=True)]
    values += [
        f"{gold:.2f}",
        f"{d50:.0f}",
        f"{area:.1f}",
        f"{ec:.0f}",
        MESH[mesh],
        SEASONS[season],
    ]
    return values


def stream_sediments(rows: int = 3000, seed: int = 36_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(LITHOLOGIES), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.035
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        values = _sample(rng, int(label))
        called = int(label)
        if flip:  # the map's wrong call: mostly a look-alike, sometimes any other rock
            if rng.random() < 0.75:
                called = int(rng.choice(LOOKALIKE[called]))
            else:
                called = int(rng.choice([k for k in range(len(LITHOLOGIES)) if k != label]))
        lines.append(",".join([*map(str, values), LITHOLOGIES[called]]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 32
KINDS = ["good", "bridge", "insufficient", "excess", "missing", "tombstone"]
CONFUSED = {0: [2, 3], 1: [3], 2: [0, 4], 3: [0, 1], 4: [2, 5], 5: [4, 2]}


def _soft(d: np.ndarray, soft: float = 0.04) -> np.ndarray:
    """1 inside (d < 0), 0 outside, with a soft edge."""
    return 1.0 / (1.0 + np.exp(np.clip(d / soft, -30, 30)))


def _box(u: np.ndarray, v: np.ndarray, cu: float, cv: float, hu: float, hv: float) -> np.ndarray:
    """A soft rectangle centred at (cu, cv), half-sizes hu, hv."""
    return _soft(np.maximum(np.abs(u - cu) - hu, np.abs(v - cv) - hv))


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _board(rng: np.random.Generator, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Solder mask: a dim, slightly mottled ground with copper traces under it."""
    img = 0.22 + 0.03 * rng.normal(size=xx.shape)
    img = _blur(img, 1)
    for _ in range(rng.integers(0, 3)):  # traces under the mask, straight or at 45 degrees
        a = rng.choice([0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4])
        off = rng.uniform(-1, 1)
        d = np.abs(np.cos(a) * yy - np.sin(a) * xx - off)
        img += 0.08 * _soft(d - rng.uniform(0.03, 0.08), 0.03)
    return img


def _joint(rng: np.random.Generator, kind: int) -> np.ndarray:
    lin = np.linspace(-1, 1, SIZE)
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    img = _board(rng, xx, yy)
    cx, cy = rng.normal(0, 0.07, size=2)
    theta = rng.integers(0, 4) * np.pi / 2 + rng.normal(0, 0.05)
    c, s = np.cos(theta), np.sin(theta)
    u = (c * (xx - cx) + s * (yy - cy)) / rng.uniform(0.88, 1.12)  # the component's axes
    v = (-s * (xx - cx) + c * (yy - cy)) / rng.uniform(0.88, 1.12)
    body_hu, body_hv = rng.uniform(0.3, 0.36), rng.uniform(0.2, 0.27)
    pad_c, pad_hu, pad_hv = 0.52, rng.uniform(0.2, 0.24), body_hv + rng.uniform(0.05, 0.1)
    pad = [_box(u, v, side * pad_c, 0, pad_hu, pad_hv) for side in (-1, 1)]
    copper = rng.uniform(0.45, 0.55)
    img = img * (1 - pad[0] - pad[1]) + copper * (pad[0] + pad[1])  # bare copper pads
    # neighbour pads (another component's) at the crop's edge, in any class
    if rng.random() < 0.5:
        at, up = rng.choice([-pad_c, pad_c]), rng.choice([-1, 1])
        img += (copper - 0.22) * _box(u, v, at, up * 0.97, 0.18, 0.1)
    grain = 0.06 * rng.normal(size=u.shape)
    paste = [_box(u, v, side * pad_c, 0, pad_hu * 0.85, pad_hv * 0.8) for side in (-1, 1)]
    if kind == 4:  # missing: flat, grainy paste on both pads, nothing between
        for p in paste:
            img = img * (1 - p) + (0.66 + grain) * p
        return img
    tone = rng.uniform(0.04, 0.12)  # the black ceramic body
    if kind == 5:  # tombstone: the part stands on one pad; the other pad keeps its paste
        end = rng.choice([-1, 1])
        at = end * (pad_c - 0.04)
        lean = rng.uniform(0.12, 0.2)  # its body, foreshortened, leaning inwards
        shadow = _box(u, v, at - end * (lean + 0.12), 0.0, 0.1, body_hv)
        img = img * (1 - 0.6 * shadow)
        side = _box(u, v, at - end * lean, 0, lean, body_hv)
        img = img * (1 - side) + tone * side
        cap = _box(u, v, at, 0, 0.08, body_hv * 1.05)
        img = img * (1 - cap) + rng.uniform(0.8, 0.95) * cap  # the upper end cap, bright
        other = paste[0] if end > 0 else paste[1]
        return img * (1 - other) + (0.66 + grain) * other
    body = _box(u, v, 0, 0, body_hu, body_hv)
    img = img * (1 - body) + tone * body
    img += 0.12 * _box(u, v, 0, 0, body_hu * 0.45, body_hv * 0.3)  # its printed marking
    for side in (-1, 1):  # metal end caps
        cap = _box(u, v, side * (body_hu - 0.04), 0, 0.05, body_hv)
        img = img * (1 - cap) + 0.72 * cap
    reach = pad_c + pad_hu - body_hu
    for side in (-1, 1):
        t = side * (u - side * body_hu) / reach  # 0 at the body's end, 1 at the pad's edge
        if kind == 3:  # excess: a round dome that swallows the end, a bright rim
            d = np.hypot((u - side * (body_hu + 0.12)) / 0.32, v / (pad_hv + 0.08))
            dome = _soft(d - 1.0, 0.05)
            shade = 0.55 + 0.4 * np.clip(d, 0, 1) ** 2
            img = img * (1 - dome) + shade * dome
            continue
        if kind == 2:  # insufficient: the copper shows; a thin, dull line of solder
            length = rng.uniform(0.08, 0.25)
            bright = rng.uniform(0.1, 0.25)
        else:  # good and bridge: a smooth, concave fillet over the whole pad
            length = rng.uniform(0.9, 1.05)
            bright = rng.uniform(0.35, 0.45)
        wet = _soft(-t, 0.03) * _soft(t - length, 0.03) * _soft(np.abs(v) - pad_hv * 0.92)
        img = img * (1 - wet) + (copper + bright * (1.0 - 0.5 * np.clip(t / length, 0, 1))) * wet
    if kind == 1:  # bridge: a bright band of solder from one end to a neighbour pad
        end, up = rng.choice([-1, 1]), rng.choice([-1, 1])
        img += (copper - 0.22) * _box(u, v, end * pad_c, up * 0.97, 0.18, 0.1)
        at = end * (pad_c + rng.normal(0, 0.04))
        band = _box(u, v, at, up * 0.62, rng.uniform(0.07, 0.11), 0.36)
        img = img * (1 - band) + rng.uniform(0.75, 0.9) * band
    return img


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    img = _joint(rng, kind)
    lin = np.linspace(-1, 1, SIZE)
    yy, xx = np.meshgrid(lin, lin, indexing="ij")
    for _ in range(rng.integers(0, 3)):  # white silkscreen marks: a short stroke
        px, py = rng.uniform(-1, 1, size=2)
        a = rng.uniform(0, np.pi)
        along = np.cos(a) * (xx - px) + np.sin(a) * (yy - py)
        across = -np.sin(a) * (xx - px) + np.cos(a) * (yy - py)
        img += 0.35 * _soft(np.maximum(np.abs(along) - 0.2, np.abs(across) - 0.03), 0.03)
    for _ in range(rng.integers(0, 3)):  # specular glints
        px, py = rng.uniform(-0.8, 0.8, size=2)
        img += rng.uniform(0.2, 0.5) * _soft(np.hypot(xx - px, yy - py) - 0.04, 0.03)
    img = _blur(img, int(rng.choice(3, p=[0.4, 0.4, 0.2])))
    light = rng.uniform(0.85, 1.15) + rng.uniform(-0.12, 0.12) * xx + rng.uniform(-0.12, 0.12) * yy
    img = img * light + rng.normal(0, rng.uniform(0.02, 0.06), size=img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def solder_joints(count: int = 3000, seed: int = 36_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    p = [0.22, 0.15, 0.17, 0.15, 0.15, 0.16]
    truth = rng.choice(len(KINDS), size=count, p=p).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in truth])
    y = truth.copy()
    for i in np.flatnonzero(rng.random(count) < 0.03):  # the operator's wrong call
        if rng.random() < 0.8:
            y[i] = rng.choice(CONFUSED[int(truth[i])])
        else:
            y[i] = rng.choice([k for k in range(len(KINDS)) if k != truth[i]])
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
    (HERE / "stream_sediments.csv").write_text(stream_sediments(), newline="\n")
    X, y = solder_joints()
    _write_npz(HERE / "solder_joints32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
