"""Writes the two user data files of held-out-9 (run once; deterministic).

concrete.csv (2,400 rows): a ready-mix plant's quality-control log of concrete specimens in
mixed units (kg/m3 of cement, slag, fly ash, water, superplasticizer and coarse and fine
aggregate, age at test in days, curing temperature in degC, entrained air in %, slump in mm,
two text columns: the cement type (EN 197 designation) and the curing method) and the
measured compressive strength in MPa, the regression target `strength_mpa` (as in the UCI
concrete strength table). Strength follows Abrams' law on the water/binder ratio, grows with
maturity (age x temperature) more slowly for slag and fly-ash binders, drops with entrained
air and poor curing; specimens scatter by ~8% and about 3% of the rows carry a logging
mistake (the strength of another specimen, or a cylinder read as a cube).
tracks32.npz (2,000 images, 6 balanced classes): 32x32 photographs of a cloud chamber in a
magnetic field (0..255 grey), each showing one charged-particle track of six kinds: alpha
(short, dense, straight), proton (longer, denser at its end: the Bragg peak), muon (long,
thin, straight across the chamber), electron (thin, curling as it slows), pair (a gamma
conversion: a V of two thin tracks bending apart), kink (a pion decaying in flight: a
thicker track that turns sharply into a thin one). Tracks are chains of droplets at a random
position, direction, length and brightness, over a fogged background with stray droplets,
sensor noise and, in some frames, a faint stray cosmic track. X (n, 32, 32) uint8 and y (n,)
int64.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent

# --- concrete.csv -------------------------------------------------------------------------

CEMENTS = ("CEM I 42.5R", "CEM I 52.5N", "CEM II/A-LL 42.5R", "CEM III/A 42.5N")
CEMENT_P = (0.40, 0.15, 0.30, 0.15)
CEMENT_A = (96.0, 108.0, 88.0, 92.0)  # Abrams' A (MPa) of each cement
CEMENT_S = (0.25, 0.20, 0.25, 0.38)  # CEB-FIP rate of hardening of each cement
CURINGS = ("water_tank", "moist_room", "air", "steam")
CURING_P = (0.45, 0.30, 0.15, 0.10)
CURINGS_IDX = {name: i for i, name in enumerate(CURINGS)}


def concrete(n=2400, seed=9201):
    rng = np.random.default_rng(seed)
    cement_type = rng.choice(len(CEMENTS), size=n, p=CEMENT_P)
    curing = rng.choice(len(CURINGS), size=n, p=CURING_P)
    superplasticizer = np.where(rng.random(n) < 0.6, rng.gamma(2.0, 3.0, n), 0.0)
    # a mix is designed to a water content (workability) and a water/binder ratio (strength);
    # plasticiser lets both go lower
    water = np.clip(rng.normal(190, 18, n) - 1.5 * superplasticizer, 135, 240)
    wb = np.clip(rng.normal(0.52, 0.1, n) - 0.008 * superplasticizer, 0.28, 0.8)
    binder = np.clip(water / wb, 240, 560)
    wb = water / binder
    slag_share = np.where(rng.random(n) < 0.4, rng.uniform(0.1, 0.55, n), 0.0)
    ash_share = np.where(rng.random(n) < 0.35, rng.uniform(0.1, 0.3, n), 0.0)
    ash_share = np.minimum(ash_share, 0.7 - slag_share)
    slag = binder * slag_share
    fly_ash = binder * ash_share
    cement = binder - slag - fly_ash
    coarse = rng.normal(980, 70, n)
    fine = rng.normal(780, 70, n)
    air = np.clip(rng.gamma(3.0, 0.8, n) + 1.0, 1.0, 8.0)
    age = rng.choice(
        [1, 3, 7, 14, 28, 56, 90, 180, 365],
        size=n,
        p=[0.05, 0.12, 0.18, 0.08, 0.32, 0.1, 0.08, 0.04, 0.03],
    )
    temp = np.clip(rng.normal(20, 6, n), 3, 38)
    temp = np.where(CURINGS_IDX["steam"] == curing, rng.uniform(45, 65, n), temp)
    # Abrams' law on the water/binder ratio: slag and fly ash bind less than cement
    k = 1.0 - 0.15 * slag_share - 0.45 * ash_share
    f28 = np.array(CEMENT_A)[cement_type] * k / 6.0**wb
    # maturity (Nurse-Saul, datum -10 degC, at 20 degC age is age) and CEB-FIP hardening
    t_eq = age * (temp + 10.0) / 30.0
    s = np.array(CEMENT_S)[cement_type] + 0.25 * slag_share + 0.35 * ash_share
    grow = np.exp(s * (1.0 - np.sqrt(28.0 / np.maximum(t_eq, 0.3))))
    cure = np.select(
        [curing == 0, curing == 1, curing == 2, curing == 3],
        [1.0, 0.97, 0.78 + 0.1 * np.exp(-age / 7.0), np.where(age <= 3, 1.05, 0.9)],
    )
    air_loss = 1.0 - 0.05 * np.maximum(air - 2.0, 0.0)
    agg = 1.0 + 0.00015 * (coarse - 980) - 0.0001 * (fine - 780)
    strength = f28 * grow * cure * air_loss * agg
    strength = strength * rng.lognormal(0.0, 0.08, n) + rng.normal(0, 1.2, n)
    slump = np.clip(rng.normal(40 + 260 * (wb - 0.4) + 6 * superplasticizer, 25), 0, 250)
    wrong = rng.random(n) < 0.03  # logging mistakes
    mixup = wrong & (rng.random(n) < 0.6)
    strength[mixup] = strength[rng.integers(0, n, mixup.sum())]  # another specimen's result
    strength[wrong & ~mixup] *= 1.25  # a cylinder entered as a cube
    frame = pd.DataFrame(
        {
            "cement_kg_m3": cement.round(1),
            "slag_kg_m3": slag.round(1),
            "fly_ash_kg_m3": fly_ash.round(1),
            "water_kg_m3": water.round(1),
            "superplasticizer_kg_m3": superplasticizer.round(2),
            "coarse_agg_kg_m3": coarse.round(0),
            "fine_agg_kg_m3": fine.round(0),
            "age_days": age.astype(np.int64),
            "curing_temp_c": temp.round(1),
            "air_pct": air.round(1),
            "slump_mm": slump.round(0).astype(np.int64),
            "cement_type": np.array(CEMENTS)[cement_type],
            "curing": np.array(CURINGS)[curing],
            "strength_mpa": np.maximum(strength, 0.5).round(1),
        }
    )
    frame.to_csv(OUT / "concrete.csv", index=False)
    return frame


# --- tracks32.npz -------------------------------------------------------------------------

KINDS = ("alpha", "proton", "muon", "electron", "pair", "kink")
SIZE = 32
_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(float)


def _path(start, angle, length, turn=0.0, turn_growth=0.0, wobble=0.0, rng=None, step=0.5):
    """Points every `step` px along a path that turns by `turn` rad/px (a charged track in
    a magnetic field), turning faster as it slows (`turn_growth`), with scattering."""
    pts = [np.array(start, float)]
    a = angle
    for i in range(int(length / step)):
        frac = i * step / max(length, 1e-6)
        a += step * turn * (1 + turn_growth * frac) + (rng.normal(0, wobble) if wobble else 0)
        pts.append(pts[-1] + step * np.array([np.cos(a), np.sin(a)]))
    return np.array(pts)


def _droplets(img, pts, density, width, amp, rng, bragg=0.0):
    """Condensation droplets along a path: `density` per px (dE/dx) spread over `width`
    px each side, so a dense track is a wide bright trail and a thin one a fine line."""
    n = len(pts)
    for i, (x, y) in enumerate(pts):
        dens = density * 0.5 * (1 + bragg * max(0.0, (i / n - 0.75) / 0.25))  # 0.5 px steps
        k = rng.poisson(dens)
        if k == 0:
            continue
        px, py = x + rng.normal(0, width, k), y + rng.normal(0, width, k)
        a = amp * rng.uniform(0.2, 0.35, k)
        d2 = (_XX[..., None] - px) ** 2 + (_YY[..., None] - py) ** 2
        img += (a * np.exp(-d2 / 0.5)).sum(-1)


def _start(rng, margin=6):
    return rng.uniform(margin, SIZE - margin, 2)


def _track(kind, img, rng):
    angle = rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.7, 1.0)
    if kind == "alpha":
        pts = _path(_start(rng), angle, rng.uniform(5, 11))
        _droplets(img, pts, rng.uniform(14, 18), rng.uniform(0.8, 1.1), amp, rng)
    elif kind == "proton":
        pts = _path(_start(rng, 4), angle, rng.uniform(10, 19), turn=rng.normal(0, 0.01))
        _droplets(img, pts, rng.uniform(8, 10), rng.uniform(0.5, 0.7), amp, rng, bragg=1.5)
    elif kind == "muon":  # crosses the chamber: start off one side
        cx, cy = _start(rng, 8)
        start = (cx - 24 * np.cos(angle), cy - 24 * np.sin(angle))
        pts = _path(start, angle, 48, turn=rng.normal(0, 0.004))
        _droplets(img, pts, rng.uniform(4, 5), 0.25, amp, rng)
    elif kind == "electron":  # light: scatters and curls ever tighter as it slows
        pts = _path(
            _start(rng, 8),
            angle,
            rng.uniform(14, 26),
            turn=rng.choice([-1, 1]) * rng.uniform(0.09, 0.17),
            turn_growth=rng.uniform(1.5, 3.0),
            wobble=0.12,
            rng=rng,
        )
        _droplets(img, pts, rng.uniform(4, 5), 0.25, amp, rng)
    elif kind == "pair":  # e+ e- from one vertex, bending apart in the field
        vertex = _start(rng, 7)
        toward = np.arctan2(SIZE / 2 - vertex[1], SIZE / 2 - vertex[0]) + rng.normal(0, 0.6)
        half = rng.uniform(0.08, 0.22)
        curve = rng.uniform(0.07, 0.13)
        for sign in (-1, 1):
            pts = _path(
                vertex,
                toward + sign * half,
                rng.uniform(9, 15),
                turn=sign * curve,
                wobble=0.05,
                rng=rng,
            )
            _droplets(img, pts, rng.uniform(4, 5), 0.25, amp, rng)
    else:  # kink: a pion (denser) decays in flight to a muon (thin) at a sharp angle
        point = _start(rng, 9)
        back = _path(point, angle + np.pi, rng.uniform(7, 12), turn=rng.normal(0, 0.02))
        _droplets(img, back, rng.uniform(9, 11), 0.55, amp, rng)
        bend = rng.choice([-1, 1]) * rng.uniform(0.6, 1.8)
        pts = _path(point, angle + bend, rng.uniform(8, 15), turn=rng.normal(0, 0.02))
        _droplets(img, pts, rng.uniform(4, 5), 0.25, amp, rng)


def tracks(n=2000, seed=9202):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(KINDS))
    X = np.zeros((n, SIZE, SIZE), np.uint8)
    for k, label in enumerate(y):
        img = np.zeros((SIZE, SIZE))
        _track(KINDS[label], img, rng)
        if rng.random() < 0.25:  # a faint stray cosmic ray
            a = rng.uniform(0, 2 * np.pi)
            cx, cy = _start(rng, 4)
            pts = _path((cx - 24 * np.cos(a), cy - 24 * np.sin(a)), a, 48)
            _droplets(img, pts, 3.0, 0.25, 0.4, rng)
        for _ in range(rng.poisson(6)):  # stray droplets
            px, py = rng.uniform(0, SIZE, 2)
            img += rng.uniform(0.3, 0.8) * np.exp(-((_XX - px) ** 2 + (_YY - py) ** 2) / 0.5)
        gx, gy = rng.normal(0, 0.004, 2)  # uneven fog and lighting
        fog = rng.uniform(0.05, 0.2) + gx * (_XX - 16) + gy * (_YY - 16)
        img = np.minimum(img, 1.3) * rng.uniform(0.55, 0.8) + fog
        img += rng.normal(0, rng.uniform(0.03, 0.07), img.shape)  # sensor noise
        X[k] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    np.savez_compressed(OUT / "tracks32.npz", X=X, y=y.astype(np.int64))
    return X, y


if __name__ == "__main__":
    f = concrete()
    print(f.head(), f.describe().T, sep="\n")
    X, y = tracks()
    print(X.shape, np.bincount(y), X.mean(), X.std())
