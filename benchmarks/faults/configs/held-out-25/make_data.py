"""The user data of fault-benchmark round held-out-25: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

moulding_shots.csv: a plastics plant's injection-moulding shot log, checked by QC
----------------------------------------------------------------------------------
3,000 rows, 23 columns. Each row is one sampled shot of one of the plant's injection
moulding presses: the resin and press, the part's geometry, the machine's set points and
its own readings of the shot, the resin dryer's log and the part's weight on the inline
scale, and, in the text column `defect`, what the quality inspector found on that part:

    ok            36%   a good part
    short_shot    13%   the cavity did not fill: the melt was too cold, the lot too stiff
                        (a low melt-flow index) so the injection hit its pressure limit, or
                        the shot was dosed too small and the screw bottomed out (cushion near
                        0); the part weighs several percent less than its nominal weight
    flash         13%   a thin fin of plastic at the parting line: the clamp force is below
                        what the cavity pressure times the projected area asks for, or a
                        worn mould (many shots since its last service) with a hot melt; the
                        part weighs a little more than nominal
    sink_marks    13%   dents over thick sections: too little packing, a hold pressure low
                        against the injection peak or a hold time short for the wall
                        thickness; mostly thick-walled parts, weighing slightly less
    warpage       13%   the part bends after ejection: a cooling time short for the wall
                        thickness, or mould halves at different temperatures; high-shrinkage
                        resins (pp, pom) more often; the weight is normal
    splay         12%   silver streaks: a hygroscopic resin (abs, pc, pa66) moulded wet, its
                        moisture above that resin's limit after too few hours in the dryer

Columns (units): resin (text: pp, abs, pc, pa66, pom), press (text: press_80t, press_150t,
press_300t: clamp capacities of 785, 1,470 and 2,940 kN), wall_mm (1-5), projected_area_cm2
(~80-630), nominal_weight_g (~6-360), melt_temp_c (~155-345), mould_temp_c (~18-112),
mould_delta_c (between the mould halves, 0-28), lot_mfi (the lot's melt-flow index, g/10
min, 2.5-51), injection_speed_mm_s (25-160), fill_time_s (0.06-3.8), peak_pressure_bar
(~100-2,400), pressure_limit_bar, hold_pressure_bar, hold_time_s (0.6-42), cooling_time_s
(1.8-116), cushion_mm (0-10), clamp_force_kn (~50-2,940), shots_since_service (0 to 3e5),
dryer_hours (0-6), resin_moisture_pct (0.003-0.92), part_weight_g (the inline scale), and
the defect. Values span 1e-3 to 3e5 across columns; no value is missing.

What separates the defects: ratios and combinations, not one column. The part's weight
only means something against its nominal weight; the clamp force against the projected
area times the peak pressure; the hold time and cooling time against the square of the wall
thickness; the melt temperature against the resin's window; the moisture against the
resin's own limit (pc's is 0.02%, pa66's 0.2%). Mild cases (severity is drawn per row) look
normal, so the classes overlap; 4% of the labels are wrong. In scikit-learn, on the
standardised columns (text one-hot), a logistic regression reaches about 0.74 test
accuracy, gradient boosting about 0.86; trainwell's healthy ReLU MLP (128, 64) about 0.83;
the majority class alone: 0.34.

xrd_frames32.npz: frames of an X-ray diffraction beamline's area detector, triaged
-------------------------------------------------------------------------------------
Arrays `X` (2,000 x 1 x 32 x 32, uint8, channels first: the detector frame binned to 32 x 32
and shown on a log scale, 0 dark .. 255 brightest) and `y` (int64 class ids 0-5), stored
compressed. A beamline scientist sorted each frame by what the sample gave:

    0 amorphous        17%   no order: one or two broad diffuse halos around the beam
    1 powder           17%   a fine powder: two to five sharp, even Debye-Scherrer rings
    2 textured         17%   a powder with a preferred orientation: the rings break into
                             pairs of opposite arcs
    3 coarse_grain     16%   few large grains: rings made of separate spots
    4 single_crystal   17%   a lattice of Bragg spots, at a random rotation and spacing
    5 fibre            16%   a fibre: spots and short arcs on the equator and streaks along
                             layer lines above and below it

Every frame has the direct beam off-centre by a pixel or two, the beamstop's dark disc with
its arm towards the edge, air scatter falling off from the centre, a random exposure,
Poisson and read noise, and sometimes a dark gap between detector panels and hot pixels.
Weak textures look like powder rings, coarse grains with many spots like a spotty powder,
few of them like a crystal, a fibre's equatorial arcs like texture. 3% of the labels are
wrong. A logistic regression on the pixels reaches about 0.39 test accuracy, trainwell's
healthy three-block CNN (16, 32, 64 channels, batch norm) about 0.85 (the largest class
alone: 0.18). The class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

DEFECTS = ["ok", "short_shot", "flash", "sink_marks", "warpage", "splay"]
SHARES = [0.36, 0.13, 0.13, 0.13, 0.13, 0.12]
# melt window (C), mould window (C), moisture limit (%), density (g/cm3), viscosity factor,
# the usual lot's melt-flow index (g/10 min), hygroscopic
RESINS = {
    "pp": (200.0, 250.0, 20.0, 60.0, 0.20, 0.90, 0.8, 20.0, False),
    "abs": (220.0, 260.0, 40.0, 80.0, 0.10, 1.05, 1.1, 18.0, True),
    "pc": (280.0, 320.0, 80.0, 110.0, 0.02, 1.20, 1.5, 10.0, True),
    "pa66": (270.0, 300.0, 60.0, 90.0, 0.20, 1.14, 0.7, 35.0, True),
    "pom": (190.0, 220.0, 60.0, 100.0, 0.20, 1.41, 0.9, 9.0, False),
}
RESIN_SHARES = [0.30, 0.25, 0.15, 0.18, 0.12]
PRESSES = {"press_80t": (785.0, 30.0), "press_150t": (1470.0, 40.0), "press_300t": (2940.0, 55.0)}
COLUMNS = [
    "resin",
    "press",
    "wall_mm",
    "projected_area_cm2",
    "nominal_weight_g",
    "melt_temp_c",
    "mould_temp_c",
    "mould_delta_c",
    "lot_mfi",
    "injection_speed_mm_s",
    "fill_time_s",
    "peak_pressure_bar",
    "pressure_limit_bar",
    "hold_pressure_bar",
    "hold_time_s",
    "cooling_time_s",
    "cushion_mm",
    "clamp_force_kn",
    "shots_since_service",
    "dryer_hours",
    "resin_moisture_pct",
    "part_weight_g",
    "defect",
]


def _shot(rng: np.random.Generator, label: int) -> list[str]:
    names = list(RESINS)
    if label == 5:  # splay: only a resin that takes up water
        resin = names[rng.choice([1, 2, 3], p=[0.45, 0.25, 0.30])]
    elif label == 4 and rng.random() < 0.5:  # warpage: high-shrinkage resins more often
        resin = names[rng.choice([0, 4], p=[0.6, 0.4])]
    else:
        resin = names[rng.choice(len(names), p=RESIN_SHARES)]
    melt_lo, melt_hi, mould_lo, mould_hi, limit, density, visc, mfi0, wet = RESINS[resin]
    press = list(PRESSES)[rng.choice(3, p=[0.35, 0.4, 0.25])]
    capacity, screw_mm = PRESSES[press]
    severity = rng.uniform(0.05, 1.0)

    wall = rng.uniform(1.0, 4.5)
    if label == 3 and rng.random() < 0.7:  # sink marks: mostly thick sections
        wall = rng.uniform(2.8, 5.0)
    melt = rng.uniform(melt_lo, melt_hi) + rng.normal(0.0, 2.0)
    mould = rng.uniform(mould_lo, mould_hi) + rng.normal(0.0, 1.5)
    delta = abs(rng.normal(0.0, 2.5))
    mfi = mfi0 * rng.lognormal(0.0, 0.15)
    speed = rng.uniform(25.0, 160.0)
    cushion = rng.uniform(3.0, 10.0)
    shots = rng.uniform(0.0, 150_000.0)
    dryer = rng.uniform(3.0, 6.0) if wet else rng.choice([0.0, rng.uniform(0.0, 3.0)])
    moisture = limit * rng.uniform(0.15, 0.8) if wet else rng.uniform(0.005, 0.05)
    hold_ratio = rng.uniform(0.5, 0.8)
    hold_need = 1.1 * wall**2 + 1.0
    hold_time = hold_need * rng.uniform(1.0, 1.5)
    cool_need = 1.8 * wall**2 * (1.0 + 0.01 * (mould - 40.0)) + 2.0
    cooling = cool_need * rng.uniform(1.05, 1.6)
    short_cause = flash_cause = 0

    if label == 1:  # short shot
        short_cause = int(rng.integers(3))
        if short_cause == 0:  # a cold melt
            melt = melt_lo - 3.0 - 30.0 * severity + rng.normal(0.0, 2.0)
        elif short_cause == 1:  # a stiff lot
            mfi = mfi0 * (0.75 - 0.45 * severity) * rng.lognormal(0.0, 0.1)
        else:  # dosed too small: the screw bottoms out
            cushion = rng.uniform(0.0, 0.6)
    elif label == 2:  # flash
        flash_cause = int(rng.integers(2))
        if flash_cause == 1:  # a worn mould and a hot melt
            shots = rng.uniform(140_000.0, 150_000.0 + 150_000.0 * severity)
            melt = melt_hi + 2.0 + 18.0 * severity + rng.normal(0.0, 2.0)
    elif label == 3:  # sink marks: too little packing
        if rng.random() < 0.5:
            hold_ratio = 0.5 - 0.3 * severity + rng.normal(0.0, 0.02)
        else:
            hold_time = hold_need * (0.85 - 0.55 * severity)
    elif label == 4:  # warpage
        if rng.random() < 0.55:
            cooling = cool_need * (0.95 - 0.5 * severity)
        else:
            delta = 5.0 + 20.0 * severity + abs(rng.normal(0.0, 2.0))
    elif label == 5:  # splay: moulded wet
        moisture = limit * (1.05 + 3.0 * severity) * rng.lognormal(0.0, 0.1)
        dryer = rng.uniform(0.0, 3.5) if rng.random() < 0.8 else rng.uniform(3.0, 5.0)

    # the part: an area that asks 35-75% of the press's clamp at a usual cavity pressure
    area = capacity / (350.0 * 0.01) * rng.uniform(0.35, 0.75)
    volume = area * wall / 10.0 * rng.uniform(0.6, 1.0)  # cm3
    nominal = volume * density
    # the flow: the pressure the melt needs to fill the cavity at this speed
    viscosity = visc * np.exp(-0.018 * (melt - (melt_lo + melt_hi) / 2)) * (mfi0 / mfi)
    need = 650.0 * viscosity * (2.0 / wall) ** 0.8 * (speed / 80.0) ** 0.3
    need *= rng.lognormal(0.0, 0.08)
    p_limit = min(need * rng.uniform(1.15, 1.6), 2400.0)
    if label == 1 and short_cause < 2:  # it runs into its pressure limit
        p_limit = min(need * rng.uniform(0.7, 0.97 - 0.1 * severity), 2400.0)
    peak = min(need, p_limit) * rng.normal(1.0, 0.01)
    screw_area = np.pi * (screw_mm / 20.0) ** 2  # cm2
    fill_time = volume / (speed / 10.0 * screw_area) * rng.normal(1.0, 0.03)
    if peak < need * 0.99:  # held back by the limit: the screw slows down
        fill_time *= need / peak
    cavity = peak * rng.uniform(0.35, 0.5)
    required = area * cavity * 0.01  # kN
    clamp = min(required * rng.uniform(1.15, 1.5), capacity)
    if label == 2 and flash_cause == 0:  # the clamp gives way
        clamp = min(required * (0.98 - 0.3 * severity) * rng.normal(1.0, 0.02), capacity)
    hold = peak * hold_ratio
    cycle_noise = rng.normal(0.0, 0.3)
    hold_time = max(hold_time + cycle_noise, 0.3)
    cooling = max(cooling + rng.normal(0.0, 0.3), 0.8)

    weight = nominal * rng.normal(1.0, 0.004)
    if label == 1:
        weight *= 1.0 - 0.015 - 0.15 * severity
    elif label == 2:
        weight *= 1.0 + 0.004 + 0.03 * severity
    elif label == 3:
        weight *= 1.0 - 0.004 - 0.02 * severity
    elif label == 5:
        weight *= 1.0 - 0.004 * severity
    return [
        resin,
        press,
        f"{wall:.2f}",
        f"{area:.1f}",
        f"{nominal:.2f}",
        f"{melt:.1f}",
        f"{mould:.1f}",
        f"{delta:.1f}",
        f"{mfi:.1f}",
        f"{speed:.0f}",
        f"{fill_time:.3f}",
        f"{peak:.0f}",
        f"{p_limit:.0f}",
        f"{hold:.0f}",
        f"{hold_time:.1f}",
        f"{cooling:.1f}",
        f"{cushion:.2f}",
        f"{clamp:.0f}",
        f"{shots:.0f}",
        f"{dryer:.1f}",
        f"{moisture:.3f}",
        f"{weight:.2f}",
        DEFECTS[label],
    ]


def moulding_shots(rows: int = 3000, seed: int = 26_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(DEFECTS), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.04
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _shot(rng, int(label))
        if flip:  # an inspector who ticked the wrong box
            others = [d for d in DEFECTS if d != fields[-1]]
            fields[-1] = others[int(rng.integers(len(others)))]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 32
UP = 2  # drawn at twice the size, then averaged down (the detector's binning)
AXIS = (np.arange(SIZE * UP) + 0.5) / UP - SIZE / 2
GX, GY = np.meshgrid(AXIS, AXIS, indexing="xy")
PEAKS = np.sqrt(np.array([3, 4, 8, 11, 12, 16, 19, 20, 24, 27], dtype=float))  # fcc rings


def _spot(x: float, y: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((GX - x) ** 2 + (GY - y) ** 2) / sigma**2)


def _rings(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Radii and intensities of `count` powder rings of a cubic lattice, scaled at random."""
    scale = rng.uniform(4.0, 6.5)
    first = int(rng.integers(0, 3))
    radii = scale * PEAKS[first : first + 8] / PEAKS[first]
    radii = radii[radii < 14.5][:count]
    return radii, rng.uniform(0.6, 1.6, size=len(radii))


def xrd_frame(rng: np.random.Generator, kind: int) -> np.ndarray:
    cx, cy = rng.normal(0.0, 1.2, size=2)
    dx, dy = GX - cx, GY - cy
    r = np.hypot(dx, dy)
    phi = np.arctan2(dy, dx)
    signal = np.zeros_like(GX)
    if kind == 0:  # amorphous: broad halos
        for _ in range(1 + int(rng.random() < 0.4)):
            radius, width = rng.uniform(5.0, 12.0), rng.uniform(1.6, 3.5)
            signal += rng.uniform(0.4, 1.0) * np.exp(-0.5 * ((r - radius) / width) ** 2)
    elif kind in (1, 2):  # powder rings, even or broken into arcs
        radii, heights = _rings(rng, int(rng.integers(2, 6)))
        width = rng.uniform(0.3, 0.65)
        texture = np.ones_like(GX)
        if kind == 2:
            power = rng.uniform(1.5, 10.0)
            texture = 0.08 + 0.92 * np.abs(np.cos(phi - rng.uniform(0.0, np.pi))) ** power
        for radius, height in zip(radii, heights, strict=True):
            ring = height * np.exp(-0.5 * ((r - radius) / width) ** 2)
            signal += ring * texture
        signal += rng.uniform(0.0, 0.25) * np.exp(-0.5 * ((r - rng.uniform(5, 10)) / 3.0) ** 2)
    elif kind == 3:  # coarse grains: rings of separate spots
        radii, heights = _rings(rng, int(rng.integers(2, 5)))
        for radius, height in zip(radii, heights, strict=True):
            spots = int(rng.integers(4, 16) * radius / 6.0) + 2
            for angle in rng.uniform(-np.pi, np.pi, size=spots):
                x = cx + radius * np.cos(angle)
                y = cy + radius * np.sin(angle)
                signal += 2.5 * height * rng.exponential(1.0) * _spot(x, y, rng.uniform(0.45, 0.7))
        signal = np.minimum(signal, 4.0)
    elif kind == 4:  # single crystal: a lattice of Bragg spots
        angle = rng.uniform(0.0, np.pi)
        gamma = rng.uniform(np.radians(60.0), np.radians(120.0))
        a, b = rng.uniform(2.6, 5.0, size=2)
        va = a * np.array([np.cos(angle), np.sin(angle)])
        vb = b * np.array([np.cos(angle + gamma), np.sin(angle + gamma)])
        reach = rng.uniform(9.0, 15.0)
        sigma = rng.uniform(0.45, 0.7)
        keep = rng.uniform(0.55, 0.95)  # the spots in reflecting condition
        for h in range(-6, 7):
            for k in range(-6, 7):
                if h == 0 and k == 0:
                    continue
                x, y = h * va + k * vb
                if np.hypot(x, y) > reach or rng.random() > keep:
                    continue
                height = rng.exponential(2.0) * np.exp(-0.06 * np.hypot(x, y))
                signal += height * _spot(cx + x, cy + y, sigma)
        signal = np.minimum(signal, 4.0)
    else:  # fibre: equatorial arcs and layer-line streaks
        axis = rng.normal(np.pi / 2, 0.5)  # the fibre axis, roughly vertical
        u = dx * np.cos(axis) + dy * np.sin(axis)  # along the fibre
        v = -dx * np.sin(axis) + dy * np.cos(axis)  # across it (the equator)
        spread = rng.uniform(0.12, 0.35)  # the arcs' angular width
        for _ in range(int(rng.integers(2, 4))):  # equatorial reflections
            radius = rng.uniform(3.5, 13.0)
            arc = np.exp(-0.5 * ((r - radius) / 0.5) ** 2)
            arc *= np.exp(-0.5 * (np.arctan2(u, np.abs(v)) / spread) ** 2)
            signal += rng.uniform(0.7, 1.6) * arc
        spacing = rng.uniform(3.0, 5.5)
        for layer in range(1, 4):  # layer lines above and below
            if layer * spacing > 14.0:
                break
            height = rng.uniform(0.5, 1.2) / layer
            offset = rng.uniform(1.5, 5.0)
            along = np.exp(-0.5 * ((np.abs(u) - layer * spacing) / 0.45) ** 2)
            across = np.exp(-0.5 * ((np.abs(v) - offset) / rng.uniform(1.0, 2.5)) ** 2)
            signal += height * along * across
    # the frame: air scatter, exposure, the beamstop and its arm, detector noise
    exposure = rng.lognormal(np.log(60.0), 0.5)
    background = rng.uniform(0.2, 0.8) * np.exp(-r / rng.uniform(4.0, 9.0)) + rng.uniform(
        0.04, 0.15
    )
    counts = exposure * (signal + background)
    counts = counts.reshape(SIZE, UP, SIZE, UP).mean(axis=(1, 3))
    counts = rng.poisson(counts).astype(float) + rng.normal(0.0, 1.0, size=counts.shape)
    small = np.hypot(*np.meshgrid(AXIS[::UP] + 0.5 - cx, AXIS[::UP] + 0.5 - cy, indexing="xy"))
    ys, xs = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    stop = small < rng.uniform(1.8, 3.0)
    arm = rng.uniform(0.0, 2 * np.pi)
    ax, ay = np.cos(arm), np.sin(arm)
    px, py = xs - SIZE / 2 + 0.5 - cx, ys - SIZE / 2 + 0.5 - cy
    stop |= (np.abs(-px * ay + py * ax) < 0.8) & (px * ax + py * ay > 0)
    counts[stop] = rng.normal(0.5, 0.3, size=int(stop.sum()))
    if rng.random() < 0.4:  # a gap between detector panels
        at = int(rng.integers(4, SIZE - 4))
        if rng.random() < 0.5:
            counts[at, :] = 0.0
        else:
            counts[:, at] = 0.0
    for _ in range(int(rng.poisson(1.0))):  # hot pixels
        counts[int(rng.integers(SIZE)), int(rng.integers(SIZE))] = exposure * rng.uniform(1, 3)
    image = np.log1p(np.maximum(counts, 0.0)) / np.log1p(exposure * 2.2)
    image = image * rng.uniform(0.8, 1.0) + rng.normal(0.0, 0.02, size=image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def xrd_frames(count: int = 2000, seed: int = 26_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=[0.17, 0.17, 0.17, 0.16, 0.17, 0.16]).astype(np.int64)
    X = np.stack([xrd_frame(rng, int(k)) for k in y])[:, None]
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
    (HERE / "moulding_shots.csv").write_text("\n".join(moulding_shots()) + "\n")
    X, y = xrd_frames()
    _save_npz(HERE / "xrd_frames32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
