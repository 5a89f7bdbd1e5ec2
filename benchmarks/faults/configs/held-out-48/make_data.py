"""The user data of fault-benchmark round held-out-48: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

drive_smart.csv: a data centre's disk-drive health telemetry, one drive per row
-------------------------------------------------------------------------------
3,200 rows, 19 columns. Each row is one hard-disk drive in a data centre's storage fleet as
the monitoring system exports it at the weekly review: the drive family (a text column:
nearline_hdd, helium_hdd, enterprise_10k, archive_smr or desktop_hdd, each with its own
spindle speed, nominal throughput and temperature limit) and 17 numeric columns in their
own units: power-on hours (gamma, up to ~90,000), reallocated sectors (0 for most, in the
hundreds or thousands on a failing surface: heavy-tailed), pending sectors, uncorrectable
errors (counts), interface CRC errors (0 for most, in the thousands on a bad cable or
backplane: heavy-tailed), the temperature now and its weekly maximum (deg C), the spin-up
time (ms), the seek error rate (per 10^9 seeks, log-normal), load/unload cycles
(log-normal, in the hundreds of thousands on worn heads), p99 read latency (ms,
log-normal), sustained throughput (MB/s), vibration (mg rms, log-normal), the enclosure
fan speed (rpm), start/stop count, and two columns that do not bear on the action (the
rack slot and the firmware's age in days). Behind each drive is a hidden condition: sound,
a degrading surface (more likely with age), worn heads, a bad cable or backplane link, or
a slot with poor cooling, each in its own degree; besides, some slots have a failed fan
whose neighbours still keep the drive cool, some drives had a short hot spell, some sit
next to a rattling neighbour (seek errors and vibration without worn heads) and some have
a few pending sectors that never became errors. A few readings are missing and left
blank: the seek error rate (43 rows), vibration (103) and the fan speed (81).
`action`, the operations team's call, by its rules in this order (the last that holds
wins, so an earlier rule is overridden by a later one):

    cooling_fault   7%   weekly max above the family's limit with the fan below 3,300 rpm,
                         or the temperature now within 3 degrees of the limit
    check_cable     8%   CRC errors above 30 + hours / 150, with under 60 reallocated sectors
    head_wear       9%   seek error rate above 6, with a spin-up above 8,000 ms (scaled by
                         the spindle speed) or throughput under 75% of the family's nominal
    replace_media  16%   more than 60 reallocated sectors, or pending sectors above 6 with
                         any uncorrectable error
    ok             59%   otherwise

No rule is one column: each combines two or three readings (and the family) at thresholds
far out on heavy-tailed scales, and the rules override each other. 3% of the actions are
wrong (a random other one). In scikit-learn (5-fold, standardised columns, mean-imputed,
text one-hot) a logistic regression reaches about 0.89 accuracy, a random forest (300
trees) about 0.93; the commonest action alone 0.59. The healthy MLP of this round reaches
about 0.88.

trap_insects32.npz: a greenhouse sticky-trap camera, one insect per frame
-------------------------------------------------------------------------
3,300 grayscale images (uint8, 32 x 32, `X`) from the camera a greenhouse points at its
yellow sticky traps, cut out one caught insect per frame: the glue-coated card (bright, its
printed counting grid at a slight angle and any pitch), the insect at a random position
(+-3.5 px), turned by any angle and scaled by 0.9-1.25, in its own darkness (any insect
may be pale or near-black), its legs, antennae and wings thin and partly see-through, a
soft shadow cast to a random side, glue bubbles (bright rings), trapped debris (specks
and fibres), sometimes a soft focus, a lighting gradient and sensor noise. Labels `y`
(int64), 6 classes, 550 each:

    0 aphid   1 whitefly   2 thrips   3 fungus_gnat   4 leafhopper   5 ladybird

An aphid is a pear-shaped body with two cornicles at the rear, long antennae and six
legs; a whitefly a small body under a broad, paler delta of wings; a thrips a very
slender rod with narrow wings along it; a fungus gnat a slender body with two oval wings
in a V and long spidery legs; a leafhopper a wedge, broad at the head and tapering to
its folded wing tips, no legs to be seen; a ladybird a round spotted dome with a small
head and short legs. The turn puts each at any angle and the darkness, the card and the
light vary far more than the outlines. On the raw pixels a logistic regression reaches
about 0.39 and a random forest about 0.55 (3-fold); the healthy CNN of this round about
0.89.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FAMILIES = ("nearline_hdd", "helium_hdd", "enterprise_10k", "archive_smr", "desktop_hdd")
ACTIONS = ("ok", "replace_media", "head_wear", "check_cable", "cooling_fault")
COLUMNS = (
    ("drive_family", None),
    ("power_on_hours", 0),
    ("reallocated_sectors", 0),
    ("pending_sectors", 0),
    ("uncorrectable_errors", 0),
    ("crc_errors", 0),
    ("temperature_c", 1),
    ("max_temperature_c", 1),
    ("spin_up_ms", 0),
    ("seek_error_rate", 2),
    ("load_cycles", 0),
    ("read_latency_ms", 2),
    ("throughput_mb_s", 1),
    ("vibration_mg", 1),
    ("enclosure_fan_rpm", 0),
    ("start_stop_count", 0),
    ("rack_slot", 0),
    ("firmware_age_days", 0),
    ("action", None),
)
SIZE = 32
INSECTS = ("aphid", "whitefly", "thrips", "fungus_gnat", "leafhopper", "ladybird")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- drive_smart.csv ----------------------------------------------------------------------


def drive_smart(n: int = 3200, seed: int = 48001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    family = rng.choice(len(FAMILIES), size=n, p=[0.34, 0.26, 0.12, 0.14, 0.14])
    rpm_class = np.array([7200, 7200, 10000, 5900, 5400])[family]
    hours = rng.gamma(2.0, 9000, size=n).clip(50, 90000)
    age = hours / 30000
    # the drive's hidden condition: sound, a degrading surface, worn heads, a bad cable or
    # backplane link, or a slot with poor cooling; each in its own degree
    u = rng.random(n)
    cond = np.where(
        u < 0.16 + 0.06 * age.clip(0, 2),
        1,
        np.where(u < 0.32, 2, np.where(u < 0.44, 3, np.where(u < 0.58, 4, 0))),
    )
    cond = np.where((cond == 1) & (u < 0.02), 0, cond)
    deg = np.where(cond > 0, rng.beta(1.6, 1.4, size=n), 0.0)
    media = np.where(cond == 1, deg, 0.0)
    head = np.where(cond == 2, deg, 0.0)
    cable = np.where(cond == 3, deg, 0.0)
    heat = np.where(cond == 4, deg, 0.0)
    realloc = np.where(
        rng.random(n) < 0.3 + 0.7 * (media > 0),
        rng.lognormal(np.log(12 + 400 * media**1.5), 0.9, size=n),
        0.0,
    ).round()
    pending = np.where(
        rng.random(n) < 0.05 + 0.8 * media,
        rng.lognormal(np.log(1 + 30 * media), 0.8, size=n),
        0.0,
    ).round()
    pending = np.where(rng.random(n) < 0.12, pending + rng.integers(4, 30, size=n), pending)
    uncorr = rng.poisson(0.05 + 6 * media**2 + 0.5 * head)
    crc = np.where(
        rng.random(n) < 0.06 + 0.94 * (cable > 0),
        rng.lognormal(np.log(2 + 900 * cable**1.3), 1.0, size=n),
        0.0,
    ).round()
    temp = (
        36
        + rng.normal(0, 3.2, size=n)
        + 22 * heat
        + 4 * (rpm_class == 10000)
        - 3 * (rpm_class < 6000)
    )
    max_temp = temp + rng.gamma(2.0, 2.2, size=n) + 8 * heat * rng.random(n)
    fan = 4200 + rng.normal(0, 450, size=n) - 2600 * heat * rng.uniform(0.4, 1.1, size=n)
    # a failed fan in a slot whose neighbours still keep it cool, a short hot spell
    fan = np.where(rng.random(n) < 0.18, fan - rng.uniform(900, 2200, size=n), fan)
    max_temp = np.where(rng.random(n) < 0.2, max_temp + rng.uniform(6, 18, size=n), max_temp)
    spin_up = rng.normal(6200, 700, size=n) * (
        rpm_class / 7200
    ) ** 0.5 + 7000 * head**1.1 * rng.uniform(0.3, 1.2, size=n)
    seek = rng.lognormal(np.log(0.4 + 25 * head**1.4), 0.7, size=n)
    shaken = rng.random(n) < 0.18  # a rattling neighbour: seek errors without worn heads
    seek = np.where(shaken, seek + rng.lognormal(np.log(9), 0.5, size=n), seek)
    load = rng.lognormal(np.log(2e4 + 6e4 * (family == 4) + 3.5e5 * head), 0.6, size=n) * (
        0.4 + age
    )
    latency = rng.lognormal(
        np.log(8 + 40 * media + 30 * head + 55 * cable + 10 * heat), 0.35, size=n
    ) * (7200 / rpm_class)
    throughput = (
        np.array([230.0, 260.0, 220.0, 190.0, 170.0])[family]
        * (1 - 0.55 * head - 0.25 * media - 0.45 * cable)
        + rng.normal(0, 14, size=n)
    ).clip(5)
    vibration = rng.lognormal(np.log(18 + 50 * head + 25 * shaken), 0.45, size=n)
    starts = rng.poisson(40 + 30 * (family == 4) + hours / 900)
    slot = rng.integers(1, 61, size=n)
    firmware = rng.gamma(2.5, 180, size=n)
    # the operations team's action, by its rules in this order (a later one overrides);
    # the temperature limits and the nominal speeds are the drive family's own
    limit = np.array([55.0, 55.0, 60.0, 50.0, 52.0])[family]
    nominal = np.array([230.0, 260.0, 220.0, 190.0, 170.0])[family]
    action = np.zeros(n, dtype=int)
    action[((max_temp > limit) & (fan < 3300)) | (temp > limit - 3)] = 4
    action[(crc > 30 + hours / 150) & (realloc < 60)] = 3
    action[
        (seek > 6) & ((spin_up > 8000 * np.sqrt(rpm_class / 7200)) | (throughput < 0.75 * nominal))
    ] = 2
    action[(realloc > 60) | ((pending > 6) & (uncorr > 0))] = 1
    flip = rng.random(n) < 0.03
    action[flip] = (action[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "drive_family": [FAMILIES[i] for i in family],
        "power_on_hours": hours,
        "reallocated_sectors": realloc,
        "pending_sectors": pending,
        "uncorrectable_errors": uncorr.astype(float),
        "crc_errors": crc,
        "temperature_c": temp,
        "max_temperature_c": max_temp,
        "spin_up_ms": spin_up,
        "seek_error_rate": seek,
        "load_cycles": load,
        "read_latency_ms": latency,
        "throughput_mb_s": throughput,
        "vibration_mg": vibration,
        "enclosure_fan_rpm": fan,
        "start_stop_count": starts.astype(float),
        "rack_slot": slot.astype(float),
        "firmware_age_days": firmware,
        "action": [ACTIONS[i] for i in action],
    }
    missing = {
        "seek_error_rate": rng.random(n) < 0.02,
        "vibration_mg": rng.random(n) < 0.03,
        "enclosure_fan_rpm": rng.random(n) < 0.025,
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


# --- trap_insects32.npz -------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def capsule(u, v, u0: float, u1: float, r: float) -> np.ndarray:
    """Signed distance to a bar along the u axis from u0 to u1 of half-width r."""
    t = np.clip((u - u0) / (u1 - u0), 0, 1)
    return np.hypot(u - (u0 + t * (u1 - u0)), v) - r


def ellipse(u, v, cu: float, cv: float, a: float, b: float, angle: float = 0.0) -> np.ndarray:
    """Approximate signed distance to an ellipse centred (cu, cv), half-axes a (along u), b."""
    du, dv = u - cu, v - cv
    c, s = np.cos(angle), np.sin(angle)
    p, q = du * c + dv * s, -du * s + dv * c
    k = np.hypot(p / a, q / b)
    return (k - 1) * min(a, b)


def segment(u, v, u0, v0, u1, v1, r: float) -> np.ndarray:
    """Signed distance to a thin line from (u0, v0) to (u1, v1) of half-width r."""
    du, dv = u1 - u0, v1 - v0
    length = np.hypot(du, dv) + 1e-9
    s = ((u - u0) * du + (v - v0) * dv) / length
    t = (-(u - u0) * dv + (v - v0) * du) / length
    return capsule(s, t, 0.0, length, r)


def legs(rng, u, v, centre: float, spread: float, reach: float, r: float = 0.32) -> list:
    """Three legs a side, jointed, out from the body's axis near `centre`."""
    out = []
    for side in (-1, 1):
        for k in (-1, 0, 1):
            u0 = centre + k * spread
            knee_u = u0 + k * reach * 0.35 + rng.normal(0, 0.3)
            knee_v = side * reach * rng.uniform(0.55, 0.75)
            foot_u = knee_u + k * reach * 0.45 + rng.normal(0, 0.4)
            foot_v = side * reach * rng.uniform(0.9, 1.15)
            out.append(segment(u, v, u0, 0.0, knee_u, knee_v, r))
            out.append(segment(u, v, knee_u, knee_v, foot_u, foot_v, r * 0.9))
    return out


def insect_shape(rng: np.random.Generator, kind: str, u, v) -> tuple[list, list]:
    """The insect in its own coordinates (u along it, head at +u): lists of thin parts
    (legs, antennae, drawn at the body's level) and of (signed distance, level offset,
    opacity) layers drawn in order over them."""
    thin = []
    layers = []
    if kind == "aphid":  # pear-shaped body, cornicles at the rear, long antennae
        length = rng.uniform(3.6, 4.4)
        body = np.minimum(
            ellipse(u, v, -0.8, 0.0, length * 0.7, length * 0.55),
            ellipse(u, v, length * 0.55, 0.0, length * 0.4, length * 0.3),
        )
        layers.append((body, 0.0, 1.0))
        for side in (-1, 1):
            thin.append(segment(u, v, -length * 0.9, side * 1.1, -length * 1.35, side * 1.9, 0.4))
            thin.append(
                segment(
                    u, v, length * 0.9, side * 0.4, length * 2.2, side * rng.uniform(2.2, 3.4), 0.28
                )
            )
        thin += legs(rng, u, v, 0.2, 1.0, rng.uniform(3.6, 4.6), 0.3)
    elif kind == "whitefly":  # a small body under a broad delta of pale wings
        span = rng.uniform(5.6, 6.6)
        wings = []
        for side in (-1, 1):
            wings.append(
                ellipse(u, v, -0.6, side * span * 0.42, span * 0.62, span * 0.36, side * 0.5)
            )
        layers.append((np.minimum(*wings), rng.uniform(0.12, 0.25), 0.95))
        layers.append((ellipse(u, v, 1.6, 0.0, 1.4, 0.9), 0.0, 1.0))
        for side in (-1, 1):
            thin.append(segment(u, v, 2.6, side * 0.3, 4.0, side * 1.2, 0.25))
    elif kind == "thrips":  # a very slender body with fringed narrow wings along it
        length = rng.uniform(6.0, 7.5)
        layers.append((capsule(u, v, -length, length * 0.6, 0.75), 0.0, 1.0))
        layers.append((ellipse(u, v, length * 0.75, 0.0, 1.0, 0.75), 0.0, 1.0))
        for side in (-1, 1):
            thin.append(segment(u, v, -length * 0.1, side * 0.6, -length * 0.95, side * 1.4, 0.35))
            thin.append(segment(u, v, length * 1.6, side * 0.3, length * 1.15, side * 0.2, 0.22))
        thin += legs(rng, u, v, length * 0.3, 0.8, 2.0, 0.26)
    elif kind == "fungus_gnat":  # slender body, two oval wings held in a V, long legs
        length = rng.uniform(4.2, 5.2)
        body = capsule(u, v, -length, length * 0.35, 0.85)
        open_ = rng.uniform(0.35, 0.7)
        wings = [
            ellipse(
                u, v, -length * 0.45, side * (1.3 + 1.6 * open_), length * 0.65, 1.25, side * -open_
            )
            for side in (-1, 1)
        ]
        layers.append((np.minimum(*wings), rng.uniform(0.15, 0.35), 0.6))
        layers.append((body, 0.0, 1.0))
        layers.append((np.hypot(u - length * 0.6, v) - 1.05, 0.0, 1.0))
        for side in (-1, 1):
            thin.append(segment(u, v, length * 0.7, side * 0.4, length * 1.7, side * 1.6, 0.25))
        thin += legs(rng, u, v, 0.0, 0.7, rng.uniform(6.0, 7.5), 0.24)
    elif kind == "leafhopper":  # a wedge: a broad head tapering to folded wing tips
        length = rng.uniform(6.5, 8.0)
        width = rng.uniform(1.7, 2.2)
        t = np.clip((u + length) / (1.6 * length), 0, 1)
        half = 0.5 + (width - 0.5) * t**0.7
        wedge = np.maximum(np.abs(v) - half, np.maximum(-(u + length), u - length * 0.6))
        layers.append((wedge, 0.0, 1.0))
        layers.append((ellipse(u, v, length * 0.62, 0.0, 1.0, width * 1.05), 0.0, 1.0))
        layers.append((np.maximum(wedge + 0.6, np.abs(v) - 0.18), rng.uniform(0.15, 0.3), 1.0))
    else:  # ladybird: a round dome split by a seam, with spots, a small head
        radius = rng.uniform(3.4, 4.2)
        dome = np.hypot(u + 0.3, v) - radius
        layers.append((dome, 0.0, 1.0))
        layers.append((ellipse(u, v, radius + 0.2, 0.0, 1.0, 1.6), -0.05, 1.0))
        layers.append((np.maximum(dome + 0.3, np.abs(v) - 0.2), -0.1, 1.0))
        for _ in range(int(rng.integers(2, 7))):
            a = rng.uniform(0, 2 * np.pi)
            rr = rng.uniform(0.8, radius - 1.2)
            spot = np.hypot(u + 0.3 - rr * np.cos(a), v - rr * np.sin(a)) - rng.uniform(0.5, 0.9)
            layers.append((np.maximum(spot, dome + 0.4), rng.uniform(-0.25, -0.15), 1.0))
        thin += legs(rng, u, v, 0.0, 1.0, radius + 1.0, 0.3)
    return thin, layers


def insect_frame(rng: np.random.Generator, kind: str) -> np.ndarray:
    """One insect caught on the yellow sticky card under the greenhouse trap camera."""
    scale = rng.uniform(0.9, 1.25)
    cy, cx = SIZE / 2 + rng.uniform(-3.5, 3.5, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    # the card: a bright glue-coated sheet with its printed counting grid
    image = rng.uniform(0.65, 0.9) + np.zeros((SIZE, SIZE))
    pitch = rng.uniform(7, 12)
    a = rng.uniform(-0.2, 0.2)
    gx = _GRID[1] * np.cos(a) + _GRID[0] * np.sin(a)
    gy = -_GRID[1] * np.sin(a) + _GRID[0] * np.cos(a)
    off = rng.uniform(0, pitch, size=2)
    line = (np.abs(((gx + off[0]) % pitch) - pitch / 2) < 0.45) | (
        np.abs(((gy + off[1]) % pitch) - pitch / 2) < 0.45
    )
    image = image - rng.uniform(0.05, 0.15) * line
    # glue bubbles (bright rings) and trapped debris: specks, fibres, a stray wing scale
    for _ in range(int(rng.integers(0, 4))):
        py, px = rng.uniform(0, SIZE, size=2)
        r = rng.uniform(0.8, 2.2)
        ring = np.abs(np.hypot(_GRID[0] - py, _GRID[1] - px) - r) - 0.3
        image = image + 0.12 * inside(ring)
    for _ in range(int(rng.integers(0, 4))):
        py, px = rng.uniform(0, SIZE, size=2)
        b = rng.uniform(0, np.pi)
        length = rng.uniform(1.0, 7.0)
        image = np.minimum(
            image,
            1
            - (1 - rng.uniform(0.15, 0.6))
            * inside(
                segment(
                    _GRID[1],
                    _GRID[0],
                    px,
                    py,
                    px + length * np.cos(b),
                    py + length * np.sin(b),
                    rng.uniform(0.2, 0.7),
                )
            ),
        )
    base = rng.uniform(0.05, 0.35)  # the insect's own darkness
    thin, layers = insect_shape(rng, kind, u, v)
    outline = np.minimum.reduce(thin + [d for d, _, _ in layers])
    shade = np.roll(
        inside(outline - 0.4, 2.0), tuple(int(s) for s in rng.integers(-2, 3, size=2)), (0, 1)
    )
    image = image * (1 - 0.25 * shade)
    for d in thin:
        m = inside(d, 0.8) * rng.uniform(0.75, 1.0)
        image = image * (1 - m) + m * base
    for d, offset, opacity in layers:
        m = inside(d) * opacity
        image = image * (1 - m) + m * np.clip(base + offset, 0.02, 0.95)
    # a soft focus, the camera's lighting gradient, sensor noise
    if rng.random() < 0.3:
        image = (
            image * 0.5
            + 0.125 * (np.roll(image, 1, 0) + np.roll(image, -1, 0))
            + 0.125 * (np.roll(image, 1, 1) + np.roll(image, -1, 1))
        )
    light = rng.uniform(0, 2 * np.pi)
    ramp = ((_GRID[1] - SIZE / 2) * np.cos(light) + (_GRID[0] - SIZE / 2) * np.sin(light)) / 16
    image = image * (1 + rng.uniform(0.1, 0.4) * ramp)
    image = image + rng.normal(0, rng.uniform(0.015, 0.04), size=image.shape)
    return np.clip(image, 0, 1)


def trap_insects(n: int = 3300, seed: int = 48002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(INSECTS))
    X = np.stack([insect_frame(rng, INSECTS[int(k)]) for k in y])
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
    write_csv(HERE / "drive_smart.csv", *drive_smart())
    X, y = trap_insects()
    write_npz(HERE / "trap_insects32.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
