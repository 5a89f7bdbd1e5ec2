"""The user data of fault-benchmark round held-out-37: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

coffee_roasts.csv: a speciality roastery's roast logs with the cupper's verdict
------------------------------------------------------------------------------
2,400 rows, 22 columns. Each row is one batch of green coffee roasted on one of the
roastery's machines (gas drum roasters, from a 1 kg sample roaster to a 60 kg production
one, or hot-air fluid-bed roasters whose probe reads the air, ~14 C above the beans), as
the roasting software logged it, with the lab's colour readings and the cupper's verdict.
19 numeric columns, each in its own unit: the green beans' density (g/l) and moisture (%),
the batch (kg: 0.2 to 60), the charge temperature (C), the turning point's time (s) and
temperature (C), the end of drying (s), first crack (s), the drop (s) and the drop
temperature (C), the rate of rise at first crack (C/min) and its change over the last
minute (C/min), the burner setting (%), the airflow (Pa: tens on a drum, hundreds on a
fluid bed), the weight lost (%), the Agtron colour of the whole beans and of the ground
coffee (higher is lighter), the roastery's temperature (C) and relative humidity (%), and
the batches since the chaff collector was last cleaned (a count). Two text columns:
`process` (washed, natural, honey) and `roaster` (drum, fluid_bed). `verdict` is the
cupper's call on the batch:

    good           40%   sweet and balanced: heat, development and colour in range
    underdeveloped 17%   dropped too soon after first crack (development under ~15% of
                         the roast): grassy; the inside of the bean lighter than its
                         surface (ground colour well above whole-bean colour)
    baked          15%   the heat let off too early: the rate of rise stalled and crashed
                         through first crack, a long flat roast: papery, flat cup
    scorched       14%   charged too hot for the batch's size and the beans' density:
                         burnt surface, whole beans much darker than the ground coffee
    overroasted    14%   dropped too hot for the beans (dense beans take more heat; a
                         fluid bed's probe reads high): dark, bitter, heavy weight loss

No verdict is one threshold: a development time means nothing without first crack and the
drop together; a charge temperature only against the batch's size (a big batch needs a
hotter drum), the beans' density and the roaster's probe; a drop temperature only against
the density and the probe; colours move with the whole roast's degree. 4% of the labels
are wrong (mostly a look-alike verdict). In scikit-learn (5-fold, standardised columns,
text one-hot) a logistic regression reaches about 0.90 accuracy, a random forest and a
small MLP about 0.84; the commonest class alone 0.40. trainwell's healthy recipe
(healthy-coffee_roasts.yaml) about 0.89 test accuracy.

thin_sections28.npz: a petrography lab's microscope on rock thin sections
------------------------------------------------------------------------
1,800 grayscale images (uint8, 1 x 28 x 28) of a patch of a rock thin section under
crossed polars, labels `y` (int64) in 5 textures:

    0 granular      an even mosaic of interlocking crystals of one size, each its own grey
    1 porphyritic   one to three large, angular, twinned (striped) crystals in a
                    fine-grained groundmass
    2 foliated      thin grains drawn out and aligned in one direction (a schist's fabric)
    3 vesicular     a fine groundmass pierced by round, dark gas bubbles with bright rims
    4 banded        alternating light and dark fine-grained layers, straight or wavy

The grain size, the fabric's direction, the crystals' grey tones, the polariser's
contrast, uneven illumination, scratches from the polishing, focus and sensor noise vary
from image to image. 3% of the labels are wrong (mostly a look-alike texture). On the raw
pixels (an 80/20 split) a logistic regression reaches about 0.39 test accuracy, a random
forest about 0.53, the commonest texture alone 0.22; the small CNN of
healthy-thin_sections28-cnn.yaml about 0.85.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
VERDICTS = ["good", "underdeveloped", "baked", "scorched", "overroasted"]
SHARES = np.array([0.40, 0.17, 0.15, 0.14, 0.14])
LOOKALIKE = {0: [1, 2, 4], 1: [0, 3], 2: [0, 1], 3: [1, 4], 4: [0, 3]}
PROCESSES = ["washed", "natural", "honey"]
PROCESS_P = [0.45, 0.35, 0.20]
COLUMNS = [
    "bean_density_g_l",
    "green_moisture_pct",
    "batch_kg",
    "charge_temp_c",
    "turning_point_s",
    "turning_point_temp_c",
    "dry_end_s",
    "first_crack_s",
    "drop_s",
    "drop_temp_c",
    "ror_at_crack_c_min",
    "ror_change_last_min",
    "burner_pct",
    "airflow_pa",
    "weight_loss_pct",
    "agtron_whole",
    "agtron_ground",
    "room_temp_c",
    "room_rh_pct",
    "batches_since_cleaning",
    "process",
    "roaster",
    "verdict",
]


def _roast(rng: np.random.Generator, label: int) -> list[str]:
    bed = rng.random() < 0.3  # a fluid-bed roaster: hot air, the probe reads high
    process = int(rng.choice(3, p=PROCESS_P))
    offset = 14.0 if bed else 0.0
    density = rng.normal(718 - 12 * (process == 1), 28)
    moisture = float(np.clip(rng.normal(10.8 + 0.4 * (process == 1), 0.7), 8.5, 13.0))
    ref = 1.5 if bed else 10.0
    batch = ref * float(np.exp(rng.normal(0.0, 0.5 if bed else 0.8)))
    batch = float(np.clip(batch, 0.2, 60.0))
    size = np.log(batch / ref)
    room_t = rng.uniform(12, 34)
    room_rh = rng.uniform(20, 85)
    cleaning = float(rng.integers(0, 120))
    airflow = (rng.uniform(500, 1100) if bed else rng.uniform(40, 120)) * (1 - 0.003 * cleaning)
    burner = rng.uniform(40, 95)
    # charge: a bigger batch and denser beans need a hotter start
    charge_ok = 198 + 10 * size + 0.07 * (density - 718) + offset
    excess = rng.uniform(10, 30) if label == 3 else rng.normal(0, 7)
    charge = charge_ok + excess
    tp_temp = 92 + 0.3 * excess - 3 * size + offset + 0.1 * (room_t - 22) + rng.normal(0, 3)
    tp_s = 78 + 10 * size - 0.6 * excess + rng.normal(0, 7)
    dry = 270 + 15 * (moisture - 10.8) + 12 * size - 1.2 * excess - 0.8 * (burner - 65)
    dry += rng.normal(0, 15)
    maillard = rng.uniform(150, 250) - 0.8 * (burner - 65)
    if label == 2:  # heat let off: a long, stalled approach to first crack
        maillard += rng.uniform(40, 130)
    crack = dry + maillard + rng.normal(0, 15)
    dev = {
        0: rng.normal(0.20, 0.025),
        1: rng.uniform(0.08, 0.165),
        2: rng.normal(0.22, 0.03),
        3: rng.normal(0.19, 0.028),
        4: rng.normal(0.235, 0.03),
    }[label]
    drop_s = crack / (1 - dev)
    ror = rng.normal(9.0, 1.7) + (3.0 if bed else 0.0) + 0.04 * (burner - 65)
    change = rng.normal(-1.2, 0.8)
    if label == 2:
        ror = rng.uniform(3.0, 6.5) + (2.0 if bed else 0.0)
        change = rng.normal(-2.8, 1.1)
    elif label in (1, 3):
        ror += rng.uniform(0.0, 2.0)
    drop_ok = 207 + 0.05 * (density - 718) + offset
    over = {
        0: rng.normal(0, 3),
        1: rng.normal(-3, 3),
        2: rng.normal(-1, 3),
        3: rng.normal(1, 3),
        4: rng.uniform(5, 18),
    }[label]
    drop_t = drop_ok + over + 60 * (dev - 0.2) + rng.normal(0, 1.5)
    degree = over + 40 * (dev - 0.2)  # how dark the roast went, in C-equivalents
    loss = 13.4 + 0.17 * degree + 0.8 * (moisture - 10.8) + rng.normal(0, 0.5)
    whole = 64 - 1.1 * degree + rng.normal(0, 3)
    gap = {
        0: rng.normal(4, 2.5),
        1: rng.uniform(5, 14),
        2: rng.normal(3, 2),
        3: rng.uniform(5, 13),
        4: rng.normal(2, 1.5),
    }[label]
    if label == 3:  # burnt surface: the whole bean reads darker than its degree
        whole -= rng.uniform(4, 10)
    ground = whole + gap
    return [
        f"{density:.0f}",
        f"{moisture:.1f}",
        f"{batch:.2f}",
        f"{charge:.0f}",
        f"{tp_s:.0f}",
        f"{tp_temp:.0f}",
        f"{dry:.0f}",
        f"{crack:.0f}",
        f"{drop_s:.0f}",
        f"{drop_t:.1f}",
        f"{ror:.1f}",
        f"{change:.1f}",
        f"{burner:.0f}",
        f"{airflow:.0f}",
        f"{loss:.1f}",
        f"{whole:.0f}",
        f"{ground:.0f}",
        f"{room_t:.0f}",
        f"{room_rh:.0f}",
        f"{cleaning:.0f}",
        PROCESSES[process],
        "fluid_bed" if bed else "drum",
    ]


def coffee_roasts(rows: int = 2400, seed: int = 41_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(VERDICTS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        values = _roast(rng, int(label))
        called = int(label)
        if flip:  # the cupper's wrong call: mostly a look-alike
            if rng.random() < 0.75:
                called = int(rng.choice(LOOKALIKE[called]))
            else:
                called = int(rng.choice([k for k in range(len(VERDICTS)) if k != label]))
        lines.append(",".join([*values, VERDICTS[called]]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 28
TEXTURES = ["granular", "porphyritic", "foliated", "vesicular", "banded"]
CONFUSED = {0: [1, 2], 1: [0, 3], 2: [4, 0], 3: [1], 4: [2]}
YS, XS = np.mgrid[0:SIZE, 0:SIZE].astype(float)


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _mosaic(rng, grain: float, stretch: float = 1.0, angle: float = 0.0):
    """Voronoi crystals about `grain` px across (drawn out `stretch`-fold along `angle`):
    each pixel's crystal index and how close it lies to a grain boundary."""
    pad = 2 * grain * stretch
    n = int(np.clip((SIZE + 2 * pad) ** 2 / grain**2 / stretch * 1.0, 4, 400))
    seeds = rng.uniform(-pad, SIZE + pad, size=(n, 2))
    c, s = np.cos(angle), np.sin(angle)
    dy = YS.reshape(-1, 1) - seeds[:, 0]
    dx = XS.reshape(-1, 1) - seeds[:, 1]
    along = c * dx + s * dy
    across = -s * dx + c * dy
    dist = np.sqrt((along / stretch) ** 2 + across**2)
    order = np.argsort(dist, axis=1)[:, :2]
    d1 = np.take_along_axis(dist, order[:, :1], axis=1)[:, 0]
    d2 = np.take_along_axis(dist, order[:, 1:2], axis=1)[:, 0]
    return order[:, 0].reshape(SIZE, SIZE), (d2 - d1).reshape(SIZE, SIZE), n


def _crystals(rng, grain, stretch=1.0, angle=0.0, spread=0.3):
    cell, edge, n = _mosaic(rng, grain, stretch, angle)
    tones = np.clip(rng.normal(0.5, spread, size=n), 0.05, 0.95)
    img = tones[cell]
    return img * (1 - 0.5 * np.exp(-edge / 0.5))  # dark grain boundaries


def _groundmass(rng) -> np.ndarray:
    return _crystals(rng, rng.uniform(1.6, 2.4), spread=0.16)


def _texture(kind: int, rng: np.random.Generator) -> np.ndarray:
    if kind == 0:  # granular: an even mosaic of medium crystals
        return _crystals(rng, rng.uniform(5.5, 8.5), spread=0.25)
    if kind == 1:  # porphyritic: a few large, twinned crystals in a fine groundmass
        img = _groundmass(rng)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(5, SIZE - 5, size=2)
            h, w = rng.uniform(4.0, 8.0), rng.uniform(2.5, 4.5)
            a = rng.uniform(0, np.pi)
            u = np.cos(a) * (XS - cx) + np.sin(a) * (YS - cy)
            v = -np.sin(a) * (XS - cx) + np.cos(a) * (YS - cy)
            inside = np.clip(np.minimum(h - np.abs(u), w - np.abs(v)) + 0.5, 0, 1)
            tone = rng.uniform(0.7, 0.98)
            twins = 0.5 + 0.5 * np.sign(np.sin(np.pi * v / rng.uniform(1.0, 1.6)))
            crystal = tone * (1 - rng.uniform(0.25, 0.5) * twins)  # polysynthetic twins
            img = img * (1 - inside) + crystal * inside
        return img
    if kind == 2:  # foliated: elongated, aligned grains
        return _crystals(
            rng, rng.uniform(1.8, 2.6), rng.uniform(3.5, 5.5), rng.uniform(0, np.pi), spread=0.28
        )
    if kind == 3:  # vesicular: round, featureless bubbles with a bright rim
        img = _groundmass(rng)
        tone = rng.uniform(0.0, 0.15)
        for _ in range(int(rng.integers(3, 9))):
            cy, cx = rng.uniform(0, SIZE, size=2)
            r = rng.uniform(1.6, 3.8)
            d = np.sqrt((YS - cy) ** 2 + ((XS - cx) / rng.uniform(0.8, 1.25)) ** 2)
            inside = np.clip(r - d + 0.5, 0, 1)
            rim = np.exp(-((d - r - 0.5) ** 2) / 0.5)
            img = img * (1 - inside) + tone * inside
            img = img + rng.uniform(0.2, 0.45) * rim * (1 - inside)
        return img
    # banded: light and dark layers of fine grains
    img = _groundmass(rng)
    a = rng.uniform(0, np.pi)
    t = np.cos(a) * XS + np.sin(a) * YS
    t = t + rng.uniform(0, 2.5) * np.sin((-np.sin(a) * XS + np.cos(a) * YS) / rng.uniform(3, 7))
    period = rng.uniform(6, 11)
    layers = 0.5 + 0.5 * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    depth = rng.uniform(0.3, 0.6)
    return img * (1 - depth) + depth * layers


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    img = _texture(kind, rng)
    contrast = rng.uniform(0.65, 1.1)
    img = 0.5 + contrast * (img - 0.5)
    for _ in range(int(rng.poisson(0.6))):  # a polishing scratch
        a = rng.uniform(0, np.pi)
        x0, y0 = rng.uniform(0, SIZE), rng.uniform(0, SIZE)
        d = np.abs(np.cos(a) * (XS - x0) + np.sin(a) * (YS - y0))
        img = img + rng.uniform(0.15, 0.35) * np.exp(-(d**2) / 0.6)
    img = _blur(img, int(rng.choice(3, p=[0.5, 0.4, 0.1])))
    light = rng.uniform(0.75, 1.2) + rng.uniform(-0.25, 0.25) * (XS - SIZE / 2) / SIZE
    light = light + rng.uniform(-0.25, 0.25) * (YS - SIZE / 2) / SIZE
    img = img * light + rng.normal(0, rng.uniform(0.015, 0.045), size=img.shape)
    return np.clip(np.round(img * 220 + 15), 0, 255).astype(np.uint8)


def thin_sections(count: int = 1800, seed: int = 41_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    truth = rng.choice(len(TEXTURES), size=count).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in truth])
    y = truth.copy()
    for i in np.flatnonzero(rng.random(count) < 0.03):  # the petrographer's wrong call
        if rng.random() < 0.8:
            y[i] = rng.choice(CONFUSED[int(truth[i])])
        else:
            y[i] = rng.choice([k for k in range(len(TEXTURES)) if k != truth[i]])
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
    (HERE / "coffee_roasts.csv").write_text(coffee_roasts(), newline="\n")
    X, y = thin_sections()
    _write_npz(HERE / "thin_sections28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
