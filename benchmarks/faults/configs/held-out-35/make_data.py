"""The user data of fault-benchmark round held-out-35: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

lift_inspections.csv: periodic inspections of a city's passenger lifts
-----------------------------------------------------------------------
3,200 rows, 20 columns. Each row is one lift's periodic inspection by a lift engineer,
with the figures read from the controller and a half-hour of test runs. 17 numeric
columns, each in its own unit: the lift's age (years), the floors it serves, trips per
day, door cycles since the last door overhaul (thousands), rated load (kg), rated speed
(m/s), peak motor current at start (A), car vibration (RMS, milli-g), noise in the car
(dB(A)), the worst levelling error at a landing (mm), the door closing time (s), the
ropes' elongation (% of their installed length; 0 for hydraulic lifts, which have none),
the drive's oil temperature (C: the gearbox's, or the hydraulic tank's), the brake lining
(mm; 0 for hydraulic), the sheave groove wear (mm; 0 for hydraulic), the machine room's
temperature (C) and the faults logged in the last 30 days (a count). Two text columns:
`building` (office, residential, hospital, mall) and `drive` (geared, gearless_mrl,
hydraulic). `finding` is the engineer's verdict:

    ok                36%   wear in proportion to age and traffic
    worn_ropes        14%   ropes stretched AND sheave grooves worn for the lift's age and
                            trips (traction lifts only), a little more vibration
    door_operator     14%   doors slow to close for the building's doors AND faults logged
    brake_drag        12%   start current high for the load AND the drive's oil hot,
                            brake lining thin (traction lifts only)
    guide_misaligned  12%   vibration AND noise above what the speed explains
    levelling_drift   12%   levelling error above what the drive and oil temperature explain

No class is one threshold: hospitals' wide bed doors close slowly by design, malls' doors
cycle fast and log faults from passengers holding them; old and busy lifts stretch their
ropes and wear their sheaves without failing; fast gearless lifts vibrate more; hydraulic
lifts level worse and worse as their oil warms; gearboxes run hot in hot machine rooms.
3% of the labels are wrong (mostly a look-alike verdict). In scikit-learn (5-fold,
standardised columns, text one-hot) a logistic regression reaches about 0.88 accuracy, a
random forest about 0.83 (the verdicts hang on ratios, which axis-aligned cuts follow
poorly); the commonest class alone 0.36.

loom_weaves32.npz: a loom camera's close-ups of woven cloth
-----------------------------------------------------------
2,400 grayscale images (uint8, 1 x 32 x 32) from an inspection camera over the cloth beam
of a weaving mill's looms, with labels `y` (int64) in 6 weave structures:

    0 plain         one over, one under: a fine checkerboard of interlacings
    1 twill         the interlacings step one thread per pick: diagonal ribs
    2 satin         long floats, interlacings scattered (a 5-end satin): a smooth face
    3 basket        pairs of threads woven as one: a coarse checkerboard
    4 herringbone   a twill whose diagonal reverses every few threads: zigzags
    5 waffle        raised square cells with diamond ridges

The yarn thickness (3.3 to 4.4 px a thread), the cloth's skew under the camera (+-6
degrees; the warp runs top to bottom), the weave's phase, the two yarns' tones, the yarns'
unevenness, slubs, the light across the frame, focus and sensor noise vary from image to
image. 3% of the labels are
wrong (mostly a look-alike weave). On the raw pixels (an 80/20 split) a logistic
regression reaches about 0.20 test accuracy, a random forest about 0.25, the commonest
weave alone 0.18; a small CNN about 0.9.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- table
FINDINGS = [
    "ok",
    "worn_ropes",
    "door_operator",
    "brake_drag",
    "guide_misaligned",
    "levelling_drift",
]
SHARES = np.array([0.36, 0.14, 0.14, 0.12, 0.12, 0.12])
LOOKALIKE = {0: [1, 2, 4], 1: [0, 4], 2: [0], 3: [0, 5], 4: [0, 1], 5: [0, 3]}
BUILDINGS = ["office", "residential", "hospital", "mall"]
BUILDING_P = [0.35, 0.35, 0.12, 0.18]
DOOR_TIME = np.array([3.0, 3.3, 5.2, 3.6])  # s, a healthy door's closing time
TRIPS = np.array([600.0, 250.0, 900.0, 1400.0])  # trips per day, typical
DRIVES = ["geared", "gearless_mrl", "hydraulic"]
COLUMNS = [
    "age_years",
    "floors_served",
    "trips_per_day",
    "door_cycles_k",
    "rated_load_kg",
    "rated_speed_ms",
    "motor_start_current_a",
    "car_vibration_mg",
    "car_noise_dba",
    "levelling_error_mm",
    "door_close_time_s",
    "rope_elongation_pct",
    "drive_oil_temp_c",
    "brake_lining_mm",
    "sheave_groove_wear_mm",
    "machine_room_temp_c",
    "faults_30d",
    "building",
    "drive",
    "finding",
]


def _ln(rng: np.random.Generator, sd: float) -> float:
    return float(np.exp(rng.normal(0.0, sd)))


def _lift(rng: np.random.Generator, label: int) -> list[str]:
    building = int(rng.choice(4, p=BUILDING_P))
    if label in (1, 3):  # ropes and brakes: traction lifts only
        drive = int(rng.choice(2, p=[0.55, 0.45]))
    else:
        drive = int(rng.choice(3, p=[0.4, 0.35, 0.25]))
    hydraulic = drive == 2
    floors = int(rng.integers(2, 7)) if hydraulic else int(np.clip(rng.normal(14, 8), 3, 42))
    age = float(np.clip(rng.gamma(3.0, 6.0), 0.5, 48))
    trips = TRIPS[building] * _ln(rng, 0.35) * (0.6 + 0.04 * min(floors, 20))
    cycles = trips * rng.uniform(0.3, 3.0) * 365 * 2 / 1000  # since the last door overhaul
    load = float(rng.choice([450, 630, 800, 1000, 1275, 1600, 2000, 2500]))
    if building == 2:
        load = float(rng.choice([1600, 2000, 2500]))  # bed lifts
    if hydraulic:
        speed = rng.uniform(0.3, 1.0)
    elif drive == 0:
        speed = rng.choice([1.0, 1.6, 2.0]) * rng.uniform(0.95, 1.05)
    else:
        speed = rng.choice([1.0, 1.6, 2.5, 4.0, 6.0]) * rng.uniform(0.95, 1.05)
    current = load * (0.045 if hydraulic else 0.028 if drive == 0 else 0.022) * _ln(rng, 0.12)
    vib = (6 + 5.5 * speed) * _ln(rng, 0.22) * (1 + 0.006 * age)
    noise = 45 + 4.5 * np.log1p(speed * 2) + rng.normal(0, 2.2)
    room = rng.normal(27, 5) if drive == 0 else rng.normal(24, 4)
    if hydraulic:
        oil = room + 8 + trips / 120 * _ln(rng, 0.3)
        level = 2.0 + 0.12 * max(oil - 30, 0) * _ln(rng, 0.25)  # warm oil: the car creeps
    else:
        oil = room + (18 if drive == 0 else 6) * _ln(rng, 0.2)
        level = 1.4 * _ln(rng, 0.35)
    door = DOOR_TIME[building] * _ln(rng, 0.07) * (1 + 0.002 * cycles / 100)
    faults = float(rng.poisson(0.5 + (2.5 if building == 3 else 0.0) + cycles / 1500))
    wear = age * trips / 1000  # a traction lift's rope and sheave work, roughly
    if hydraulic:
        elong, lining, groove = 0.0, 0.0, 0.0
    else:
        elong = 0.04 + 0.012 * wear * _ln(rng, 0.3)
        groove = 0.05 + 0.025 * wear * _ln(rng, 0.35)
        lining = max(0.6, 6.0 - 0.07 * age * _ln(rng, 0.4))
    if label == 1:  # worn ropes: stretched AND the grooves worn, for the work done
        elong = elong * rng.uniform(1.6, 2.6) + rng.uniform(0.03, 0.12)
        groove = groove * rng.uniform(1.6, 2.6) + rng.uniform(0.05, 0.3)
        vib *= rng.uniform(1.0, 1.25)
    elif label == 2:  # a failing door operator: slow closing and faults logged
        door *= rng.uniform(1.12, 1.45)
        faults += float(rng.poisson(rng.uniform(2, 9)))
    elif label == 3:  # a dragging brake: the motor fights it and heats the drive
        current *= rng.uniform(1.15, 1.45)
        oil += rng.uniform(4, 14)
        room += rng.uniform(0, 3)
        lining = max(0.4, lining * rng.uniform(0.4, 0.8))
    elif label == 4:  # misaligned guide rails: the car shakes and rattles
        vib *= rng.uniform(1.35, 2.1)
        noise += rng.uniform(2, 7)
    elif label == 5:  # levelling drift: an encoder slipping, a valve leaking
        level += rng.uniform(3, 10) if hydraulic else rng.uniform(2, 7)
        if rng.random() < 0.5:
            faults += float(rng.poisson(2))
    return [
        f"{age:.1f}",
        f"{floors}",
        f"{trips:.0f}",
        f"{cycles:.1f}",
        f"{load:.0f}",
        f"{speed:.2f}",
        f"{current:.1f}",
        f"{vib:.1f}",
        f"{noise:.1f}",
        f"{level:.1f}",
        f"{door:.2f}",
        f"{elong:.3f}",
        f"{oil:.1f}",
        f"{lining:.2f}",
        f"{groove:.2f}",
        f"{room:.1f}",
        f"{faults:.0f}",
        BUILDINGS[building],
        DRIVES[drive],
    ]


def lift_inspections(rows: int = 3200, seed: int = 39_001) -> str:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(FINDINGS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.03
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        values = _lift(rng, int(label))
        called = int(label)
        if flip:  # the engineer's wrong verdict: mostly a look-alike
            if rng.random() < 0.75:
                called = int(rng.choice(LOOKALIKE[called]))
            else:
                called = int(rng.choice([k for k in range(len(FINDINGS)) if k != label]))
        lines.append(",".join([*values, FINDINGS[called]]))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- images
SIZE = 32
WEAVES = ["plain", "twill", "satin", "basket", "herringbone", "waffle"]
CONFUSED = {0: [3], 1: [4], 2: [1], 3: [0], 4: [1], 5: [3, 0]}


def _repeat(kind: int, rng: np.random.Generator) -> np.ndarray:
    """The weave's repeat: 1 where the warp (vertical thread) lies over the weft."""
    if kind == 0:  # plain
        return np.array([[1, 0], [0, 1]])
    if kind == 1:  # 2/2 or 2/1 twill
        n = int(rng.choice([3, 4]))
        over = 2 if n == 4 else int(rng.choice([1, 2]))
        return np.array([[1 if (c - r) % n < over else 0 for c in range(n)] for r in range(n)])
    if kind == 2:  # 5-end satin, warp- or weft-faced
        face = int(rng.integers(0, 2))
        rep = np.full((5, 5), face)
        for r in range(5):
            rep[r, (2 * r) % 5] = 1 - face
        return rep
    if kind == 3:  # 2x2 basket
        return np.kron(np.array([[1, 0], [0, 1]]), np.ones((2, 2), dtype=int))
    if kind == 4:  # herringbone: a 2/2 twill reversing every k ends
        k = 4
        rows = []
        for r in range(4):
            rows.append(
                [
                    1 if ((c - r) if (c // k) % 2 == 0 else (-c - r)) % 4 < 2 else 0
                    for c in range(2 * k)
                ]
            )
        return np.array(rows)
    # waffle: floats growing and shrinking in a diamond, a raised cell
    n = 8
    rep = np.zeros((n, n), dtype=int)
    for r in range(n):
        for c in range(n):
            d = abs(r - n // 2) + abs(c - n // 2)
            rep[r, c] = 1 if d % 4 < 2 else 0
    return rep


def _blur(img: np.ndarray, passes: int) -> np.ndarray:
    for _ in range(passes):
        p = np.pad(img, 1, mode="edge")
        img = (4 * p[1:-1, 1:-1] + p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 8.0
    return img


def _image(rng: np.random.Generator, kind: int) -> np.ndarray:
    rep = _repeat(kind, rng)
    pitch = rng.uniform(3.3, 4.4)  # px per thread
    angle = rng.uniform(-6, 6) * np.pi / 180
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(float) - SIZE / 2
    u = (np.cos(angle) * xs + np.sin(angle) * ys) / pitch + rng.uniform(0, 20)
    v = (-np.sin(angle) * xs + np.cos(angle) * ys) / pitch + rng.uniform(0, 20)
    u = u + 0.08 * np.sin(v * rng.uniform(0.3, 0.8) + rng.uniform(0, 6.3))  # uneven yarn
    end, pick = np.floor(u).astype(int), np.floor(v).astype(int)  # warp end, weft pick
    over = rep[pick % rep.shape[0], end % rep.shape[1]] == 1
    fu, fv = u - np.floor(u), v - np.floor(v)
    # a yarn is a cylinder: bright on its crown, dark in the gaps between threads
    warp_shade = np.sin(np.pi * fu) ** 0.7
    weft_shade = np.sin(np.pi * fv) ** 0.7
    warp_tone = rng.uniform(0.45, 0.9)
    weft_tone = warp_tone + rng.choice([-1, 1]) * rng.uniform(0.12, 0.35)
    end_var = 1 + 0.08 * rng.normal(size=64)  # each thread's own tone
    pick_var = 1 + 0.08 * rng.normal(size=64)
    img = np.where(
        over,
        warp_tone * warp_shade * end_var[end % 64],
        weft_tone * weft_shade * pick_var[pick % 64],
    )
    if rng.random() < 0.3:  # a slub: a thick bright stretch of one weft
        row = int(rng.integers(0, 64))
        img = img + 0.25 * ((pick % 64) == row) * (~over)
    img = 0.08 + 0.85 * img
    img = _blur(img, int(rng.choice(3, p=[0.6, 0.3, 0.1])))
    light = rng.uniform(0.75, 1.15) + rng.uniform(-0.2, 0.2) * xs / SIZE
    light = light + rng.uniform(-0.2, 0.2) * ys / SIZE
    img = img * light + rng.normal(0, rng.uniform(0.02, 0.06), size=img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def loom_weaves(count: int = 2400, seed: int = 39_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    p = [0.18, 0.17, 0.16, 0.17, 0.16, 0.16]
    truth = rng.choice(len(WEAVES), size=count, p=p).astype(np.int64)
    X = np.stack([_image(rng, int(k))[None] for k in truth])
    y = truth.copy()
    for i in np.flatnonzero(rng.random(count) < 0.03):  # the inspector's wrong call
        if rng.random() < 0.8:
            y[i] = rng.choice(CONFUSED[int(truth[i])])
        else:
            y[i] = rng.choice([k for k in range(len(WEAVES)) if k != truth[i]])
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
    (HERE / "lift_inspections.csv").write_text(lift_inspections(), newline="\n")
    X, y = loom_weaves()
    _write_npz(HERE / "loom_weaves32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
