"""Two user data files for the held-out-15 round of the fault benchmark, written beside this
script. Deterministic: numpy PCG64 generators with fixed seeds, so a rerun writes the same
files (`python make_data.py`).

ship_engines.csv: 2,600 rows, 21 columns + `target` (a CSV table)
    Condition-monitoring snapshots of ships' main engines, one row per hourly log entry
    taken at steady running, with the condition a fleet's technical superintendent later
    assigned to the engine at that time (from the next inspection's findings).
    6 classes (`target`, text): normal 36%, injector_fault 16%, turbo_fouling 15%,
    cooling_fault 12%, liner_wear 11%, lube_oil_degradation 10%.
    19 numeric columns in their own units and scales: engine_load_pct (30-100),
    shaft_rpm (two-stroke tankers, bulkers and container ships turn at 70-110 rpm,
    four-stroke ferry engines at 400-760 rpm), exhaust_temp_mean_c (220-520),
    exhaust_temp_spread_c (the hottest cylinder's outlet minus the coolest, 2-250,
    log-normal), scavenge_air_bar (0.2-4.5), turbo_rpm (3,000-30,000), fuel_rack_mm
    (15-110), sfoc_g_kwh (specific fuel oil consumption, 150-230), pmax_bar (peak cylinder
    pressure, 70-200), pmax_spread_bar (0.5-60, log-normal), lube_oil_temp_c (35-75),
    lube_oil_bar (1.0-5.0), lube_iron_ppm (wear metal in the oil, 1-600, log-normal),
    lube_viscosity_cst (at 40 C, 50-170), jacket_water_c (65-105), sea_water_c (0-34),
    crankcase_mist_mg_l (oil mist detector, 0.005-5, log-normal), vibration_mm_s (RMS
    velocity at the thrust block, 0.5-40, log-normal) and hours_since_overhaul (50-45,000,
    log-normal); 2 text columns: vessel_type (tanker, bulker, container, ferry: sets the
    engine's speed range and its usual load) and fuel (HFO, MGO, LNG: heavy fuel runs
    with a wider exhaust spread and more soot-thinned, heavier oil; LNG dual-fuel engines
    burn less fuel by mass).
    What separates them: a worn or leaking injector makes one cylinder hot (a wide exhaust
    spread and pmax spread), raises the fuel consumption and thins the oil with fuel;
    turbocharger fouling lowers the scavenge air pressure and turbo speed for the load,
    so every cylinder burns hotter and the rack and fuel consumption rise; a cooling fault
    heats the jacket water and the lube oil (more often in warm seas); worn liners leak
    combustion gas into the crankcase (oil mist), lower pmax, shed iron and vibrate, on
    engines long since overhauled; degraded lube oil has lost viscosity and pressure,
    carries wear iron and runs a little hot. Load drives most readings (temperatures,
    pressures, rpm, rack), so each is only telling relative to the load, and every
    engine's own state (its age since overhaul, a hull that needs more power) shifts
    several together. Scatter is wide, injector/turbo and liner/lube overlap, and 5% of
    the labels are changed to the condition an inspection confuses it with. A logistic
    regression, a gradient-boosted tree or a standardised two-layer MLP all reach about
    0.84-0.88 test accuracy (chance: 0.36, the share of the largest class).

weld_xray30.npz: 2,460 images, X uint8 (2460, 1, 30, 30), y int64 (2460,)
    Grayscale crops of digitised industrial radiographs of butt welds in steel plate, each
    around one stretch of weld seam as an automatic inspection tool cuts them: the weld
    bead is a brighter band (thicker metal absorbs more) crossing the crop at a random
    offset (+-4 px), direction (horizontal or vertical, +-20 degrees) and width (7-11 px),
    with its ripple texture, on the darker parent plate. 7 classes (uneven: 500, 420, 380,
    320, 300, 300, 240 images): 0 sound (a clean bead; one in ten has a single tiny pore,
    which codes allow), 1 porosity (3-9 small round dark gas pores scattered in the bead,
    sometimes clustered), 2 slag (1-3 irregular, elongated dark inclusions lying along the
    bead), 3 lack_of_fusion (a straight, sharp, thin dark line along one fusion face, at
    the edge of the bead), 4 crack (a thin jagged dark line, along the bead's centre or
    across it, sometimes branched), 5 undercut (broad soft dark grooves just outside the
    bead at its toe, on one or both sides, intermittent), 6 burn_through (a large dark
    round hole in the bead with a bright ring of dropped-through metal). Film clutter
    lies over many crops: the bright parallel wires of an image quality indicator (35%),
    a bright lead position marker at an edge (30%), a straight film scratch across the
    whole crop (12%: a dark line that looks like lack of fusion or a crack to a careless
    eye), uneven exposure, film grain and blur. What separates the classes is the shape
    of a small dark mark and where it lies relative to the bead, wherever the bead runs:
    a small CNN (three conv blocks) reaches about 0.89-0.91 test accuracy, an MLP on the
    pixels about 0.46 (chance: 0.20, the share of the largest class).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# --- ship_engines.csv --------------------------------------------------------------------

# (name, share): the condition the superintendent assigned
CONDITIONS = (
    ("normal", 0.36),
    ("injector_fault", 0.16),
    ("turbo_fouling", 0.15),
    ("cooling_fault", 0.12),
    ("liner_wear", 0.11),
    ("lube_oil_degradation", 0.10),
)
# what an inspection confuses each condition with: a flipped label goes to one of these
CONFUSED = {0: (1, 3, 5), 1: (2, 0), 2: (1, 0), 3: (0, 5), 4: (5, 1), 5: (4, 3)}
VESSELS = ("tanker", "bulker", "container", "ferry")
VESSEL_SHARE = (0.3, 0.3, 0.25, 0.15)
RATED_RPM = (98.0, 92.0, 84.0, 600.0)  # ferry: a medium-speed four-stroke
USUAL_LOAD = (72.0, 70.0, 62.0, 80.0)
FUELS = ("HFO", "MGO", "LNG")
FUEL_SHARE = (0.55, 0.3, 0.15)


def ship_engines(rows: int = 2600, seed: int = 1501, noise: float = 0.05) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    share = np.array([p for _, p in CONDITIONS])
    y = rng.choice(len(CONDITIONS), size=rows, p=share / share.sum())
    n = rows

    def per_class(values: tuple[float, ...]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[y]

    def gauss(sd: float) -> np.ndarray:
        return sd * rng.standard_normal(n)

    vessel = rng.choice(len(VESSELS), size=n, p=VESSEL_SHARE)
    fuel = rng.choice(len(FUELS), size=n, p=FUEL_SHARE)
    hfo, lng = fuel == 0, fuel == 2
    load = np.clip(np.asarray(USUAL_LOAD)[vessel] + rng.normal(0, 13, n), 30, 100)
    x = load / 100
    # every engine's own state: time since overhaul, a fouled hull / heavy weather
    hours = np.exp(np.log(per_class((5500, 6500, 7000, 6000, 16000, 9000))) + gauss(0.65))
    hours = np.clip(hours, 50, 45000)
    age = np.log(hours / 6000)  # older than usual: > 0
    hull = gauss(1.0)  # more power needed for the speed: hotter, more fuel

    sev = rng.uniform(0.5, 1.4, n)  # how far the fault has gone
    inj, turbo, cool = (y == 1) * sev, (y == 2) * sev, (y == 3) * sev
    liner, lube = (y == 4) * sev, (y == 5) * sev

    rated = np.asarray(RATED_RPM)[vessel] * rng.uniform(0.92, 1.08, n)
    rpm = rated * x ** (1 / 3) * (1 - 0.012 * hull) + gauss(0.6) * rated / 100
    scav = (0.35 + 3.1 * x**1.6) * (1 - 0.2 * turbo - 0.03 * age) * np.exp(gauss(0.07))
    turbo_rpm = (5200 + 19000 * x) * (1 - 0.08 * turbo) * np.exp(gauss(0.05))
    exh = 255 + 170 * x + 40 * turbo + 11 * inj + 6 * hull + 8 * age + 10 * hfo + gauss(17)
    spread = np.exp(np.log(16 + 8 * hfo) + 1.4 * inj + 0.25 * liner + 0.2 * age + gauss(0.42))
    rack = (22 + 68 * x) * (1 + 0.06 * turbo + 0.04 * inj + 0.025 * hull) + gauss(3.5)
    sfoc = 172 + 60 * (x - 0.8) ** 2 + 6 * inj + 6 * turbo + 2 * hull - 7 * lng + gauss(3.5)
    pmax = (78 + 95 * x) * (1 - 0.06 * liner - 0.05 * turbo + 0.02 * inj) * np.exp(gauss(0.045))
    pmax_spread = np.exp(np.log(3.5) + 1.2 * inj + 0.55 * liner + gauss(0.45))
    oil_t = 44 + 8 * x + 9 * cool + 2.0 * lube + 0.12 * rng.uniform(0, 1, n) * 10 + gauss(2.6)
    oil_p = 3.4 - 0.7 * lube - 0.12 * liner - 0.15 * cool + gauss(0.28)
    iron = np.exp(np.log(11) + 1.3 * lube + 1.2 * liner + 0.45 * age + gauss(0.5))
    visc = 118 + 14 * hfo - 28 * lube - 6 * inj - 4 * cool - 3 * age + gauss(8)
    sea = np.clip(np.where(y == 3, 24, 17) + gauss(7.5), 0, 34)
    jacket = 79 + 0.12 * (sea - 17) + 11 * cool + 2 * x + gauss(2.6)
    mist = np.exp(np.log(0.06) + 1.8 * liner + 0.55 * lube + 0.35 * age + gauss(0.65))
    vib = np.exp(np.log(3.6) + 0.45 * liner + 0.25 * inj + 0.12 * age + 0.3 * x + gauss(0.38))

    flip = rng.random(n) < noise
    labels = y.copy()
    for i in np.flatnonzero(flip):
        labels[i] = rng.choice(CONFUSED[int(y[i])])

    return pd.DataFrame(
        {
            "engine_load_pct": np.round(load, 1),
            "shaft_rpm": np.round(np.clip(rpm, 50, 760), 1),
            "exhaust_temp_mean_c": np.round(np.clip(exh, 220, 520), 1),
            "exhaust_temp_spread_c": np.round(np.clip(spread, 2, 250), 1),
            "scavenge_air_bar": np.round(np.clip(scav, 0.2, 4.5), 3),
            "turbo_rpm": np.round(np.clip(turbo_rpm, 3000, 30000), -1).astype(np.int64),
            "fuel_rack_mm": np.round(np.clip(rack, 15, 110), 1),
            "sfoc_g_kwh": np.round(np.clip(sfoc, 150, 230), 1),
            "pmax_bar": np.round(np.clip(pmax, 70, 200), 1),
            "pmax_spread_bar": np.round(np.clip(pmax_spread, 0.5, 60), 1),
            "lube_oil_temp_c": np.round(np.clip(oil_t, 35, 75), 1),
            "lube_oil_bar": np.round(np.clip(oil_p, 1.0, 5.0), 2),
            "lube_iron_ppm": np.round(np.clip(iron, 1, 600)).astype(np.int64),
            "lube_viscosity_cst": np.round(np.clip(visc, 50, 170), 1),
            "jacket_water_c": np.round(np.clip(jacket, 65, 105), 1),
            "sea_water_c": np.round(sea, 1),
            "crankcase_mist_mg_l": np.round(np.clip(mist, 0.005, 5), 3),
            "vibration_mm_s": np.round(np.clip(vib, 0.5, 40), 2),
            "hours_since_overhaul": np.round(hours).astype(np.int64),
            "vessel_type": [VESSELS[k] for k in vessel],
            "fuel": [FUELS[k] for k in fuel],
            "target": [CONDITIONS[k][0] for k in labels],
        }
    )


# --- weld_xray30.npz ---------------------------------------------------------------------

SIZE = 30
DEFECTS = (
    "sound",
    "porosity",
    "slag",
    "lack_of_fusion",
    "crack",
    "undercut",
    "burn_through",
)
COUNTS = (500, 420, 380, 320, 300, 300, 240)
_R, _C = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def _soft(distance: np.ndarray, edge: float = 0.5) -> np.ndarray:
    """Coverage 0..1 of the points at a signed distance from a shape's edge (< 0 inside)."""
    return 1 / (1 + np.exp(np.clip(distance / edge, -50, 50)))


class _Seam:
    """The weld's own coordinates: u along the seam, v across it (0 on its centre line)."""

    def __init__(self, cy: float, cx: float, angle: float):
        c, s = np.cos(angle), np.sin(angle)
        dy, dx = _R - cy, _C - cx
        self.u = c * dx + s * dy
        self.v = -s * dx + c * dy

    def dot(self, u0: float, v0: float, r: float, edge: float = 0.35) -> np.ndarray:
        return _soft(np.hypot(self.u - u0, self.v - v0) - r, edge)

    def blob(self, u0: float, v0: float, ru: float, rv: float, edge: float = 0.4) -> np.ndarray:
        d = np.hypot((self.u - u0) / ru, (self.v - v0) / rv)
        return _soft((d - 1) * min(ru, rv), edge)

    def path(self, points: np.ndarray, width: float, edge: float = 0.3) -> np.ndarray:
        """A polyline through (u, v) points, `width` its half-width."""
        best = np.full((SIZE, SIZE), np.inf)
        for (u0, v0), (u1, v1) in pairwise(points):
            du, dv = u1 - u0, v1 - v0
            t = np.clip(
                ((self.u - u0) * du + (self.v - v0) * dv) / max(du * du + dv * dv, 1e-9), 0, 1
            )
            best = np.minimum(best, np.hypot(self.u - u0 - t * du, self.v - v0 - t * dv))
        return _soft(best - width, edge)


def _smooth_noise(rng: np.random.Generator, cells: int, amplitude: float) -> np.ndarray:
    """Low-frequency variation: a coarse random grid, bilinearly upsampled."""
    grid = rng.normal(0, amplitude, (cells + 1, cells + 1))
    pos = np.linspace(0, cells, SIZE)
    i = np.minimum(pos.astype(int), cells - 1)
    t = pos - i
    rows = grid[i] * (1 - t)[:, None] + grid[i + 1] * t[:, None]
    return rows[:, i] * (1 - t) + rows[:, i + 1] * t


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    radius = 2
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(img, radius, mode="edge")
    rows = sum(k[i] * padded[i : i + SIZE, :] for i in range(2 * radius + 1))
    return sum(k[i] * rows[:, i : i + SIZE] for i in range(2 * radius + 1))


def _defect(
    kind: int, s: _Seam, half: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(dark, bright): where the defect removes metal (darker film) or adds it (brighter)."""
    dark = np.zeros((SIZE, SIZE))
    bright = np.zeros((SIZE, SIZE))
    along = lambda spread=9.0: rng.uniform(-spread, spread)  # noqa: E731
    if kind == 0:  # sound; now and then one tiny pore, below the acceptance limit
        if rng.random() < 0.1:
            dark = 0.6 * s.dot(along(), rng.uniform(-0.5, 0.5) * half, rng.uniform(0.4, 0.7))
    elif kind == 1:  # porosity: small round gas pores, scattered or clustered
        count = rng.integers(3, 10)
        centre = along(6)
        cluster = rng.random() < 0.4
        for _ in range(count):
            u = centre + rng.normal(0, 2.5) if cluster else along(12)
            v = rng.uniform(-0.65, 0.65) * half
            dark = np.maximum(dark, rng.uniform(0.6, 1.0) * s.dot(u, v, rng.uniform(0.6, 1.2)))
    elif kind == 2:  # slag: irregular elongated inclusions lying along the bead
        for _ in range(rng.integers(1, 4)):
            u, v = along(8), rng.uniform(-0.5, 0.5) * half
            ru, rv = rng.uniform(2.6, 4.5), rng.uniform(0.8, 1.3)
            ragged = 1 + _smooth_noise(rng, 6, 0.35)
            dark = np.maximum(
                dark, np.clip(s.blob(u, v, ru, rv) * ragged, 0, 1) * rng.uniform(0.6, 0.95)
            )
    elif kind == 3:  # lack of fusion: a straight, sharp, thin line along one fusion face
        side = rng.choice((-1, 1))
        v = side * half * rng.uniform(0.7, 0.9)
        u0 = along(10)
        length = rng.uniform(9, 22)
        pts = np.array([[u0 - length / 2, v], [u0 + length / 2, v + rng.normal(0, 0.3)]])
        dark = rng.uniform(0.8, 1.0) * s.path(pts, rng.uniform(0.4, 0.6), 0.25)
    elif kind == 4:  # crack: a thin jagged line, along the centre or across the bead
        steps = rng.integers(6, 11)
        if rng.random() < 0.55:  # longitudinal
            u = along(5) + np.cumsum(rng.uniform(1.0, 2.0, steps))
            u -= u.mean() - along(3)
            v = np.cumsum(rng.normal(0, 0.7, steps)) * 0.6 + rng.uniform(-0.3, 0.3) * half
        else:  # transverse: across the bead and a little into the plate
            v = np.linspace(-half * 1.1, half * 1.1, steps) * rng.uniform(0.7, 1.0)
            u = along(7) + np.cumsum(rng.normal(0, 0.8, steps))
        pts = np.stack([u, v], 1)
        dark = s.path(pts, rng.uniform(0.35, 0.55), 0.3)
        if rng.random() < 0.4:  # a branch
            k = rng.integers(1, steps - 1)
            tip = pts[k] + rng.normal(0, 2.5, 2)
            dark = np.maximum(dark, s.path(np.stack([pts[k], tip]), 0.3, 0.3))
        dark *= rng.uniform(0.8, 1.0)
    elif kind == 5:  # undercut: broad soft grooves just outside the bead, intermittent
        sides = (-1, 1) if rng.random() < 0.4 else (rng.choice((-1, 1)),)
        for side in sides:
            toe = side * (half + rng.uniform(0.0, 0.8))
            groove = _soft(np.abs(s.v - toe) - rng.uniform(0.9, 1.4), 0.6)
            patchy = np.clip(0.7 + _smooth_noise(rng, 3, 0.9), 0, 1)
            dark = np.maximum(dark, groove * patchy * rng.uniform(0.6, 0.85))
    else:  # burn-through: a large dark hole with a bright ring of dropped-through metal
        u, v, r = along(7), rng.uniform(-0.3, 0.3) * half, rng.uniform(1.8, 3.2)
        dark = s.blob(u, v, r * rng.uniform(1.0, 1.5), r, 0.45) * rng.uniform(0.8, 1.0)
        ring = np.hypot(s.u - u, s.v - v)
        bright = _soft(np.abs(ring - r - 1.0) - 0.7, 0.5) * rng.uniform(0.4, 0.8)
    return dark, bright


def _clutter(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(bright, dark) film clutter: indicator wires, a lead marker, a scratch."""
    bright = np.zeros((SIZE, SIZE))
    dark = np.zeros((SIZE, SIZE))
    if rng.random() < 0.35:  # image quality indicator: parallel wires of decreasing gauge
        s = _Seam(*rng.uniform(3, 27, 2), rng.uniform(0, np.pi))
        start, gap = rng.uniform(-6, 0), rng.uniform(1.8, 2.6)
        for k in range(rng.integers(3, 6)):
            wire = s.path(
                np.array([[start + k * gap, -5.0], [start + k * gap, 5.0]]), 0.45 - 0.07 * k, 0.3
            )
            bright = np.maximum(bright, 0.7 * wire)
    if rng.random() < 0.3:  # a lead position marker at an edge
        r0, c0 = rng.choice((rng.uniform(0, 4), rng.uniform(24, 28))), rng.uniform(0, 24)
        if rng.random() < 0.5:
            r0, c0 = c0, r0
        box = _soft(np.maximum(np.abs(_R - r0 - 1.5) - 1.5, np.abs(_C - c0 - 2.5) - 2.5), 0.4)
        bright = np.maximum(bright, 0.9 * box)
    if rng.random() < 0.12:  # a film scratch straight across the crop
        s = _Seam(*rng.uniform(5, 25, 2), rng.uniform(0, np.pi))
        dark = np.maximum(dark, 0.5 * s.path(np.array([[-30.0, 0.0], [30.0, 0.0]]), 0.2, 0.3))
    return bright, dark


def weld_xray30(seed: int = 1502) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = np.repeat(np.arange(len(DEFECTS)), COUNTS)
    y = y[rng.permutation(len(y))]
    X = np.empty((len(y), 1, SIZE, SIZE), np.uint8)
    for i, kind in enumerate(y):
        angle = rng.uniform(-0.35, 0.35) + (np.pi / 2 if rng.random() < 0.5 else 0.0)
        s = _Seam(14.5 + rng.uniform(-4, 4), 14.5 + rng.uniform(-4, 4), angle)
        half = rng.uniform(3.5, 5.5)
        # the bead: a rounded band, brighter than the plate, with chevron ripples
        bead = _soft(np.abs(s.v) - half, 0.8)
        ripple = np.sin(
            2 * np.pi * (s.u + 0.6 * np.abs(s.v)) / rng.uniform(2.5, 3.5) + rng.uniform(0, 6.3)
        )
        crown = np.clip(1 - (s.v / (half + 0.5)) ** 2, 0, 1)
        thick = bead * (0.75 + 0.25 * crown + 0.05 * ripple) * (1 + _smooth_noise(rng, 3, 0.08))
        dark, bright = _defect(int(kind), s, half, rng)
        wires, scratch = _clutter(rng)
        exposure = rng.uniform(0.25, 0.4) + _smooth_noise(rng, 2, 0.06)
        img = exposure + rng.uniform(0.25, 0.4) * thick
        img -= rng.uniform(0.65, 0.8) * dark
        img += 0.25 * bright + 0.3 * wires - 0.2 * scratch
        img = _blur(img, rng.uniform(0.4, 0.7))
        img += rng.normal(0, rng.uniform(0.015, 0.035), (SIZE, SIZE))  # film grain
        X[i, 0] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return X, y.astype(np.int64)


def main() -> None:
    ship_engines().to_csv(HERE / "ship_engines.csv", index=False)
    X, y = weld_xray30()
    np.savez_compressed(HERE / "weld_xray30.npz", X=X, y=y)


if __name__ == "__main__":
    main()
