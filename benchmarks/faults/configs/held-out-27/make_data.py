"""The user data of fault-benchmark round held-out-27: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

wayside_wheels.csv: a freight railway's wayside detector log, one row per wheel
---------------------------------------------------------------------------
3,000 rows, 19 columns. Each row is one wheel of a freight car passing a detector site: a
wheel impact load detector (strain gauges on the rail), a hot box and hot wheel scanner
(infrared), an acoustic bearing monitor and a laser wheel profile station, with the car's
type, load and mileage from the fleet records. The text column `condition` holds what the
wheel shop found when the car was set out and inspected:

    ok               38%   nothing to do
    wheel_flat       11%   a skid flat (a locked wheel slid along the rail): a hammer blow
                           once a turn, so a peak load far above the static one, growing
                           with speed and axle load (a loaded car at speed shows a small
                           flat; an empty, slow one hides a large one)
    out_of_round     11%   a worn, lobed wheel: the vertical load swings all the way round,
                           so the load's root mean square rises and the peak somewhat;
                           more often on wheels long since their last truing
    thin_flange      10%   the flange worn thinner than the mileage explains (a car on a
                           curvy route, a misaligned truck)
    hollow_tread     11%   the tread worn hollow: a deep hollow, and the flange standing
                           higher above the worn tread than the mileage explains
    hot_bearing      10%   a failing roller bearing: hotter above the ambient air than the
                           speed and the load make a good one, often a louder one (a spalled
                           race)
    stuck_brake       9%   a brake that did not release: the wheel's tread hot against the
                           ambient air (the bearing a little warmer too); a train braking
                           down a grade heats all its wheels, a milder, common confounder

Columns (units): car_type (text: hopper, tank, boxcar, flat, autorack), axle_load_t
(6-32.4, empty or loaded), train_speed_kmh (20-115), ambient_temp_c (-30 to 38),
wheel_diameter_mm (~760-915: 915 new for 36-inch wheels, 838 for the 33-inch wheels of
flats and autoracks, worn down by reprofiling), mileage_since_truing_km (4,000-320,000),
days_since_inspection (0-600), flange_thickness_mm (~17-33), flange_height_mm (~27-33),
tread_hollow_mm (0-6), static_load_kn (~27-168), peak_impact_kn (~30-380),
vertical_rms_kn (~30-265), bearing_temp_c (~-16 to 185), bearing_noise_db (~50-85),
wheel_temp_c (~-26 to 320), brake_cylinder_kpa (0-450, the car's last brake application
logged), train_length_cars (20-150), and the condition. Values span 1e-1 to 3e5 across
columns; no value is missing.

What separates the conditions: combinations, not one column. The peak impact against the
static load and the speed; the load's root mean square against the static load; the
flange thickness against the mileage; the hollow and the flange height against the
mileage; the bearing's and the wheel's temperature against the ambient air, the speed,
the load and the last braking. Mild cases (severity is drawn per row) look normal, so the
classes overlap; 4% of the labels are wrong. In scikit-learn, on the standardised columns
(text one-hot), a logistic regression reaches about 0.87 test accuracy, gradient boosting
about 0.88; the majority class alone: 0.38.

lumber_patches24.npz: colour patches from a sawmill's board scanner, sorted by defect
---------------------------------------------------------------------------
Arrays `X` (3,000 x 3 x 24 x 24, uint8 RGB, channels first: a line-scan camera's view of
a planed softwood board, one patch of some 30 x 30 mm) and `y` (int64 class ids 0-5),
stored compressed. A lumber grader labelled the defect the patch is centred on:

    0 clear           20%   grain only (a pin knot under 2 mm, a mineral streak or a
                            resin smear allowed)
    1 sound_knot      19%   a live knot, intergrown: round to spike-shaped, ringed, darker
                            than the wood, with the grain flowing around it
    2 dead_knot       16%   an encased knot: a dark bark ring around it, its wood greyer,
                            sometimes cracked across, or a dark hole where it fell out
    3 pitch_pocket    16%   a lens of resin between the growth rings: a short, narrow,
                            amber-brown streak along the grain, often with a glint
    4 check           15%   a drying split along the grain: a thin dark line, 6-24 pixels
                            long, wavering with the grain
    5 blue_stain      15%   sap-stain fungus: bluish-grey blotches drawn out along the grain

Every board has its own species' colours (pine, spruce, fir, larch), growth-ring spacing
(2.5-6 px), grain angle (up to 12 degrees) and waviness, earlywood-latewood contrast,
fibre texture, a lighting gradient across the scan line, exposure and camera noise. Small
sound knots look like pin knots, narrow pitch pockets like short checks, knots with a
dark latewood ring like encased ones, faint stains like mineral streaks. 3% of the labels
are wrong. A logistic regression on the pixels reaches about 0.68 test accuracy (the
largest class alone: 0.20). The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

CONDITIONS = [
    "ok",
    "wheel_flat",
    "out_of_round",
    "thin_flange",
    "hollow_tread",
    "hot_bearing",
    "stuck_brake",
]
SHARES = [0.40, 0.11, 0.10, 0.10, 0.10, 0.10, 0.09]
# share of the fleet, new wheel diameter (mm), empty and full axle load (t)
CARS = {
    "hopper": (0.30, 915.0, 7.5, 32.4),
    "tank": (0.25, 915.0, 8.0, 32.4),
    "boxcar": (0.20, 915.0, 8.5, 28.0),
    "flat": (0.15, 838.0, 6.5, 22.0),
    "autorack": (0.10, 838.0, 10.0, 14.5),
}
COLUMNS = [
    "car_type",
    "axle_load_t",
    "train_speed_kmh",
    "ambient_temp_c",
    "wheel_diameter_mm",
    "mileage_since_truing_km",
    "days_since_inspection",
    "flange_thickness_mm",
    "flange_height_mm",
    "tread_hollow_mm",
    "static_load_kn",
    "peak_impact_kn",
    "vertical_rms_kn",
    "bearing_temp_c",
    "bearing_noise_db",
    "wheel_temp_c",
    "brake_cylinder_kpa",
    "train_length_cars",
    "condition",
]


def _wheel(rng: np.random.Generator, label: int) -> list[str]:
    severity = rng.uniform(0.05, 1.0)
    names = list(CARS)
    car = names[rng.choice(len(names), p=[c[0] for c in CARS.values()])]
    _, new_diameter, empty, full = CARS[car]
    loaded = rng.random() < 0.55
    axle = rng.uniform(0.85 * full, full) if loaded else empty * rng.normal(1.0, 0.04)
    speed = rng.uniform(20.0, 115.0)
    ambient = float(np.clip(rng.normal(10.0, 12.0), -30.0, 38.0))
    diameter = new_diameter - rng.uniform(0.0, 75.0) + rng.normal(0.0, 0.5)
    mileage = rng.uniform(4000.0, 320000.0)
    if label == 2 and rng.random() < 0.6:  # lobed wheels: mostly long since their truing
        mileage = rng.uniform(150000.0, 320000.0)
    days = float(rng.integers(0, 601))
    length = int(rng.integers(20, 151))

    static = axle * 9.81 / 2.0 * rng.normal(1.0, 0.03)  # per wheel, kN
    # the dynamic load of a sound wheel: a few tens of percent over the static, more at speed
    peak = static * (1.1 + 0.0025 * speed) * rng.lognormal(0.0, 0.06)
    rms = static * (1.01 + 0.0004 * speed) * rng.lognormal(0.0, 0.01)
    flange = 32.5 - mileage / 1e5 * rng.uniform(1.2, 3.0) + rng.normal(0.0, 0.5)
    hollow = mileage / 1e5 * rng.uniform(0.2, 0.8) + abs(rng.normal(0.0, 0.2))
    height = 28.0 + mileage / 1e5 * 0.6 + rng.normal(0.0, 0.35)
    # the bearing warms with speed and load; the tread with the last braking
    bearing_rise = 8.0 + 0.22 * speed * (0.6 + axle / 40.0) + rng.normal(0.0, 4.0)
    noise_db = 60.0 + 14.0 * np.log10(speed / 40.0) + rng.normal(0.0, 2.5)
    brake_kpa = max(0.0, rng.normal(60.0, 40.0))
    wheel_rise = abs(rng.normal(4.0, 6.0))
    if rng.random() < 0.18:  # the train braked down a grade before the site: all wheels warm
        brake_kpa = rng.uniform(150.0, 450.0)
        wheel_rise += brake_kpa / 450.0 * rng.uniform(20.0, 110.0)

    if label == 1:  # a skid flat: a hammer blow once a turn
        depth = 0.3 + 2.7 * severity  # mm
        peak += depth * rng.uniform(25.0, 45.0) * (speed / 80.0) * np.sqrt(axle / 25.0)
        rms *= 1.0 + 0.01 * depth
    elif label == 2:  # out of round: the load swings all the way round
        swing = (0.05 + 0.35 * severity) * (0.4 + speed / 100.0)
        rms *= 1.0 + swing
        peak *= 1.0 + 0.6 * swing
    elif label == 3:  # thin flange: worn faster than the mileage explains
        flange -= 1.5 + 7.0 * severity
    elif label == 4:  # hollow tread
        hollow += 0.8 + 3.2 * severity
        height += 0.5 * (0.8 + 3.2 * severity) + rng.normal(0.0, 0.3)
    elif label == 5:  # a failing bearing
        bearing_rise += 10.0 + 90.0 * severity
        if rng.random() < 0.7:
            noise_db += 2.0 + 12.0 * severity
    elif label == 6:  # a brake that did not release
        wheel_rise += 25.0 + 230.0 * severity
        bearing_rise += 0.08 * wheel_rise
        brake_kpa = max(brake_kpa, rng.uniform(0.0, 300.0))

    if rng.random() < 0.5 and label not in (3, 4):  # a profile station's spread
        flange += rng.normal(0.0, 0.3)
    bearing = ambient + bearing_rise
    wheel = ambient + wheel_rise + rng.normal(0.0, 1.5)
    return [
        car,
        f"{axle:.1f}",
        f"{speed:.0f}",
        f"{ambient:.1f}",
        f"{diameter:.1f}",
        f"{mileage:.0f}",
        f"{days:g}",
        f"{flange:.2f}",
        f"{height:.2f}",
        f"{max(hollow, 0.0):.2f}",
        f"{static:.1f}",
        f"{peak:.1f}",
        f"{rms:.1f}",
        f"{bearing:.1f}",
        f"{noise_db:.1f}",
        f"{wheel:.1f}",
        f"{brake_kpa:.0f}",
        f"{length}",
        CONDITIONS[label],
    ]


def wayside_wheels(rows: int = 3000, seed: int = 28_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(CONDITIONS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _wheel(rng, int(label))
        if flip:  # a set-out logged against the wrong wheel
            others = [c for c in CONDITIONS if c != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 24
UP = 3  # drawn at three times the size, then averaged down (the camera's pixels)
BIG = SIZE * UP
SHARES_IMG = [0.19, 0.17, 0.17, 0.16, 0.16, 0.15]
# earlywood and latewood colours (RGB, 0..1) and the knot's wood
SPECIES = {
    "pine": ((0.88, 0.74, 0.52), (0.72, 0.50, 0.30), (0.55, 0.33, 0.17)),
    "spruce": ((0.92, 0.84, 0.66), (0.80, 0.66, 0.46), (0.62, 0.44, 0.26)),
    "fir": ((0.88, 0.70, 0.55), (0.70, 0.45, 0.33), (0.52, 0.30, 0.20)),
    "larch": ((0.84, 0.64, 0.45), (0.62, 0.38, 0.22), (0.45, 0.25, 0.13)),
}


def _blur_matrix(n: int, sigma: float) -> np.ndarray:
    x = np.arange(n)
    k = np.exp(-0.5 * ((x[:, None] - x[None, :]) / max(sigma, 1e-3)) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def _blur(image: np.ndarray, sigma_y: float, sigma_x: float) -> np.ndarray:
    """A Gaussian blur, its own width along each axis (rows: y, columns: x)."""
    return _blur_matrix(image.shape[0], sigma_y) @ image @ _blur_matrix(image.shape[1], sigma_x).T


def _smooth_noise(rng: np.random.Generator, sigma_y: float, sigma_x: float) -> np.ndarray:
    field = _blur(rng.normal(size=(BIG, BIG)), sigma_y, sigma_x)
    return field / max(field.std(), 1e-9)


def _knot_flow(u: np.ndarray, v: np.ndarray, r: float, aspect: float) -> np.ndarray:
    """The grain's stream function around an elliptical knot at the origin (flow past a
    cylinder, in coordinates stretched by the knot's aspect): ~v far away, 0 on the knot."""
    su, sv = u / (r * aspect), v / r
    rho2 = np.maximum(su**2 + sv**2, 1.0)
    return v * (1.0 - 1.0 / rho2)


def board_patch(rng: np.random.Generator, kind: int) -> np.ndarray:
    big = np.arange(BIG) / UP  # in output pixels
    yy, xx = np.meshgrid(big, big, indexing="ij")
    early, late, knot_wood = (np.array(c) for c in SPECIES[list(SPECIES)[rng.integers(4)]])
    tint = rng.normal(1.0, 0.04, size=3)
    early, late, knot_wood = early * tint, late * tint, knot_wood * tint

    angle = np.deg2rad(rng.uniform(-12.0, 12.0))
    cx, cy = SIZE / 2 + rng.uniform(-2.5, 2.5), SIZE / 2 + rng.uniform(-2.5, 2.5)
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)  # along the grain
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)  # across it
    # the waviness of the grain, slow along it
    v_wavy = v + rng.uniform(0.0, 1.5) * np.sin(
        2 * np.pi * (u / rng.uniform(15, 40) + rng.random())
    )

    knot_r, aspect = 0.0, 1.0
    if kind in (1, 2):
        knot_r = rng.uniform(1.6, 5.5)
        aspect = 1.0 if rng.random() < 0.5 else rng.uniform(1.2, 2.6)  # spike knots
    elif kind == 0 and rng.random() < 0.2:  # a pin knot, allowed on a clear board
        knot_r = rng.uniform(0.5, 1.3)
    psi = _knot_flow(u, v_wavy, knot_r, aspect) if knot_r > 0 else v_wavy

    # growth rings: a latewood band in each period, sharp or soft
    period = rng.uniform(2.5, 6.0)
    phase = (psi / period + rng.random()) % 1.0
    latewood_share = rng.uniform(0.2, 0.45)
    soft = rng.uniform(0.04, 0.15)
    ring = 1.0 / (1.0 + np.exp(-(latewood_share - phase) / soft))
    contrast = rng.uniform(0.35, 1.0)
    fibre = _smooth_noise(rng, 0.6, 6.0)
    mix = np.clip(contrast * ring + 0.06 * fibre, 0.0, 1.0)[..., None]
    image = early * (1 - mix) + late * mix

    if rng.random() < 0.2:  # a mineral streak: a darker band along the grain
        streak = np.exp(-0.5 * ((v - rng.uniform(-10, 10)) / rng.uniform(0.8, 2.5)) ** 2)
        image *= 1.0 - rng.uniform(0.08, 0.2) * streak[..., None] * np.array([0.8, 1.0, 1.1])
    if rng.random() < 0.15:  # a resin smear
        smear = np.clip(_smooth_noise(rng, 2.0, 5.0) - 1.0, 0.0, None)
        image = image * (1 - 0.15 * smear[..., None]) + 0.15 * smear[..., None] * np.array(
            [0.75, 0.55, 0.25]
        )

    if knot_r > 0:
        d = np.sqrt((u / aspect) ** 2 + v**2)
        inside = 1.0 / (1.0 + np.exp((d - knot_r) / 0.25))
        rings = 0.5 + 0.5 * np.cos(2 * np.pi * d / rng.uniform(0.7, 1.4))
        wood = knot_wood * (0.85 + 0.25 * rings[..., None])
        if kind == 2:  # dead: greyer, darker wood in a dark bark ring
            wood = wood * rng.uniform(0.55, 0.85) + 0.08 * wood.mean(axis=-1, keepdims=True)
        image = image * (1 - inside[..., None]) + wood * inside[..., None]
        if kind == 1 and rng.random() < 0.3:  # a live knot's darker latewood edge
            edge = np.exp(-0.5 * ((d - knot_r) / 0.35) ** 2)
            image *= 1.0 - 0.25 * edge[..., None]
        if kind == 2:
            bark = np.exp(-0.5 * ((d - knot_r) / rng.uniform(0.3, 0.7)) ** 2)
            image *= 1.0 - rng.uniform(0.45, 0.85) * bark[..., None]
            if rng.random() < 0.3:  # it fell out: a dark hole
                image *= 1.0 - 0.8 * inside[..., None]
            elif rng.random() < 0.4:  # cracked across
                crack = np.exp(-0.5 * ((v - rng.uniform(-1, 1) * knot_r * 0.5) / 0.3) ** 2)
                image *= 1.0 - 0.6 * (crack * inside)[..., None]

    if kind == 3:  # a pitch pocket: a resin lens along the grain
        half = rng.uniform(2.0, 6.0)
        width = rng.uniform(0.5, 1.3)
        lens = np.clip(1 - (u / half) ** 2, 0.0, None) * np.exp(-0.5 * (v / width) ** 2)
        lens = np.clip(lens * 1.5, 0.0, 1.0)
        resin = np.array([0.55, 0.35, 0.12]) * rng.uniform(0.6, 1.0)
        image = image * (1 - lens[..., None]) + resin * lens[..., None]
        if rng.random() < 0.6:  # the glint of the resin
            glint = np.exp(
                -0.5 * (((u - rng.uniform(-1, 1)) / 0.7) ** 2 + ((v + width * 0.3) / 0.35) ** 2)
            )
            image += 0.35 * glint[..., None]
    elif kind == 4:  # a check: a thin split wandering with the grain
        half = rng.uniform(3.0, 12.0)
        wander = v_wavy + 0.3 * np.sin(2 * np.pi * (u / rng.uniform(3, 8) + rng.random()))
        along = 1.0 / (1.0 + np.exp((np.abs(u) - half) / 0.5))
        line = np.exp(-0.5 * (wander / rng.uniform(0.2, 0.5)) ** 2) * along
        image *= 1.0 - rng.uniform(0.5, 0.85) * line[..., None]
    elif kind == 5:  # blue stain: blotches drawn out along the grain
        blot = _smooth_noise(rng, 1.5, rng.uniform(3.0, 8.0))
        mask = np.clip((blot - rng.uniform(-0.6, 0.6)) / 0.8, 0.0, 1.0)
        strength = rng.uniform(0.25, 0.75)
        stain = np.array([0.42, 0.47, 0.55]) * rng.uniform(0.7, 1.1)
        image = image * (1 - strength * mask[..., None]) + strength * mask[..., None] * stain

    # the scan: a lighting gradient across the line, exposure, camera noise
    light = (
        1.0
        + rng.uniform(-0.15, 0.15) * (xx / SIZE - 0.5)
        + rng.uniform(-0.08, 0.08) * (yy / SIZE - 0.5)
    )
    image = image * light[..., None] * rng.uniform(0.8, 1.1)
    image = image.reshape(SIZE, UP, SIZE, UP, 3).mean(axis=(1, 3)).transpose(2, 0, 1)
    image += rng.normal(0.0, rng.uniform(0.01, 0.035), size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def board_patches(count: int = 3000, seed: int = 28_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=SHARES_IMG).astype(np.int64)
    X = np.stack([board_patch(rng, int(k)) for k in y])
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
    (HERE / "wayside_wheels.csv").write_text("\n".join(wayside_wheels()) + "\n")
    X, y = board_patches()
    _save_npz(HERE / "lumber_patches24.npz", X=X, y=y)


if __name__ == "__main__":
    main()
