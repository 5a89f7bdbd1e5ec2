"""The user data of fault-benchmark round held-out-50: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

dialysis_sessions.csv: a haemodialysis unit's treatment log, one session per row
--------------------------------------------------------------------------------
3,000 rows, 20 columns. Each row is one session of an outpatient haemodialysis unit as
its machines and its nurses' charting export it: the vascular access the patient is
needled through (a text column: fistula, graft or catheter, each with its own prescribed
blood flow and its own usual venous and arterial line pressures) and 18 numeric columns
in their own units: the dry weight (kg), the weight gained since the last session (kg,
gamma: up to 8.5), the ultrafiltration goal (L), the session's length (min, 210 to 270),
the blood pump flow (ml/min), the arterial line pressure (mmHg, negative), the venous
line pressure (mmHg, log-normal, ~90 to ~620), the transmembrane pressure (mmHg,
log-normal, ~50 to ~1,400: heavy-tailed), the heparin dose (IU, log-normal, ~500 to
~15,000), the dialysate temperature (deg C) and conductivity (mS/cm), the systolic blood
pressure before the session and the lowest during it (mmHg), the delivered dose Kt/V,
the potassium before the session (mmol/L) and the cramps charted (a count), and two
columns that do not bear on the action (the chair and the hour the session started).
Behind each session is a hidden trouble: none, a hypotensive episode (the likelier the
faster the fluid is taken off per kg and hour), a narrowing access (grafts above all:
venous pressure up, blood flow down), a clotting circuit (catheters and low heparin
doses: transmembrane and venous pressure up) or an under-delivered dose (catheters above
all: blood flow and Kt/V down), each in its own degree; besides, some needles sat badly
(venous pressure 1.3-1.9 x up with no narrowing), some patients had taken their blood
pressure tablets (the lowest systolic 10-25 mmHg down) and some sessions ran
haemoconcentrated (transmembrane pressure 1.5-2.4 x up with no clot). A few readings are
missing and left blank: the arterial pressure (46 rows), the heparin dose (79) and the
potassium (97). `action`, the charge nurse's action, by the unit's rules in this order
(the last that holds wins, so an earlier rule is overridden by a later one):

    extend_session    9%   Kt/V below 1.2 in a session shorter than 240 min, or Kt/V
                           below 1.0
    anticoag_review   8%   transmembrane pressure above 250 mmHg with under 2,600 IU of
                           heparin, or above 520 mmHg
    refer_access     10%   a fistula or graft: venous pressure above 1.5 x the access's
                           usual with blood flow below 0.92 x its prescribed; a catheter:
                           arterial pressure beyond 1.3 x its usual (more negative)
    reduce_uf        16%   the lowest systolic below 0.72 x the one before with fluid
                           taken off faster than 10 ml/kg/h (the goal over the dry weight
                           and the hours), or the lowest systolic below 88 mmHg
    routine          57%   otherwise

No rule is one column: each combines two or three readings, some of them with the
access's own usual values or as a rate no column holds, at thresholds out on
heavy-tailed scales, and the rules override each other. 3% of the actions are wrong (a
random other one). In scikit-learn (5-fold, standardised columns, mean-imputed, text
one-hot) a logistic regression reaches about 0.83 accuracy, a random forest (300 trees)
about 0.90; the commonest action alone 0.57. The healthy MLP of this round reaches
about 0.82.

pasta_shapes28.npz: a pasta plant's vision sorter, one piece per frame
----------------------------------------------------------------------
2,400 RGB images (uint8, `X` of shape (2400, 3, 28, 28)) from the camera over a pasta
factory's sorting belt, one dried piece seen from above per frame: the belt (white, grey,
blue or dark rubber modular links, their hinge lines at a random angle and pitch), in
40% of the frames the edge of a neighbouring piece at the border, one to five crumbs and
a dusting of flour; the piece at a random position (+-3 px), turned by any angle and
scaled by 0.85-1.15, in a colour drawn from one palette for every class (durum, egg,
spinach, tomato, squid ink, wholewheat, beetroot or turmeric dough, at 0.8-1.08 of its
brightness), with a soft shadow to a random side; over it all a gradient of light across
the belt, a warm or cool cast, the exposure and sensor noise. Labels `y` (int64), 6
classes, 400 each:

    0 farfalle   1 rotelle   2 penne   3 conchiglie   4 fusilli   5 orecchiette

Farfalle is a bow tie: two wings flaring from a pinched, pleated middle to crimped,
zigzag ends; rotelle a wheel: a grooved rim, a hub with a hole and five or six spokes
with the belt showing between them; penne a straight tube cut slantwise at both ends,
ridged along its length, its dark bore showing at one end; conchiglie a ribbed,
egg-shaped shell with a dark curled slit along it and a pale lip; fusilli a corkscrew:
a wavy outline crossed by dark slanting grooves; orecchiette a small round cup with a
thick pale rim, a hollow inside it and a dark dimple. The colour says nothing of the
class, and the turn, the belt, the light and the crumbs vary far more than the
outlines. On the raw pixels a logistic regression (standardised, L2, C = 0.01) reaches
about 0.42 and a random forest (300 trees) about 0.52 (3-fold); the healthy CNN of this
round about 0.92.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ACCESS = ("fistula", "graft", "catheter")
ACTIONS = ("routine", "extend_session", "anticoag_review", "refer_access", "reduce_uf")
COLUMNS = (
    ("access", None),
    ("dry_weight_kg", 1),
    ("weight_gain_kg", 2),
    ("uf_goal_l", 2),
    ("session_min", 0),
    ("blood_flow_ml_min", 0),
    ("arterial_pressure_mmhg", 0),
    ("venous_pressure_mmhg", 0),
    ("tmp_mmhg", 0),
    ("heparin_iu", 0),
    ("dialysate_temp_c", 2),
    ("conductivity_ms_cm", 2),
    ("pre_sbp_mmhg", 0),
    ("min_sbp_mmhg", 0),
    ("kt_v", 2),
    ("potassium_mmol_l", 1),
    ("cramps", 0),
    ("chair", 0),
    ("start_hour", 2),
    ("action", None),
)
SIZE = 28
SHAPES = ("farfalle", "rotelle", "penne", "conchiglie", "fusilli", "orecchiette")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- dialysis_sessions.csv ----------------------------------------------------------------


def dialysis_sessions(n: int = 3000, seed: int = 50001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    access = rng.choice(len(ACCESS), size=n, p=[0.55, 0.27, 0.18])
    # each access's prescribed blood flow (ml/min) and its usual venous and arterial
    # pressures (mmHg) at that flow
    nom_qb = np.array([400.0, 380.0, 320.0])[access]
    nom_vp = np.array([140.0, 175.0, 195.0])[access]
    nom_ap = np.array([-150.0, -165.0, -205.0])[access]
    dry = np.clip(rng.normal(76, 16, size=n), 42, 150)
    gain = np.clip(rng.gamma(3.0, 0.75, size=n) * (dry / 76) ** 0.5, 0.2, 8.5)
    session = rng.choice(
        [210.0, 225.0, 240.0, 255.0, 270.0], size=n, p=[0.14, 0.2, 0.4, 0.14, 0.12]
    )
    heparin = rng.lognormal(np.log(3000), 0.4, size=n)
    uf_goal = gain * rng.lognormal(0, 0.06, size=n) + 0.3
    uf_rate = uf_goal * 1000 / dry / (session / 60)  # ml per kg per hour
    # the session's hidden trouble: none, a hypotensive episode (more likely the faster the
    # fluid is taken off), a narrowing access (grafts above all), a clotting circuit (too
    # little heparin, catheters) or an under-delivered dose; each in its own degree
    u = rng.random(n)
    p_hypo = 0.09 + 0.3 * np.clip((uf_rate - 6) / 10, 0, 1.2)
    p_sten = p_hypo + 0.1 + 0.14 * (access == 1)
    p_clot = p_sten + 0.08 + 0.1 * (access == 2) + 0.1 * np.clip((3000 - heparin) / 1500, 0, 1)
    p_under = p_clot + 0.1 + 0.1 * (access == 2)
    cond = np.select([u < p_hypo, u < p_sten, u < p_clot, u < p_under], [1, 2, 3, 4], 0)
    deg = np.where(cond > 0, rng.beta(2.4, 1.1, size=n), 0.0)
    hypo, sten, clot, under = (np.where(cond == k, deg, 0.0) for k in (1, 2, 3, 4))
    qb = nom_qb * rng.lognormal(0, 0.06, size=n) * (1 - 0.22 * sten - 0.25 * under)
    venous = nom_vp * rng.lognormal(0, 0.16, size=n) * (1 + 0.9 * sten**1.1 + 0.35 * clot)
    arterial = nom_ap * rng.lognormal(0, 0.12, size=n) * (1 + 0.35 * sten + 0.2 * under)
    tmp = rng.lognormal(np.log(95 + 6 * uf_rate + 260 * clot**1.3), 0.28, size=n)
    pre_sbp = rng.normal(146, 21, size=n)
    min_sbp = pre_sbp * (0.9 - 0.32 * hypo - 0.006 * np.clip(uf_rate - 8, 0, None)) + rng.normal(
        0, 7, size=n
    )
    ktv = (
        1.5
        * (session / 240) ** 0.9
        * (qb / 400) ** 0.45
        * (76 / dry) ** 0.3
        * (1 - 0.33 * under - 0.12 * sten)
        * rng.lognormal(0, 0.07, size=n)
    )
    temp = rng.normal(36.3, 0.25, size=n) - 0.4 * (rng.random(n) < 0.2)
    cond_ms = rng.normal(14.0, 0.25, size=n)
    potassium = rng.normal(5.0, 0.6, size=n) + 0.5 * under
    cramps = rng.poisson(0.25 + 1.8 * hypo + 0.02 * uf_rate)
    # a needle placed badly, a patient on pressure-lowering tablets, a haemoconcentrated
    # session: readings that look like trouble without it
    venous = np.where(rng.random(n) < 0.15, venous * rng.uniform(1.3, 1.9, size=n), venous)
    min_sbp = np.where(rng.random(n) < 0.15, min_sbp - rng.uniform(10, 25, size=n), min_sbp)
    tmp = np.where(rng.random(n) < 0.14, tmp * rng.uniform(1.5, 2.4, size=n), tmp)
    chair = rng.integers(1, 25, size=n)
    start = rng.uniform(6, 20, size=n)
    # the charge nurse's action, by the unit's rules in this order (a later one overrides)
    action = np.zeros(n, dtype=int)
    action[((ktv < 1.2) & (session < 240)) | (ktv < 1.0)] = 1
    action[((tmp > 250) & (heparin < 2600)) | (tmp > 520)] = 2
    action[
        ((access < 2) & (venous > 1.5 * nom_vp) & (qb < 0.92 * nom_qb))
        | ((access == 2) & (arterial < 1.3 * nom_ap))
    ] = 3
    action[((min_sbp < 0.72 * pre_sbp) & (uf_rate > 10)) | (min_sbp < 88)] = 4
    flip = rng.random(n) < 0.03
    action[flip] = (action[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "access": [ACCESS[i] for i in access],
        "dry_weight_kg": dry,
        "weight_gain_kg": gain,
        "uf_goal_l": uf_goal,
        "session_min": session,
        "blood_flow_ml_min": qb,
        "arterial_pressure_mmhg": arterial,
        "venous_pressure_mmhg": venous,
        "tmp_mmhg": tmp,
        "heparin_iu": heparin,
        "dialysate_temp_c": temp,
        "conductivity_ms_cm": cond_ms,
        "pre_sbp_mmhg": pre_sbp,
        "min_sbp_mmhg": min_sbp,
        "kt_v": ktv,
        "potassium_mmol_l": potassium,
        "cramps": cramps.astype(float),
        "chair": chair.astype(float),
        "start_hour": start,
        "action": [ACTIONS[i] for i in action],
    }
    missing = {
        "heparin_iu": rng.random(n) < 0.025,
        "potassium_mmol_l": rng.random(n) < 0.03,
        "arterial_pressure_mmhg": rng.random(n) < 0.02,
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


# --- pasta_shapes28.npz -------------------------------------------------------------------

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


def piece(rng: np.random.Generator, kind: str, u, v) -> list:
    """One piece of pasta seen from above in its own coordinates: a list of (signed
    distance, shade) layers drawn in order, shade a multiplier of its colour."""
    layers = []
    r = np.hypot(u, v)
    theta = np.arctan2(v, u)
    if kind == "farfalle":  # a bow tie: two flaring wings pinched in the middle, pinked ends
        half = rng.uniform(8.5, 10.5)
        pinch, flare = rng.uniform(1.5, 2.2), rng.uniform(5.0, 6.5)
        teeth = rng.uniform(1.3, 1.8)
        zigzag = 0.9 * np.abs(((v * teeth) % 2.0) - 1.0)
        body = np.maximum(
            np.abs(u) - half + zigzag, np.abs(v) - pinch - (flare - pinch) * np.abs(u) / half
        )
        layers.append((body, 1.0))
        folds = np.abs(np.sin(2.4 * v + rng.uniform(0, 6.3))) - 0.45
        layers.append((np.maximum(np.maximum(body + 0.5, np.abs(u) - 1.9), -folds), 0.62))
        ridge = np.abs(np.abs(u) - half + zigzag + 1.1) - 0.35  # the crimped edge
        layers.append((np.maximum(ridge, body + 0.3), 0.8))
    elif kind == "rotelle":  # a wheel: rim, hub and five or six spokes, holes between
        radius = rng.uniform(7.5, 9.0)
        rim = rng.uniform(1.5, 2.0)
        hub = rng.uniform(2.0, 2.6)
        spokes = int(rng.integers(5, 7))
        start = rng.uniform(0, 2 * np.pi)
        parts = [np.abs(r - radius + rim / 2) - rim / 2, r - hub]
        width = rng.uniform(0.65, 0.85)
        for k in range(spokes):
            ang = start + k * 2 * np.pi / spokes
            parts.append(segment(u, v, 0, 0, radius * np.cos(ang), radius * np.sin(ang), width))
        layers.append((np.minimum.reduce(parts), 1.0))
        layers.append((np.abs(r - radius + rim * 0.55) - 0.3, 0.72))  # the rim's groove
        layers.append((r - hub * 0.45, 0.7))  # the hole through the hub
    elif kind == "penne":  # a ridged tube cut slantwise at both ends, its bore dark
        half, width = rng.uniform(8.5, 10.5), rng.uniform(2.6, 3.3)
        slant = rng.uniform(0.7, 1.1)
        along = u - slant * v
        body = np.maximum(np.abs(v) - width, np.abs(along) - half)
        layers.append((body, 1.0))
        pitch = rng.uniform(1.15, 1.45)
        ridges = np.abs(((v + rng.uniform(0, 2)) % pitch) - pitch / 2) - 0.22
        layers.append((np.maximum(body + 0.4, ridges), 0.75))
        end = half - rng.uniform(1.2, 1.8)
        bore = np.maximum(np.abs(v) - width * 0.62, np.abs(along - end) - 1.0)
        layers.append((bore, 0.35))
    elif kind == "conchiglie":  # a shell: a ribbed egg-shaped cup with a dark curled slit
        a, b = rng.uniform(7.0, 8.5), rng.uniform(5.0, 6.2)
        taper = rng.uniform(0.15, 0.3)
        bb = b * (1 - taper * u / a)
        body = (np.hypot(u / a, v / bb) - 1) * b
        layers.append((body, 1.0))
        ribs = np.abs(np.sin(1.75 * u + 0.12 * v * v + rng.uniform(0, 6.3))) - 0.35
        layers.append((np.maximum(body + 0.5, ribs * 2.2), 0.7))
        side = rng.uniform(-0.8, 0.8)
        slit = np.abs(v - side) - 1.25 * np.clip(1 - (u / (a * 0.85)) ** 2, 0, 1) + 0.15
        layers.append((np.maximum(slit, body + 1.2), 0.3))
        lip = np.abs(np.abs(v - side) - 1.25 * np.clip(1 - (u / (a * 0.85)) ** 2, 0, 1) - 0.6)
        layers.append((np.maximum(lip - 0.35, body + 1.0), 1.2))
    elif kind == "fusilli":  # a corkscrew: wavy outline crossed by slanting grooves
        half, width = rng.uniform(8.5, 10.5), rng.uniform(2.6, 3.2)
        pitch = rng.uniform(3.4, 4.2)
        phase = rng.uniform(0, 2 * np.pi)
        wave = width * (1 + 0.22 * np.sin(2 * np.pi * u / pitch + phase))
        body = np.maximum(np.abs(v) - wave, np.abs(u) - half)
        body = np.maximum(body, ellipse(u, v, 0, 0, half + 0.6, width * 1.6))
        layers.append((body, 1.0))
        twist = rng.choice([-1.0, 1.0]) * rng.uniform(0.7, 1.0)
        grooves = np.sin(2 * np.pi * (u + twist * v) / pitch + phase) - 0.45
        layers.append((np.maximum(body + 0.4, -grooves * 1.5), 0.5))
    else:  # orecchiette: a small round cup, thick pale rim, dark dimpled centre
        radius = rng.uniform(5.5, 7.0)
        lobes = 1 + 0.07 * np.sin(3 * theta + rng.uniform(0, 6.3))
        body = r - radius * lobes
        layers.append((body, 1.0))
        layers.append((r - radius * lobes + 1.9, 0.75))  # the hollow inside the rim
        cu, cv = rng.uniform(-0.8, 0.8, size=2)
        layers.append(
            (
                ellipse(
                    u, v, cu, cv, rng.uniform(1.4, 2.1), rng.uniform(1.1, 1.6), rng.uniform(0, 3.2)
                ),
                0.5,
            )
        )
        rough = 0.35 * np.sin(1.9 * u + rng.uniform(0, 6.3)) * np.sin(1.7 * v + rng.uniform(0, 6.3))
        layers.append((np.maximum(np.abs(body + 0.9) - 0.6 + rough, body), 1.18))
    return layers


PASTA = np.array(
    [
        (0.93, 0.82, 0.52),  # durum wheat
        (0.96, 0.76, 0.34),  # egg
        (0.48, 0.62, 0.32),  # spinach
        (0.86, 0.44, 0.30),  # tomato
        (0.22, 0.21, 0.23),  # squid ink
        (0.62, 0.46, 0.30),  # wholewheat
        (0.62, 0.27, 0.42),  # beetroot
        (0.96, 0.68, 0.18),  # turmeric
    ]
)
BELTS = np.array(
    [
        (0.86, 0.87, 0.88),  # white plastic
        (0.58, 0.62, 0.66),  # grey
        (0.33, 0.50, 0.72),  # blue
        (0.28, 0.29, 0.31),  # dark rubber
    ]
)


def frame(rng: np.random.Generator, kind: str) -> np.ndarray:
    """One piece of pasta on the sorter's belt, RGB in 0..1, shape (3, 28, 28)."""
    y, x = _GRID
    # the belt: modular plastic links with hinge lines, at a random angle and pitch
    belt = BELTS[int(rng.integers(len(BELTS)))] * rng.uniform(0.85, 1.1)
    tilt = rng.uniform(-0.35, 0.35)
    pitch = rng.uniform(4.5, 7.0)
    across = (y * np.cos(tilt) + x * np.sin(tilt) + rng.uniform(0, pitch)) % pitch
    links = 1 - 0.18 * inside(np.abs(across - pitch / 2) - 0.4, 0.8)
    image = belt[:, None, None] * links[None] * (1 + 0.05 * rng.normal(size=(1, SIZE, SIZE)))
    # a neighbour's edge at the border, crumbs and flour dust
    if rng.random() < 0.4:
        side = int(rng.integers(4))
        depth = rng.uniform(1.5, 4.5)
        along = rng.uniform(4, SIZE - 4)
        cx, cy = [
            (along, -6 + depth),
            (SIZE + 6 - depth, along),
            (along, SIZE + 6 - depth),
            (-6 + depth, along),
        ][side]
        blob = ellipse(x, y, cx, cy, rng.uniform(5, 9), rng.uniform(5, 7), rng.uniform(0, 3.2))
        m = inside(blob)
        tone = PASTA[int(rng.integers(len(PASTA)))] * rng.uniform(0.75, 1.05)
        image = image * (1 - m) + m * tone[:, None, None]
    for _ in range(int(rng.integers(1, 6))):
        py, px = rng.uniform(0, SIZE, size=2)
        crumb = ellipse(
            x, y, px, py, rng.uniform(0.5, 1.6), rng.uniform(0.4, 1.0), rng.uniform(0, 3.2)
        )
        m = inside(crumb)
        tone = PASTA[int(rng.integers(len(PASTA)))] * rng.uniform(0.7, 1.05)
        image = image * (1 - m) + m * tone[:, None, None]
    dust = (rng.random((SIZE, SIZE)) < rng.uniform(0.0, 0.06)) * rng.uniform(0.1, 0.35)
    image = image + dust[None]
    # the piece: anywhere near the middle, turned by any angle, 0.85-1.15 of its size
    scale = rng.uniform(0.85, 1.15)
    cy, cx = SIZE / 2 + rng.uniform(-3.0, 3.0, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = y - cy, x - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    colour = PASTA[int(rng.integers(len(PASTA)))] * rng.uniform(0.8, 1.08) + rng.normal(
        0, 0.03, size=3
    )
    layers = piece(rng, kind, u, v)
    outline = layers[0][0]
    shadow = np.roll(
        inside(outline, 1.8), tuple(int(s) for s in rng.integers(-2, 3, size=2)), (0, 1)
    )
    image = image * (1 - 0.4 * shadow)
    for d, tone in layers:
        m = inside(d)
        image = image * (1 - m) + m * np.clip(colour * tone, 0, 1)[:, None, None]
    # the light: a gradient across the belt, a warm or cool cast, exposure, sensor noise
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((x - SIZE / 2) * np.cos(ang) + (y - SIZE / 2) * np.sin(ang)) / SIZE
    cast = 1 + rng.normal(0, 0.06, size=3)
    image = image * (1 + rng.uniform(0.1, 0.5) * ramp)[None] * cast[:, None, None]
    image = image * rng.uniform(0.7, 1.15) + rng.normal(
        0, rng.uniform(0.015, 0.05), size=image.shape
    )
    return np.clip(image, 0, 1)


def pasta_shapes(n: int = 2400, seed: int = 50002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(SHAPES))
    X = np.stack([frame(rng, SHAPES[int(k)]) for k in y])
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
    write_csv(HERE / "dialysis_sessions.csv", *dialysis_sessions())
    X, y = pasta_shapes()
    write_npz(HERE / "pasta_shapes28.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
