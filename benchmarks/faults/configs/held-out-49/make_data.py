"""The user data of fault-benchmark round held-out-49: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

tbm_rings.csv: a tunnel boring machine's ring-by-ring log, one lining ring per row
---------------------------------------------------------------------------------
2,900 rows, 19 columns. Each row is one ring of tunnel lining built by a 6.6 m
earth-pressure-balance tunnel boring machine, as its data logger exports the shift's
rings: the ground at the face (a text column: clay, sand_gravel, mixed_face,
weathered_rock or hard_rock, each with its own nominal thrust, cutterhead torque and
speed, penetration and foam dose) and 17 numeric columns in their own units: the cover
depth (m), thrust (kN, ~10,000 to ~58,000), cutterhead torque (kNm, log-normal, ~1,100 to
~17,500: heavy-tailed), cutterhead speed (rpm), penetration (mm per turn),
advance rate (mm/min), face support pressure (bar), the muck mass excavated for the ring
(t), the foam injection rate (L/min, log-normal), grout volume (m3), disc cutter
temperature (deg C), rings since the last cutter change (gamma, up to ~1,700:
heavy-tailed), vibration (g rms, log-normal), surface settlement above the ring (mm,
log-normal: 1 to 2 for most, over 100 above a running face) and the hydraulic oil
temperature (deg C), and two columns that do not bear on the call (the ring number and
the hour into the shift). Behind each ring is a hidden condition: sound ground and
tools, worn disc cutters (in rock, more likely the longer since a change), an unstable
face (in sand above all, with too little support pressure: over-excavation and
settlement), clay clogging the cutterhead (torque up, penetration down) or a boulder or
buried obstruction (in mixed ground above all: thrust and vibration up), each in its own
degree; besides, some rings were cut in a hot week (the cutters read 8-20 degrees warm),
some met a stiff clay lens (torque up by 40% or more) and some shook from works nearby
(vibration up with no obstruction). A few readings are missing and left blank: the foam
rate (69 rows), vibration (65) and settlement (88). `call`, the shift engineer's call, by
the site's rules in this order (the last that holds wins, so an earlier rule is
overridden by a later one):

    condition_soil       11%   torque above 1.7 x the ground's nominal with foam below
                               1.25 x its nominal dose, or an advance rate below 0.35 x
                               the ground's nominal (penetration x speed)
    change_cutters        9%   cutters above 50 degrees with penetration below 0.62 x the
                               ground's nominal or more than 400 rings since a change
    raise_face_pressure  12%   over 104 t of muck with the face pressure below the
                               support the cover needs (0.06 bar/m x cover + 0.7 bar), or
                               settlement above 18 mm
    clear_obstruction     8%   vibration above 0.9 g with thrust above 1.3 x the ground's
                               nominal
    advance              60%   otherwise

No rule is one column: each combines two or three readings with the ground's own
nominal values, at thresholds far out on heavy-tailed scales, and the rules override
each other. 3% of the calls are wrong (a random other one). In scikit-learn (5-fold,
standardised columns, mean-imputed, text one-hot) a logistic regression reaches about
0.83 accuracy, a random forest (300 trees) about 0.89; the commonest call alone 0.60.
The healthy MLP of this round reaches about 0.87.

reef_quadrats28.npz: a reef survey's photo-quadrats, one organism per frame
---------------------------------------------------------------------------
2,520 RGB images (uint8, `X` of shape (2520, 3, 28, 28)) cut from the photo-quadrats a
diver takes along a coral-reef survey transect, one sessile organism seen from above
per frame: the seabed (sand in its own tone and texture, two to six pebbles and pieces
of coral rubble, in 30% of the frames a small fish passing over), the organism at a
random position (+-3 px), turned by any angle and scaled by 0.85-1.15, in a colour
drawn from one palette for every class (brown, purple, yellow, green, orange, pink or
near-black, at 0.7-1.15 of its brightness), with its darker living margin and a soft
shadow to a random side; over it all the rippling caustics of sunlight through the
waves, the water's colour (red fading with depth), a blue-green haze, the exposure,
flecks of marine snow and sensor noise. Labels `y` (int64), 6 classes, 420 each:

    0 brain_coral   1 staghorn   2 table_coral   3 sea_fan   4 urchin   5 anemone

A brain coral is a rounded dome covered in meandering grooves; a staghorn three to five
antler-like branches out from its base, each forking once; a table coral a broad flat
plate with a scalloped rim, fine radial lines and a darker edge; a sea fan a fan-shaped
net of fine branches on a short stem; an urchin a small dark test bristling with long
thin spines; an anemone a compact oral disc ringed by two rows of short, fat tentacles.
The colour says nothing of the class, and the turn, the sand, the light and the water
vary far more than the outlines. On the raw pixels a logistic regression reaches about
0.46 and a random forest about 0.54 (3-fold); the healthy CNN of this round about 0.88.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GEOLOGY = ("clay", "sand_gravel", "mixed_face", "weathered_rock", "hard_rock")
CALLS = ("advance", "condition_soil", "change_cutters", "raise_face_pressure", "clear_obstruction")
COLUMNS = (
    ("geology", None),
    ("overburden_m", 1),
    ("thrust_kn", 0),
    ("torque_knm", 0),
    ("cutterhead_rpm", 2),
    ("penetration_mm_rev", 1),
    ("advance_mm_min", 1),
    ("face_pressure_bar", 2),
    ("muck_mass_t", 1),
    ("foam_l_min", 0),
    ("grout_m3", 2),
    ("cutter_temp_c", 1),
    ("rings_since_change", 0),
    ("vibration_g", 3),
    ("settlement_mm", 1),
    ("oil_temp_c", 1),
    ("ring_number", 0),
    ("shift_hour", 1),
    ("call", None),
)
SIZE = 28
ORGANISMS = ("brain_coral", "staghorn", "table_coral", "sea_fan", "urchin", "anemone")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- tbm_rings.csv ------------------------------------------------------------------------


def tbm_rings(n: int = 2900, seed: int = 49001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    geo = rng.choice(len(GEOLOGY), size=n, p=[0.26, 0.22, 0.18, 0.18, 0.16])
    # each ground's nominal thrust (kN), torque (kNm), penetration (mm/rev), cutterhead speed
    # (rpm) and foam dose (L/min) for this 6.6 m machine
    nom_thrust = np.array([14000.0, 16000.0, 21000.0, 24000.0, 30000.0])[geo]
    nom_torque = np.array([2600.0, 2200.0, 3000.0, 2700.0, 2400.0])[geo]
    nom_pen = np.array([28.0, 24.0, 16.0, 12.0, 7.0])[geo]
    nom_rpm = np.array([1.6, 1.8, 2.2, 2.6, 3.1])[geo]
    nom_foam = np.array([260.0, 180.0, 150.0, 90.0, 40.0])[geo]
    rock = geo >= 3
    overburden = rng.uniform(8, 38, size=n)
    since = rng.gamma(1.6, 120 + 60 * rock, size=n).round()
    # the ring's hidden condition: sound, worn disc cutters (in rock, long since a change),
    # an unstable face (sand, a low support pressure), clay clogging the cutterhead, or a
    # boulder or buried obstruction (mixed face above all); each in its own degree
    u = rng.random(n)
    p_wear = 0.07 + 0.3 * rock * np.clip(since / 350, 0, 1.5)
    p_face = p_wear + 0.1 + 0.18 * (geo == 1)
    p_clog = p_face + 0.08 + 0.22 * (geo == 0)
    p_obst = p_clog + 0.08 + 0.18 * (geo == 2)
    cond = np.select([u < p_wear, u < p_face, u < p_clog, u < p_obst], [1, 2, 3, 4], 0)
    deg = np.where(cond > 0, rng.beta(2.0, 1.2, size=n), 0.0)
    wear, face, clog, obst = (np.where(cond == k, deg, 0.0) for k in (1, 2, 3, 4))
    thrust = nom_thrust * rng.lognormal(0, 0.12, size=n) * (1 + 0.5 * wear + 0.7 * obst)
    torque = (
        nom_torque
        * rng.lognormal(0, 0.25, size=n)
        * (1 + 2.2 * clog**1.2 + 1.2 * obst + 0.2 * wear)
    )
    rpm = nom_rpm * rng.lognormal(0, 0.08, size=n)
    pen = (
        nom_pen
        * rng.lognormal(0, 0.2, size=n)
        * (1 - 0.6 * wear)
        * (1 - 0.55 * clog)
        * (1 - 0.35 * obst)
    )
    advance = pen * rpm * rng.lognormal(0, 0.05, size=n)
    support = 0.06 * overburden + 0.7  # the support the ground needs (bar)
    pressure = support + rng.normal(0.15, 0.22, size=n) - 0.7 * face
    muck = 96 * rng.lognormal(0, 0.045, size=n) * (1 + 0.3 * face - 0.12 * clog)
    foam = nom_foam * rng.lognormal(0, 0.35, size=n) * (1 + 0.3 * clog * rng.random(n))
    grout = 5.9 * (1 + 0.35 * face) + rng.normal(0, 0.35, size=n)
    temp = 34 + 6 * rock + 28 * wear**1.2 + 5 * clog + rng.normal(0, 4.0, size=n)
    vibration = rng.lognormal(np.log(0.18 + 0.1 * rock + 1.6 * obst + 0.3 * wear), 0.55, size=n)
    settle = rng.lognormal(np.log(1.5 + 30 * face**1.6), 0.7, size=n)
    oil = 42 + 9 * torque / nom_torque + rng.normal(0, 3.0, size=n)
    # a hot summer week, a stiff clay lens, a cutter run long without wear: readings that
    # look like trouble without it
    temp = np.where(rng.random(n) < 0.12, temp + rng.uniform(8, 20, size=n), temp)
    torque = np.where(rng.random(n) < 0.1, torque * rng.uniform(1.4, 2.2, size=n), torque)
    vibration = np.where(rng.random(n) < 0.08, vibration + rng.uniform(0.8, 2.0, size=n), vibration)
    ring = rng.integers(1, 4200, size=n)
    shift = rng.uniform(0, 12, size=n)
    # the shift engineer's call, by the site's rules in this order (a later one overrides)
    call = np.zeros(n, dtype=int)
    call[
        ((torque > 1.7 * nom_torque) & (foam < 1.25 * nom_foam))
        | (advance < 0.35 * nom_pen * nom_rpm)
    ] = 1
    call[(temp > 50) & ((pen < 0.62 * nom_pen) | (since > 400))] = 2
    call[((muck > 104) & (pressure < support)) | (settle > 18)] = 3
    call[(vibration > 0.9) & (thrust > 1.3 * nom_thrust)] = 4
    flip = rng.random(n) < 0.03
    call[flip] = (call[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "geology": [GEOLOGY[i] for i in geo],
        "overburden_m": overburden,
        "thrust_kn": thrust,
        "torque_knm": torque,
        "cutterhead_rpm": rpm,
        "penetration_mm_rev": pen,
        "advance_mm_min": advance,
        "face_pressure_bar": pressure,
        "muck_mass_t": muck,
        "foam_l_min": foam,
        "grout_m3": grout,
        "cutter_temp_c": temp,
        "rings_since_change": since,
        "vibration_g": vibration,
        "settlement_mm": settle,
        "oil_temp_c": oil,
        "ring_number": ring.astype(float),
        "shift_hour": shift,
        "call": [CALLS[i] for i in call],
    }
    missing = {
        "foam_l_min": rng.random(n) < 0.025,
        "vibration_g": rng.random(n) < 0.02,
        "settlement_mm": rng.random(n) < 0.03,
    }
    header = [name for name, _ in COLUMNS]
    columns = []
    for name, digits in COLUMNS:
        if digits is None:
            columns.append(values[name])
            continue
        blank = missing.get(name, np.zeros(n, dtype=bool))
        columns.append(
            [
                "" if gap else f"{v + 0.0:.{digits}f}"
                for v, gap in zip(np.round(values[name], digits), blank, strict=True)
            ]
        )
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- reef_quadrats28.npz ------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def segment(u, v, u0, v0, u1, v1, r: float) -> np.ndarray:
    """Signed distance to a bar from (u0, v0) to (u1, v1) of half-width r."""
    du, dv = u1 - u0, v1 - v0
    t = np.clip(((u - u0) * du + (v - v0) * dv) / (du * du + dv * dv + 1e-9), 0, 1)
    return np.hypot(u - u0 - t * du, v - v0 - t * dv) - r


def ellipse(u, v, cu: float, cv: float, a: float, b: float, angle: float = 0.0) -> np.ndarray:
    """Approximate signed distance to an ellipse centred (cu, cv), half-axes a (along u), b."""
    du, dv = u - cu, v - cv
    c, s = np.cos(angle), np.sin(angle)
    p, q = du * c + dv * s, -du * s + dv * c
    return (np.hypot(p / a, q / b) - 1) * min(a, b)


def organism(rng: np.random.Generator, kind: str, u, v) -> list:
    """The organism seen from above in its own coordinates: a list of (signed distance,
    shade) layers drawn in order, shade a multiplier of its colour (below 1: darker)."""
    layers = []
    r = np.hypot(u, v)
    if kind == "brain_coral":  # a rounded dome covered in meandering grooves
        a, b = rng.uniform(6.5, 9.0), rng.uniform(5.5, 8.0)
        dome = ellipse(u, v, 0, 0, a, b, rng.uniform(0, np.pi))
        layers.append((dome, 1.0))
        f = rng.uniform(1.2, 1.6)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        warp = 1.3 * np.sin(0.55 * v + phase[0]) + 0.9 * np.sin(0.45 * u + phase[1])
        groove = np.abs(np.sin(f * (u + warp) + phase[2])) - 0.35
        layers.append((np.maximum(dome + 0.6, groove * 2.0), 0.45))
    elif kind == "staghorn":  # antler-like branches out from a base, forking
        arms = int(rng.integers(3, 6))
        start = rng.uniform(0, 2 * np.pi)
        parts = []
        for k in range(arms):
            ang = start + k * 2 * np.pi / arms + rng.normal(0, 0.25)
            reach = rng.uniform(9.0, 12.5)
            mid = reach * rng.uniform(0.4, 0.55)
            mu, mv = mid * np.cos(ang), mid * np.sin(ang)
            width = rng.uniform(1.0, 1.45)
            parts.append(segment(u, v, 0, 0, mu, mv, width))
            for side in (-1, 1):
                b_ang = ang + side * rng.uniform(0.35, 0.75)
                rest = reach - mid
                parts.append(
                    segment(
                        u,
                        v,
                        mu,
                        mv,
                        mu + rest * np.cos(b_ang),
                        mv + rest * np.sin(b_ang),
                        width * 0.8,
                    )
                )
        parts.append(r - 1.8)
        body = np.minimum.reduce(parts)
        layers.append((body, 1.0))
        layers.append((np.maximum(body + 0.4, 5.5 - r), 1.25))  # paler growing tips
    elif kind == "table_coral":  # a flat plate with a scalloped rim and fine radial lines
        radius = rng.uniform(8.0, 10.5)
        squash = rng.uniform(0.75, 1.0)
        turn = rng.uniform(0, np.pi)
        p = u * np.cos(turn) + v * np.sin(turn)
        q = (-u * np.sin(turn) + v * np.cos(turn)) / squash
        rr = np.hypot(p, q)
        lobes = int(rng.integers(7, 12))
        rim = radius * (1 + 0.06 * np.sin(lobes * np.arctan2(q, p) + rng.uniform(0, 6.3)))
        plate = rr - rim
        layers.append((plate, 1.0))
        spokes = np.abs(np.sin(rng.integers(14, 22) * np.arctan2(q, p) / 2)) - 0.18
        layers.append((np.maximum(np.maximum(plate + 1.0, 2.0 - rr), spokes * 3.0), 0.75))
        layers.append((np.maximum(np.abs(plate + 0.8) - 0.5, -plate - 2.0), 0.7))  # darker rim
    elif kind == "sea_fan":  # a fan-shaped net of fine branches on a short stem
        radius = rng.uniform(9.0, 12.0)
        spread = rng.uniform(0.9, 1.3)
        cu = -radius * 0.45  # the stem's foot
        du = u - cu
        rr = np.hypot(du, v)
        ang = np.arctan2(v, du)
        sector = np.maximum(rr - radius, np.abs(ang) * rr - spread * rr)
        sector = np.maximum(sector, 1.5 - rr)
        pitch = rng.uniform(2.6, 3.2)
        mesh_a = np.abs(((du * 0.7 + v * 0.7) % pitch) - pitch / 2) - 0.45
        mesh_b = np.abs(((du * 0.7 - v * 0.7) % pitch) - pitch / 2) - 0.45
        net = np.maximum(sector, np.minimum(mesh_a, mesh_b))
        edge = np.maximum(np.abs(sector + 0.4) - 0.45, -sector - 1.5)
        stem = segment(u, v, cu - 1.5, 0, cu + 2.5, 0, 0.7)
        layers.append((np.minimum.reduce([net, edge, stem]), 1.0))
    elif kind == "urchin":  # a small dark test bristling with long thin spines
        body = rng.uniform(2.2, 3.4)
        spines = int(rng.integers(14, 24))
        parts = [r - body]
        for _ in range(spines):
            ang = rng.uniform(0, 2 * np.pi)
            reach = body + rng.uniform(4.0, 8.0)
            parts.append(
                segment(
                    u, v, 0, 0, reach * np.cos(ang), reach * np.sin(ang), rng.uniform(0.22, 0.4)
                )
            )
        layers.append((np.minimum.reduce(parts), 0.45))
        layers.append((r - body * 0.45, 0.8))
    else:  # anemone: an oral disc with a ring of short, fat tentacles
        disc = rng.uniform(2.5, 3.6)
        count = int(rng.integers(9, 15))
        parts = [r - disc]
        start = rng.uniform(0, 2 * np.pi)
        for ring, (reach, width) in enumerate(((disc + 1.6, 0.95), (disc + 3.2, 0.8))):
            for k in range(count):
                ang = start + (k + 0.5 * ring) * 2 * np.pi / count + rng.normal(0, 0.1)
                length = reach * rng.uniform(0.85, 1.15)
                parts.append(
                    ellipse(
                        u,
                        v,
                        length * np.cos(ang) * 0.8,
                        length * np.sin(ang) * 0.8,
                        1.9 * width,
                        0.85 * width,
                        ang,
                    )
                )
        layers.append((np.minimum.reduce(parts), 1.0))
        layers.append((r - disc * 0.9, 0.8))
        layers.append((r - disc * 0.3, 0.4))  # the mouth
    return layers


PALETTE = np.array(
    [
        (0.62, 0.45, 0.28),  # brown
        (0.58, 0.35, 0.55),  # purple
        (0.78, 0.70, 0.35),  # yellow
        (0.45, 0.62, 0.40),  # green
        (0.82, 0.50, 0.35),  # orange
        (0.80, 0.55, 0.62),  # pink
        (0.30, 0.25, 0.30),  # near-black
    ]
)


def quadrat(rng: np.random.Generator, kind: str) -> np.ndarray:
    """One organism in a diver's photo-quadrat frame, RGB in 0..1, shape (3, 28, 28)."""
    scale = rng.uniform(0.85, 1.15)
    cy, cx = SIZE / 2 + rng.uniform(-3.0, 3.0, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    # the seabed: sand and rubble, lit by rippling caustics
    sand = np.array([0.72, 0.66, 0.52]) * rng.uniform(0.7, 1.05)
    image = sand[:, None, None] * (1 + 0.08 * rng.normal(size=(1, SIZE, SIZE)))
    for _ in range(int(rng.integers(2, 7))):  # rubble: pebbles and broken coral
        py, px = rng.uniform(0, SIZE, size=2)
        d = ellipse(
            _GRID[1],
            _GRID[0],
            px,
            py,
            rng.uniform(0.8, 2.2),
            rng.uniform(0.6, 1.5),
            rng.uniform(0, 3.2),
        )
        m = inside(d)
        tone = rng.uniform(0.35, 0.9) * sand
        image = image * (1 - m) + m * tone[:, None, None]
    if rng.random() < 0.3:  # a small fish passing over
        py, px = rng.uniform(0, SIZE, size=2)
        fa = rng.uniform(0, 2 * np.pi)
        fu = (_GRID[1] - px) * np.cos(fa) + (_GRID[0] - py) * np.sin(fa)
        fv = -(_GRID[1] - px) * np.sin(fa) + (_GRID[0] - py) * np.cos(fa)
        fish = np.minimum(
            ellipse(fu, fv, 0, 0, 2.6, 1.0),
            np.maximum(np.abs(fv) - (fu + 4.2) * 0.8, np.maximum(fu + 1.8, -fu - 4.2)),
        )
        m = inside(fish) * 0.9
        tone = PALETTE[int(rng.integers(len(PALETTE)))] * rng.uniform(0.5, 1.0)
        image = image * (1 - m) + m * tone[:, None, None]
    colour = PALETTE[int(rng.integers(len(PALETTE)))] * rng.uniform(0.7, 1.15)
    colour = colour + rng.normal(0, 0.04, size=3)
    layers = organism(rng, kind, u, v)
    outline = layers[0][0]
    shade = np.roll(
        inside(outline - 0.3, 2.0), tuple(int(s) for s in rng.integers(-2, 3, size=2)), (0, 1)
    )
    image = image * (1 - 0.45 * shade)
    for d, tone in layers:
        m = inside(d)
        image = image * (1 - m) + m * np.clip(colour * tone, 0, 1)[:, None, None]
    rim = inside(np.abs(outline + 0.45) - 0.45, 0.7)  # the living margin, a shade darker
    image = image * (1 - 0.35 * rim)
    # caustics, the water's colour (red fades with depth), haze, marine snow, sensor noise
    k = rng.uniform(0.4, 0.9, size=2)
    ph = rng.uniform(0, 2 * np.pi, size=2)
    caustic = np.sin(k[0] * _GRID[1] + 0.7 * np.sin(0.5 * _GRID[0]) + ph[0]) * np.sin(
        k[1] * _GRID[0] + 0.7 * np.sin(0.5 * _GRID[1]) + ph[1]
    )
    image = image * (1 + rng.uniform(0.05, 0.25) * caustic)
    depth = rng.uniform(0, 1)
    water = np.array([1 - 0.65 * depth, 1 - 0.15 * depth, 1.0])[:, None, None]
    haze = np.array([0.05, 0.35, 0.45])[:, None, None] * rng.uniform(0.05, 0.25)
    image = image * water * rng.uniform(0.6, 1.1) + haze
    for _ in range(int(rng.integers(0, 6))):
        py, px = rng.uniform(0, SIZE, size=2)
        m = inside(np.hypot(_GRID[0] - py, _GRID[1] - px) - rng.uniform(0.3, 0.7))
        image = image + 0.35 * m
    image = image + rng.normal(0, rng.uniform(0.01, 0.04), size=image.shape)
    return np.clip(image, 0, 1)


def reef_quadrats(n: int = 2520, seed: int = 49002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(ORGANISMS))
    X = np.stack([quadrat(rng, ORGANISMS[int(k)]) for k in y])
    X = np.round(X * 255).astype(np.uint8)  # 8-bit camera levels
    return X, y.astype(np.int64)


# --- writing ------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    path.write_bytes(text.encode("ascii"))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's layout, with a fixed time stamp so the bytes do not follow the clock."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def main() -> None:
    write_csv(HERE / "tbm_rings.csv", *tbm_rings())
    X, y = reef_quadrats()
    write_npz(HERE / "reef_quadrats28.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
