"""Writes the two user data files of held-out-8 (run once; deterministic).

netflows.csv: network flow records from a campus border router in mixed units (s, bytes, a
count of packets, bytes per packet, %, flows a minute, counts of ports and hosts, hour of
day, a 0..1 reputation score, two text columns: protocol and service) and the traffic class
an analyst gave each flow: normal, port_scan, brute_force, dos_flood or exfiltration (as in
intrusion-detection tables such as KDD-99 / CIC-IDS built from flow exports). The classes
overlap (slow scans look like normal traffic, bulk backups like exfiltration) and about 5% of
the labels are an analyst's mistakes; `bytes_out` and `bytes_in` span six orders of magnitude.
galaxies24.npz: 24x24 cut-outs of galaxies from a sky survey (0..255 counts after sky
subtraction), one of six morphologies: elliptical, spiral, edge_on, ring, merger,
irregular (as in Galaxy Zoo), at a random position, size, orientation and brightness, with
sky and read noise and some foreground stars, X (n, 24, 24) uint8 and y (n,) int64.
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent

CLASSES = ("normal", "port_scan", "brute_force", "dos_flood", "exfiltration")
PRIOR = (0.42, 0.15, 0.14, 0.15, 0.14)
# per class, of: log10 duration_s, log10 bytes_out, log10 bytes_in, mean packet size in bytes,
# syn_pct, log10 flows_per_min, distinct_dst_ports, distinct_dst_hosts, failed_logins
MEAN = {
    "normal": (0.8, 3.9, 4.4, 700, 8, 0.6, 1.6, 1.6, 0.05),
    "port_scan": (-0.6, 2.1, 2.0, 70, 55, 1.5, 14, 2.2, 0.0),
    "brute_force": (0.6, 3.2, 3.3, 200, 14, 1.2, 1.2, 1.2, 3.5),
    "dos_flood": (-0.3, 2.8, 1.8, 160, 60, 2.2, 1.4, 1.3, 0.0),
    "exfiltration": (1.8, 5.6, 3.5, 1100, 6, 0.4, 1.3, 1.3, 0.1),
}
SD = {
    "normal": (0.9, 1.1, 1.1, 380, 9, 0.55, 1.5, 1.2, 0.3),
    "port_scan": (0.7, 0.8, 0.9, 40, 26, 0.6, 11, 1.8, 0.15),
    "brute_force": (0.7, 0.8, 0.8, 110, 12, 0.55, 0.9, 0.8, 3.0),
    "dos_flood": (0.7, 0.9, 1.0, 200, 30, 0.6, 1.1, 1.0, 0.15),
    "exfiltration": (0.8, 1.0, 1.1, 350, 8, 0.55, 1.0, 0.9, 0.4),
}
PROTOCOLS = ("tcp", "udp", "icmp")
PROTOCOL_P = {
    "normal": (0.72, 0.25, 0.03),
    "port_scan": (0.75, 0.15, 0.10),
    "brute_force": (0.97, 0.03, 0.0),
    "dos_flood": (0.45, 0.35, 0.20),
    "exfiltration": (0.75, 0.25, 0.0),
}
SERVICES = ("http", "https", "dns", "ssh", "smtp", "ftp", "rdp", "other")
SERVICE_P = {
    "normal": (0.18, 0.40, 0.20, 0.05, 0.07, 0.03, 0.02, 0.05),
    "port_scan": (0.10, 0.10, 0.05, 0.10, 0.05, 0.05, 0.10, 0.45),
    "brute_force": (0.08, 0.07, 0.0, 0.45, 0.05, 0.15, 0.20, 0.0),
    "dos_flood": (0.35, 0.25, 0.20, 0.02, 0.03, 0.0, 0.0, 0.15),
    "exfiltration": (0.10, 0.35, 0.15, 0.15, 0.05, 0.15, 0.0, 0.05),
}


def netflows(n=2000, seed=9101):
    rng = np.random.default_rng(seed)
    y = rng.choice(len(CLASSES), size=n, p=PRIOR)
    raw = np.empty((n, 9))
    for j in range(9):
        mean = np.array([MEAN[c][j] for c in CLASSES])[y]
        sd = np.array([SD[c][j] for c in CLASSES])[y]
        raw[:, j] = rng.normal(mean, sd)
    duration = 10 ** raw[:, 0]
    bytes_out = np.round(10 ** raw[:, 1]).astype(np.int64) + 40
    bytes_in = np.round(10 ** raw[:, 2]).astype(np.int64)
    pkt_bytes = np.clip(raw[:, 3], 40, 1500)  # an Ethernet frame carries at most 1500 bytes
    packets = np.maximum(np.round((bytes_out + bytes_in) / pkt_bytes), 1).astype(np.int64)
    hour = np.where(
        np.isin(y, [1, 4]) & (rng.random(n) < 0.6),  # scans and exfiltration often at night
        rng.integers(0, 6, n),
        np.clip(np.round(rng.normal(13, 4, n)), 0, 23),
    ).astype(np.int64)
    names = np.array(CLASSES)[y]
    frame = pd.DataFrame(
        {
            "duration_s": duration.round(3),
            "bytes_out": bytes_out,
            "bytes_in": bytes_in,
            "packets": packets,
            "mean_pkt_bytes": ((bytes_out + bytes_in) / packets).round(1),
            "syn_pct": np.clip(raw[:, 4], 0, 100).round(1),
            "flows_per_min": (10 ** raw[:, 5]).round(2),
            "distinct_dst_ports": np.maximum(np.round(raw[:, 6]), 1).astype(np.int64),
            "distinct_dst_hosts": np.maximum(np.round(raw[:, 7]), 1).astype(np.int64),
            "failed_logins": np.maximum(np.round(raw[:, 8]), 0).astype(np.int64),
            "hour_of_day": hour,
            "src_reputation": rng.beta(5, 2, n).round(3),  # says (almost) nothing
            "protocol": [PROTOCOLS[rng.choice(3, p=PROTOCOL_P[c])] for c in names],
            "service": [SERVICES[rng.choice(8, p=SERVICE_P[c])] for c in names],
        }
    )
    wrong = rng.random(n) < 0.06  # an analyst's mistakes
    names = names.copy()
    names[wrong] = np.array(CLASSES)[rng.integers(0, len(CLASSES), wrong.sum())]
    frame["traffic_class"] = names
    frame.to_csv(OUT / "netflows.csv", index=False)
    return frame


KINDS = ("elliptical", "spiral", "edge_on", "ring", "merger", "irregular")
SIZE = 24


def _grid(cx, cy, angle):
    """Coordinates rotated by `angle` about (cx, cy)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    dx, dy = xx - cx, yy - cy
    c, s = np.cos(angle), np.sin(angle)
    return c * dx + s * dy, -s * dx + c * dy


def _blob(cx, cy, radius, ratio=1.0, angle=0.0, sersic=1.0):
    u, v = _grid(cx, cy, angle)
    r = np.sqrt(u**2 + (v / ratio) ** 2) / radius
    return np.exp(-(r ** (1 / sersic)))


def _galaxy(kind, rng):
    cx, cy = SIZE / 2 - 0.5 + rng.uniform(-2, 2, 2)
    angle = rng.uniform(0, np.pi)
    scale = rng.uniform(0.8, 1.25)
    if kind == "elliptical":
        img = _blob(cx, cy, 1.6 * scale, rng.uniform(0.45, 1.0), angle, sersic=2.0)
    elif kind == "spiral":
        u, v = _grid(cx, cy, angle)
        incl = rng.uniform(0.55, 1.0)
        v = v / incl
        r = np.sqrt(u**2 + v**2) + 1e-6
        theta = np.arctan2(v, u)
        pitch = rng.uniform(0.25, 0.45) * rng.choice([-1, 1])
        arms = np.cos(2 * (theta - np.log(r) / pitch)) * 0.5 + 0.5
        disk = np.exp(-r / (3.2 * scale))
        img = 0.7 * _blob(cx, cy, 1.0 * scale) + disk * arms**3 * 1.1 * (r > 1.5)
    elif kind == "edge_on":
        bulge = _blob(cx, cy, 1.2 * scale, rng.uniform(0.7, 1.0), angle)
        disk = _blob(cx, cy, 4.0 * scale, rng.uniform(0.12, 0.25), angle, sersic=0.8)
        img = 0.6 * bulge + disk
    elif kind == "ring":
        u, v = _grid(cx, cy, angle)
        r = np.sqrt(u**2 + (v / rng.uniform(0.6, 1.0)) ** 2)
        r0 = rng.uniform(4.0, 6.5) * scale
        img = np.exp(-0.5 * ((r - r0) / 0.9) ** 2) + rng.uniform(0.3, 0.9) * _blob(cx, cy, 1.0)
    elif kind == "merger":
        sep = rng.uniform(3.0, 6.0)
        dx, dy = 0.5 * sep * np.cos(angle), 0.5 * sep * np.sin(angle)
        img = _blob(cx + dx, cy + dy, 1.6 * scale, rng.uniform(0.6, 1), angle, 1.5)
        img = img + rng.uniform(0.4, 1.0) * _blob(cx - dx, cy - dy, 1.4 * scale, 1, 0, 1.5)
        # a curved tidal tail
        t = np.linspace(0, 1, 30)
        bend = rng.choice([-1, 1]) * rng.uniform(0.8, 1.6)
        tx = cx + dx + (4 + 5 * t) * np.cos(angle + bend * t)
        ty = cy + dy + (4 + 5 * t) * np.sin(angle + bend * t)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
        for px, py in zip(tx, ty, strict=True):
            img = img + 0.05 * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / 1.5)
    else:  # irregular: a few star-forming clumps on a faint patchy body
        img = 0.35 * _blob(cx, cy, 3.0 * scale, rng.uniform(0.5, 1), angle)
        for _ in range(rng.integers(3, 7)):
            px, py = cx + rng.normal(0, 3.2, 2)
            img = img + rng.uniform(0.35, 0.9) * _blob(px, py, rng.uniform(0.6, 1.2))
    return img / img.max()


def galaxies(n=1500, seed=9102):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(KINDS))
    X = np.zeros((n, SIZE, SIZE), np.uint8)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    for k, label in enumerate(y):
        signal = _galaxy(KINDS[label], rng) * rng.uniform(90, 230)
        counts = rng.poisson(np.maximum(signal, 0) / 4.0) * 4.0  # photon noise
        sky = rng.normal(0, rng.uniform(3, 8), (SIZE, SIZE))  # sky and read noise
        for _ in range(rng.poisson(0.8)):  # foreground stars
            px, py = rng.uniform(0, SIZE, 2)
            counts += rng.uniform(60, 220) * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / 0.8)
        X[k] = np.clip(counts + sky, 0, 255).astype(np.uint8)
    np.savez_compressed(OUT / "galaxies24.npz", X=X, y=y.astype(np.int64))
    return X, y


if __name__ == "__main__":
    f = netflows()
    print(f.head(), f.traffic_class.value_counts(), sep="\n")
    X, y = galaxies()
    print(X.shape, np.bincount(y))
