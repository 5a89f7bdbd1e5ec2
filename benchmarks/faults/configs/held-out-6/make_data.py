"""Writes the two user data files of held-out-6 (run once; deterministic).

chillers.csv: readings of water chillers in mixed units (degC, kPa, W, m3/h, mm/s, hours, a
text refrigerant column) and the diagnosed state: normal, refrigerant_leak,
condenser_fouling, reduced_flow (as in chiller fault-detection studies, e.g. ASHRAE RP-1043).
wafer16.npz: 16x16 wafer maps (0 off the wafer, 128 a passing die, 255 a failing one), one
of seven failure patterns (none, center, donut, edge_ring, edge_loc, scratch, random; as in
WM-811K), X (n, 16, 16) uint8 and y (n,) int64.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent


def chillers(n=1600, seed=7101):
    rng = np.random.default_rng(seed)
    states = np.array(["normal", "refrigerant_leak", "condenser_fouling", "reduced_flow"])
    y = rng.choice(4, size=n, p=[0.4, 0.2, 0.2, 0.2])
    load = rng.uniform(0.3, 1.0, n)  # part load
    ambient = rng.normal(28, 5, n)
    refrigerant = rng.choice(["R134a", "R410A", "R513A"], size=n, p=[0.5, 0.3, 0.2])
    leak, foul, flow = (y == 1), (y == 2), (y == 3)
    sev = rng.uniform(0.55, 1.0, n)  # fault severity
    supply = rng.normal(7.0, 0.6, n) + 0.8 * flow * sev
    delta_t = 5.0 * load * (1 + 0.5 * flow * sev) + rng.normal(0, 0.5, n)
    evap_p = 360 + 25 * (supply - 7) - 45 * leak * sev + rng.normal(0, 10, n)
    cond_p = 900 + 14 * ambient + 120 * load + 130 * foul * sev - 50 * leak * sev
    cond_p += rng.normal(0, 30, n) + 40 * (refrigerant == "R410A")
    power = 18000 * load**1.4 * (1 + 0.18 * foul * sev + 0.08 * leak * sev) + rng.normal(0, 900, n)
    flow_m3h = 42 * (1 - 0.35 * flow * sev) + rng.normal(0, 2.5, n)
    vib = np.abs(rng.normal(2.0, 0.6, n) + 0.3 * foul)
    hours = rng.uniform(500, 45000, n).round()
    frame = pd.DataFrame(
        {
            "supply_temp_C": supply.round(2),
            "return_temp_C": (supply + delta_t).round(2),
            "ambient_temp_C": ambient.round(1),
            "evaporator_pressure_kPa": evap_p.round(1),
            "condenser_pressure_kPa": cond_p.round(1),
            "compressor_power_W": power.round(0),
            "chilled_water_flow_m3h": flow_m3h.round(2),
            "vibration_mm_s": vib.round(2),
            "runtime_hours": hours,
            "refrigerant": refrigerant,
            "label": states[y],
        }
    )
    frame.to_csv(OUT / "chillers.csv", index=False)
    return frame


def wafers(n=1400, seed=7102):
    rng = np.random.default_rng(seed)
    size = 16
    r, c = np.mgrid[0:size, 0:size] + 0.5
    dy, dx = r - size / 2, c - size / 2
    rho = np.hypot(dy, dx) / (size / 2)
    theta = np.arctan2(dy, dx)
    on = rho <= 1.0
    y = rng.permutation(np.arange(n) % 7)
    X = np.zeros((n, size, size), np.uint8)
    for k, label in enumerate(y):
        p = np.full((size, size), rng.uniform(0.02, 0.10))  # background failure rate
        if label == 1:  # center
            p = np.maximum(p, 0.85 * (rho < rng.uniform(0.3, 0.5)))
        elif label == 2:  # donut
            a = rng.uniform(0.3, 0.45)
            p = np.maximum(p, 0.85 * ((rho > a) & (rho < a + rng.uniform(0.2, 0.3))))
        elif label == 3:  # edge ring
            p = np.maximum(p, 0.85 * (rho > rng.uniform(0.75, 0.85)))
        elif label == 4:  # edge local: one arc of the rim
            t0, w = rng.uniform(-np.pi, np.pi), rng.uniform(0.5, 1.2)
            arc = np.abs(np.angle(np.exp(1j * (theta - t0)))) < w
            p = np.maximum(p, 0.85 * (arc & (rho > rng.uniform(0.6, 0.75))))
        elif label == 5:  # scratch: a thin line across part of the wafer
            a = rng.uniform(0, np.pi)
            off = rng.uniform(-3, 3)
            dist = np.abs(dy * np.cos(a) - dx * np.sin(a) - off)
            along = np.abs(dy * np.sin(a) + dx * np.cos(a))
            p = np.maximum(p, 0.9 * ((dist < 0.8) & (along < rng.uniform(4, 7))))
        elif label == 6:  # random: many scattered failures
            p = np.full((size, size), rng.uniform(0.25, 0.4))
        fail = rng.random((size, size)) < p
        X[k] = np.where(on, np.where(fail, 255, 128), 0)
    np.savez_compressed(OUT / "wafer16.npz", X=X, y=y.astype(np.int64))
    return X, y


if __name__ == "__main__":
    f = chillers()
    print(f.head(), f.label.value_counts(), sep="\n")
    X, y = wafers()
    print(X.shape, np.bincount(y))
