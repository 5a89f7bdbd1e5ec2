"""The user data of fault-benchmark round held-out-22: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

turbine_scada.csv: a wind farm's condition-monitoring sheet
-----------------------------------------------------------
2,600 rows, 21 columns. Each row summarises one 10-minute SCADA record of a wind turbine,
and the text column `condition` is the label the maintenance team gave that period after
its inspection:

    normal               40%   nothing wrong (some of these periods are curtailed by the
                               grid operator: power capped, blades pitched out on purpose)
    gearbox_wear         15%   a worn gear or bearing: the gearbox oil and bearing run hotter
                               than the load and the weather explain, metal particles in the
                               oil, vibration at the gear-mesh frequency
    blade_icing          15%   ice on the blades in cold, wet weather: less power than the
                               wind gives, a rotor out of balance (once-per-revolution shake)
    pitch_fault          15%   a pitch drive that lags or sticks: the blade angle wrong for
                               the wind, a labouring pitch motor, the tower shaking
    yaw_misalignment     15%   a nacelle not facing the wind because its vane is out of
                               calibration: the turbine's own yaw error reads ~0, but its
                               heading differs from its neighbours' and power falls as the
                               cosine of the offset

Columns (units): turbine_model (text: V90-2.0, SG-3.4, N117-3.6, of rated power 2,000,
3,400 and 3,600 kW), site (text: onshore_plain, onshore_ridge, coastal, offshore),
wind_speed_ms (3-23), turbulence_ms (the 10-minute standard deviation of the wind speed),
ambient_temp_c (-20 to 35), humidity_pct, air_density_kgm3 (~1.1-1.4), power_kw (0 to
~4,200), rotor_rpm (5-16), generator_rpm (~500-1,800), pitch_angle_deg (-3 to 23),
pitch_motor_current_a, yaw_error_deg (from the turbine's own vane), heading_vs_farm_deg
(the nacelle's heading minus its neighbours' median), gearbox_oil_temp_c,
gearbox_bearing_temp_c, vib_1p_mm_s (once-per-revolution vibration), gearmesh_vib_g (~1e-3
to 0.1), tower_accel_g (~1e-3 to 0.05), oil_particles_per_ml (~1e2 to ~3e4),
energy_total_mwh (the lifetime's production, ~3e3 to ~3e5), and the condition. Values span
1e-3 to 3e5 across columns; no value is missing.

What separates the classes: combinations, not one column. A power deficit means icing
with cold humid weather and a 1P shake, yaw misalignment with a heading off the farm's,
a pitch fault with a blade angle wrong for the wind and a hot pitch motor, or nothing at
all in a curtailed normal period (pitched out, quiet motor); what power is "deficient"
needs the power curve of the turbine model at that wind speed and air density. A hot
gearbox is only wear when the load and the ambient temperature do not explain it; old
turbines shed more particles anyway. Mild faults (severity is drawn per row) look normal,
so the classes overlap. 3.5% of the labels are wrong. A logistic regression on the
standardised columns reaches about 0.78 test accuracy in scikit-learn, trainwell's healthy
leaky-ReLU MLP (96, 48) about 0.86; the majority class alone: 0.40.

blood_smear28.npz: white cells in a stained blood smear, cut out of microscope images
---------------------------------------------------------------------------------------
Arrays `X` (2,400 x 1 x 28 x 28, uint8, channels first, grey levels: 0 dark .. 255 the
bright field) and `y` (int64 class ids 0-5); stored compressed:

    0 neutrophil    17%   a pale granular cell with a nucleus of 3-5 small lobes in a chain
    1 lymphocyte    17%   a small cell almost filled by one round, very dark nucleus
    2 monocyte      17%   a large cell, grey cytoplasm with vacuoles, a kidney-shaped nucleus
    3 eosinophil    17%   a two-lobed nucleus in cytoplasm full of coarse granules
    4 basophil      16%   a cell so packed with dark granules that the nucleus is hidden
    5 platelets     16%   no white cell: a clump of a few small dark fragments

Every cut-out has a cell of random size, an orientation and an off-centre position, a
mirror image half the time, red blood cells (pale-centred disks) around it and sometimes
over it, a stain of random strength, a field of uneven brightness, focus blur and camera
noise. Two-lobed neutrophils look like eosinophils with faint granules, large lymphocytes
like small monocytes, and faint basophils like eosinophils. 3% of the labels are wrong.
A small two-block CNN (16, 32 channels, batch norm) reaches about 0.88 test accuracy, an
MLP on the flattened pixels about 0.65, a logistic regression about 0.63 (the largest
class alone: 0.18).
The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

CONDITIONS = ["normal", "gearbox_wear", "blade_icing", "pitch_fault", "yaw_misalignment"]
SHARES = [0.40, 0.15, 0.15, 0.15, 0.15]
MODELS = {
    "V90-2.0": (2000.0, 12.0, 14.9),
    "SG-3.4": (3400.0, 12.5, 13.0),
    "N117-3.6": (3600.0, 11.5, 11.8),
}  # rated kW, rated wind m/s, rated rotor rpm
SITES = ["onshore_plain", "onshore_ridge", "coastal", "offshore"]
COLUMNS = [
    "turbine_model",
    "site",
    "wind_speed_ms",
    "turbulence_ms",
    "ambient_temp_c",
    "humidity_pct",
    "air_density_kgm3",
    "power_kw",
    "rotor_rpm",
    "generator_rpm",
    "pitch_angle_deg",
    "pitch_motor_current_a",
    "yaw_error_deg",
    "heading_vs_farm_deg",
    "gearbox_oil_temp_c",
    "gearbox_bearing_temp_c",
    "vib_1p_mm_s",
    "gearmesh_vib_g",
    "tower_accel_g",
    "oil_particles_per_ml",
    "energy_total_mwh",
    "condition",
]


def _power_curve(v: float, rated: float, v_rated: float, density: float) -> float:
    """kW from the wind: cubic between cut-in (3 m/s) and rated, flat above, cut-out 25."""
    if v < 3.0 or v >= 25.0:
        return 0.0
    share = min(1.0, ((v - 3.0) / (v_rated - 3.0)) ** 3 * density / 1.225)
    return rated * share


def _expected_pitch(v: float, v_rated: float) -> float:
    """Degrees: fine pitch (0) below rated, pitched out with the wind above it."""
    return 0.0 if v <= v_rated else 1.6 * (v - v_rated) ** 0.85


def _row(rng: np.random.Generator, label: int) -> list[str]:
    model = ["V90-2.0", "SG-3.4", "N117-3.6"][rng.choice(3, p=[0.35, 0.35, 0.30])]
    rated, v_rated, rpm_rated = MODELS[model]
    site = SITES[rng.choice(4, p=[0.35, 0.25, 0.2, 0.2])]
    severity = rng.uniform(0.1, 1.0)
    # weather: icing happens in cold, wet weather only; other periods cover the seasons
    if label == 2:
        ambient = rng.uniform(-14.0, 2.5)
        humidity = rng.uniform(80.0, 100.0)
    else:
        ambient = rng.normal(9.0 if site != "offshore" else 11.0, 9.0)
        humidity = float(np.clip(rng.normal(75.0, 13.0) - 0.3 * ambient, 25.0, 100.0))
    ambient = float(np.clip(ambient, -20.0, 35.0))
    density = 1.225 * 288.15 / (273.15 + ambient) * rng.normal(1.0, 0.01)
    v = float(
        np.clip(rng.weibull(2.1) * (8.5 if site in ("offshore", "coastal") else 7.2), 3.2, 24.5)
    )
    turbulence = v * rng.uniform(0.06, 0.2 if site == "onshore_ridge" else 0.14)
    power = _power_curve(v, rated, v_rated, density)
    pitch = _expected_pitch(v, v_rated)
    current = 8.0 + 0.6 * pitch + rng.gamma(2.0, 1.5)
    yaw_error = rng.normal(0.0, 3.5)
    heading = rng.normal(0.0, 4.0)
    load = power / rated
    oil = 38.0 + 0.35 * ambient + 22.0 * load + rng.normal(0.0, 2.5)
    bearing = oil + 6.0 + 8.0 * load + rng.normal(0.0, 2.0)
    vib_1p = rng.lognormal(np.log(0.9 + 1.2 * load), 0.3)
    gearmesh = rng.lognormal(np.log(0.004 + 0.01 * load), 0.35)
    tower = rng.lognormal(np.log(0.002 + 0.004 * turbulence / max(v, 1.0) * 10), 0.3)
    age_years = rng.uniform(0.5, 22.0)
    energy = rated / 1000.0 * 8760 * 0.33 * age_years * rng.normal(1.0, 0.1)
    particles = rng.lognormal(np.log(300.0 + 60.0 * age_years), 0.5)
    if label == 0 and rng.random() < 0.2:  # curtailed by the grid: pitched out on purpose
        cap = rng.uniform(0.4, 0.8) * rated
        if power > cap:
            pitch += 4.0 * (power - cap) / rated * 10**0.5 + rng.uniform(1.0, 4.0)
            power = cap
    elif label == 1:  # gearbox wear
        oil += 3.0 + 10.0 * severity
        bearing += 3.0 + 12.0 * severity
        gearmesh *= 1.3 + 3.5 * severity
        particles *= np.exp(0.4 + 1.8 * severity)
    elif label == 2:  # blade icing
        power *= 1.0 - (0.08 + 0.4 * severity)
        vib_1p *= 1.2 + 1.8 * severity
        tower *= 1.0 + 0.6 * severity
    elif label == 3:  # pitch fault: lagging or stuck, too far out or too far in
        offset = (2.0 + 9.0 * severity) * rng.choice([-1.0, 1.0], p=[0.35, 0.65])
        new_pitch = max(-2.0, pitch + offset)
        if new_pitch > pitch:
            power *= max(0.05, 1.0 - 0.045 * (new_pitch - pitch) ** 1.2)
        else:
            power *= 1.0 + 0.02 * (pitch - new_pitch) * (v > v_rated)
        pitch = new_pitch
        current *= 1.3 + 2.2 * severity
        tower *= 1.2 + 1.5 * severity
    elif label == 4:  # yaw misalignment: the vane is off, so the turbine thinks it is aligned
        angle = (6.0 + 22.0 * severity) * rng.choice([-1.0, 1.0])
        heading += angle
        power *= np.cos(np.radians(angle)) ** 2.6
        vib_1p *= 1.0 + 0.5 * severity
        tower *= 1.0 + 0.4 * severity
    power = max(0.0, power * rng.normal(1.0, 0.04) + rng.normal(0.0, 0.01 * rated))
    pitch += rng.normal(0.0, 0.4)
    rotor = min(rpm_rated, rpm_rated * (0.45 + 0.55 * min(1.0, power / rated) ** 0.5))
    rotor *= rng.normal(1.0, 0.02)
    generator = rotor * {"V90-2.0": 112.8, "SG-3.4": 119.0, "N117-3.6": 104.6}[model]
    label_out = label
    return [
        model,
        site,
        f"{v:.2f}",
        f"{turbulence:.3f}",
        f"{ambient:.1f}",
        f"{humidity:.1f}",
        f"{density:.4f}",
        f"{power:.1f}",
        f"{rotor:.2f}",
        f"{generator:.1f}",
        f"{pitch:.2f}",
        f"{current:.2f}",
        f"{yaw_error:.2f}",
        f"{heading:.2f}",
        f"{oil:.1f}",
        f"{bearing:.1f}",
        f"{vib_1p:.3f}",
        f"{gearmesh:.5f}",
        f"{tower:.5f}",
        f"{particles:.0f}",
        f"{energy:.0f}",
        CONDITIONS[label_out],
    ]


def turbine_scada(rows: int = 2600, seed: int = 220_001) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(CONDITIONS), size=rows, p=SHARES)
    lines = [",".join(COLUMNS)]
    wrong = rng.random(rows) < 0.035
    for label, flip in zip(labels, wrong, strict=True):
        fields = _row(rng, int(label))
        if flip:  # a wrong label in the maintenance log
            others = [c for c in CONDITIONS if c != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 28
UP = 2  # drawn at twice the size, then averaged down (anti-aliasing)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(SIZE * UP) + 0.5) / UP - SIZE / 2
    return np.meshgrid(axis, axis, indexing="xy")


GX, GY = _grid()


def _disk(cx: float, cy: float, r: float, edge: float = 0.7) -> np.ndarray:
    """A soft disk: 1 inside, 0 outside, a sigmoid edge of `edge` pixels."""
    d = np.hypot(GX - cx, GY - cy) - r
    return 1.0 / (1.0 + np.exp(np.clip(d / (edge * 0.35), -30, 30)))


def _ellipse(cx, cy, a, b, angle, edge=0.7) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    u = (GX - cx) * c + (GY - cy) * s
    w = -(GX - cx) * s + (GY - cy) * c
    d = (np.sqrt((u / a) ** 2 + (w / b) ** 2) - 1.0) * min(a, b)
    return 1.0 / (1.0 + np.exp(np.clip(d / (edge * 0.35), -30, 30)))


def _granules(rng, cx, cy, r, count, size) -> np.ndarray:
    """Dark dots scattered inside a disk."""
    out = np.zeros_like(GX)
    for _ in range(count):
        rho = r * np.sqrt(rng.random()) * 0.92
        phi = rng.uniform(0, 2 * np.pi)
        out = np.maximum(
            out,
            _disk(
                cx + rho * np.cos(phi), cy + rho * np.sin(phi), size * rng.uniform(0.7, 1.3), 0.5
            ),
        )
    return out


def _rbc(rng, cx, cy, r) -> np.ndarray:
    """A red cell's darkening: a disk with a pale centre."""
    return 0.32 * _disk(cx, cy, r) - 0.17 * _disk(cx, cy, r * 0.45, 1.2)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    radius = 3
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(image, radius, mode="edge")
    rows = sum(k[i] * padded[:, i : i + image.shape[1]] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + image.shape[0], :] for i in range(2 * radius + 1))


def blood_cell(rng: np.random.Generator, kind: int) -> np.ndarray:
    dark = np.zeros_like(GX)  # optical density, added up, then turned into grey levels
    cx, cy = rng.normal(0.0, 1.8, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    mirror = rng.random() < 0.5
    stain = rng.uniform(0.7, 1.3)
    # red cells around (more of them where there is no white cell to centre on)
    for _ in range(int(rng.integers(1, 5)) + (2 if kind == 5 else 0)):
        phi = rng.uniform(0, 2 * np.pi)
        rho = rng.uniform(11.0, 17.0) if kind != 5 else rng.uniform(7.0, 15.0)
        dark += _rbc(rng, rho * np.cos(phi), rho * np.sin(phi), rng.uniform(4.0, 5.5))

    def at(u: float, w: float) -> tuple[float, float]:
        """A point of the cell's own frame (turned, maybe mirrored) on the canvas."""
        w = -w if mirror else w
        return (cx + u * np.cos(turn) - w * np.sin(turn), cy + u * np.sin(turn) + w * np.cos(turn))

    if kind == 0:  # neutrophil: pale cytoplasm, 3-5 lobes on an arc
        r = rng.uniform(8.0, 10.0)
        dark += 0.22 * _disk(cx, cy, r) + 0.08 * _granules(rng, cx, cy, r, 25, 0.5)
        lobes = int(rng.integers(2, 6)) if rng.random() < 0.2 else int(rng.integers(3, 6))
        for t in np.linspace(-1.0, 1.0, lobes):
            u, w = r * 0.5 * np.sin(t * 1.4), r * 0.45 * (np.cos(t * 1.4) - 0.55)
            dark += 0.7 * _disk(*at(u, w), rng.uniform(1.4, 2.0))
    elif kind == 1:  # lymphocyte: small, one round very dark nucleus
        r = rng.uniform(5.5, 8.0)
        dark += 0.3 * _disk(cx, cy, r)
        dark += 0.85 * _disk(*at(r * 0.12, 0.0), r * rng.uniform(0.72, 0.85))
    elif kind == 2:  # monocyte: large, grey cytoplasm with vacuoles, kidney nucleus
        r = rng.uniform(9.5, 12.0)
        dark += 0.32 * _disk(cx, cy, r)
        for _ in range(int(rng.integers(2, 6))):
            rho, phi = r * 0.8 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
            dark -= 0.15 * _disk(cx + rho * np.cos(phi), cy + rho * np.sin(phi), 0.9)
        nr = r * rng.uniform(0.5, 0.62)
        bean = _disk(*at(0.0, 0.0), nr) * (1.0 - _disk(*at(nr * 0.95, 0.0), nr * 0.55))
        dark += 0.6 * bean
    elif kind == 3:  # eosinophil: two lobes, coarse granules all over
        r = rng.uniform(8.0, 10.0)
        dark += 0.25 * _disk(cx, cy, r)
        dark += 0.3 * rng.uniform(0.5, 1.1) * _granules(rng, cx, cy, r, 45, 0.75)
        for side in (-1.0, 1.0):
            dark += 0.7 * _disk(*at(side * r * 0.38, r * 0.1), rng.uniform(2.2, 3.0))
    elif kind == 4:  # basophil: dark granules everywhere, hiding the nucleus
        r = rng.uniform(7.5, 9.5)
        dark += 0.3 * _disk(cx, cy, r)
        dark += 0.35 * _disk(*at(0.0, 0.0), r * 0.55)
        dark += 0.55 * rng.uniform(0.6, 1.1) * _granules(rng, cx, cy, r, 60, 0.8)
    else:  # platelets: a clump of small fragments, no white cell
        for _ in range(int(rng.integers(3, 9))):
            rho, phi = rng.uniform(0.0, 4.5), rng.uniform(0, 2 * np.pi)
            a, b = rng.uniform(0.9, 1.8), rng.uniform(0.6, 1.2)
            dark += 0.7 * _ellipse(
                cx + rho * np.cos(phi), cy + rho * np.sin(phi), a, b, rng.uniform(0, np.pi)
            )
    if rng.random() < 0.25:  # a red cell lying over the white one
        phi = rng.uniform(0, 2 * np.pi)
        dark += _rbc(rng, cx + 7 * np.cos(phi), cy + 7 * np.sin(phi), 4.5)
    # the field: uneven brightness, stain strength, focus, camera
    gx, gy = rng.normal(0.0, 0.004, size=2)
    field = rng.uniform(0.78, 0.95) + gx * GX + gy * GY
    image = field * np.exp(-stain * np.clip(dark, 0.0, None) * 1.4)
    image = image.reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    image = _blur(image, rng.uniform(0.4, 1.1))
    image += rng.normal(0.0, rng.uniform(0.015, 0.045), size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def blood_smear(count: int = 2400, seed: int = 220_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=[0.17, 0.17, 0.17, 0.17, 0.16, 0.16]).astype(np.int64)
    X = np.stack([blood_cell(rng, int(k)) for k in y])[:, None]
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
    (HERE / "turbine_scada.csv").write_text("\n".join(turbine_scada()) + "\n")
    X, y = blood_smear()
    _save_npz(HERE / "blood_smear28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
