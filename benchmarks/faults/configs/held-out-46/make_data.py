"""The user data of fault-benchmark round held-out-46: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

audiograms.csv: a hearing clinic's test records, one adult per row
------------------------------------------------------------------
3,200 rows, 24 columns. Each row is one adult's visit to an audiology clinic as the
audiologist recorded it: the referral route (a text column: gp, occupational_health, ent,
self or review; noise-exposed workers come through occupational health more often) and
22 numeric columns in their own units: age (years), years of noisy work (0 for 58%,
log-normal for the rest), pure-tone air-conduction thresholds of each ear at 0.5, 1, 2, 4
and 8 kHz (dB HL in 5 dB steps, -10 to 120), bone conduction of each ear at 1 kHz (dB HL),
tympanometric compliance of each ear (ml, log-normal, heavy-tailed: flat in effusions,
stiff in otosclerosis, a few floppy ears over 2 ml), the tympanogram's peak pressure
(daPa, far negative behind an effusion), otoacoustic-emission SNR (dB), word recognition
(% in 2% steps, skewed toward 100), a tinnitus rating (0-10), and two columns that do not
bear on the verdict (the session's minutes, the booth's background noise in dBA).
Thresholds are a personal offset plus age-related loss (ISO 7029-like: grows with the
square of the years past 25, steepest at high pitch, with a personal susceptibility),
noise-induced loss (a notch at 4 kHz, spreading a little to 2 and 8 kHz, one ear often
worse), for 7.5% a one-sided loss over a band of pitches (acoustic neuroma, sudden
loss: poor word recognition) and for 13% a conductive loss in one or both ears (middle-ear
effusion: flat, with a flat tympanogram at negative pressure; otosclerosis: worse at low
pitch, a stiff ear), then test-retest noise, rounded to 5 dB. A few measurements were not
made and are left blank: the OAE SNR (67 rows, the probe would not seal) and the left
tympanogram (26 rows). `verdict`, by the clinic's rules in this order (the first that
holds wins):

    conductive    12%   an air-bone gap of 20 dB or more at 1 kHz in either ear, or a
                        compliance below 0.3 ml with a peak below -150 daPa
    asymmetric     9%   the ears differ by 15 dB or more at two or more frequencies, or
                        word recognition below 70% with the better ear's average
                        (0.5-4 kHz) below 45 dB
    noise_notch   21%   a noise history (1 year or more) and, in either ear, 4 kHz at
                        least 15 dB worse than the mean of 1 and 2 kHz and at least 5 dB
                        worse than 8 kHz
    presbycusis   11%   the better ear's high-pitch average (2, 4, 8 kHz) above 30 dB
    normal        48%   otherwise

No rule is one column: each compares thresholds across pitches or ears (absolute
differences, the worse or the better ear), the notch needs the history too, and the
rules override each other in order. 4% of the verdicts are wrong (a random other one).
In scikit-learn (5-fold, standardised columns, mean-imputed, text one-hot) a logistic
regression reaches about 0.85 accuracy, a random forest (300 trees) about 0.87; the
commonest verdict alone 0.48. The healthy MLP of this round reaches about 0.87.

cutlery36.npz: a canteen's dish-return camera, one piece of cutlery per frame
-----------------------------------------------------------------------------
3,000 grayscale images (uint8, 36 x 36, `X`) from the camera over the sorting belt of a
canteen's dish-return line: one piece of cutlery on a plastic modular belt (its hinge
ribs at a random pitch and slant), at a random position (+-4 px), turned by any angle
and scaled by 0.88-1.12; stainless steel with a specular streak along it and a darker
hollow in a bowl (chopsticks: bamboo, lacquer or black plastic, a pair at a random gap
and splay), a soft shadow cast to a random side, sometimes the rim of a plate or a tray
poking into the frame, food scraps and water drops, a lighting gradient and sensor
noise. Labels `y` (int64), 6 classes, 500 each:

    0 fork     1 knife     2 spoon     3 teaspoon     4 chopsticks     5 ladle

A fork has a wide head cut into four tines, a knife a straight blade as long as its
handle, a spoon an oval bowl, a teaspoon the same shape at 0.66-0.74 of its size (the
camera's height is fixed, so size tells them apart), a ladle a round bowl on a long,
thin handle; the turn puts each at any angle, and the belt's and the steel's brightness
vary far more than the items' outlines. On the raw pixels a logistic regression reaches
about 0.32 and a random forest about 0.41 (3-fold); the healthy CNN of this round about
0.89.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FREQS = (500, 1000, 2000, 4000, 8000)
REFERRALS = ("gp", "occupational_health", "ent", "self", "review")
VERDICTS = ("asymmetric", "conductive", "noise_notch", "presbycusis", "normal")
COLUMNS = (
    ("referral", None),
    ("age_y", 0),
    ("noise_exposure_y", 0),
    *((f"ac_right_{f}hz_db", 0) for f in FREQS),
    *((f"ac_left_{f}hz_db", 0) for f in FREQS),
    ("bc_right_1000hz_db", 0),
    ("bc_left_1000hz_db", 0),
    ("tymp_right_ml", 2),
    ("tymp_left_ml", 2),
    ("tymp_peak_dapa", 0),
    ("oae_snr_db", 1),
    ("speech_score_pct", 0),
    ("tinnitus_rating", 0),
    ("session_minutes", 0),
    ("booth_noise_dba", 1),
    ("verdict", None),
)
SIZE = 36
ITEMS = ("fork", "knife", "spoon", "teaspoon", "chopsticks", "ladle")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- audiograms.csv -----------------------------------------------------------------------


def audiograms(n: int = 3200, seed: int = 46001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    age = np.where(
        rng.random(n) < 0.25, rng.uniform(18, 40, size=n), 18 + 80 * rng.beta(2.4, 2.2, size=n)
    )
    exposed = rng.random(n) < 0.42
    noise_y = np.where(exposed, rng.lognormal(2.0, 0.8, size=n), 0.0)
    noise_y = np.minimum(noise_y, (age - 16).clip(0)).round()
    u = rng.random(n)
    p_occ = np.where(noise_y > 0, 0.38, 0.06)
    referral = np.where(
        u < p_occ,
        1,
        np.where(
            u < p_occ + 0.14, 2, np.where(u < p_occ + 0.26, 3, np.where(u < p_occ + 0.33, 4, 0))
        ),
    )
    f = np.arange(5)
    # sensorineural loss per ear (n, 2, 5): a personal offset, age (ISO 7029-like, steepest
    # at high frequencies), noise (a notch at 4 kHz, partly at 2 and 8 kHz)
    offset = rng.normal(0, 4.5, size=(n, 1, 1)) + rng.normal(0, 2.5, size=(n, 2, 5))
    slope = np.array([0.2, 0.3, 0.6, 1.1, 1.5])
    aging = (
        ((age - 25).clip(0) ** 2 / 100)[:, None, None]
        * slope
        * rng.lognormal(0, 0.4, size=(n, 1, 1))
    )
    depth = 9 * np.log1p(noise_y)[:, None] * rng.lognormal(0, 0.45, size=(n, 1))
    depth = depth * np.stack([np.ones(n), rng.uniform(0.6, 1.2, size=n)], 1)  # one ear worse
    notch = np.array([0.0, 0.1, 0.4, 1.0, 0.45])
    sensori = offset + aging + depth[:, :, None] * notch
    # asymmetric losses (acoustic neuroma, sudden loss): one ear, a band of frequencies
    asym = rng.random(n) < 0.075
    side = rng.integers(0, 2, size=n)
    centre = rng.uniform(0.5, 3.5, size=n)
    band = np.exp(
        -((f[None] - centre[:, None]) ** 2) / (2 * rng.uniform(0.6, 2.0, size=n) ** 2)[:, None]
    )
    extra = (asym * rng.uniform(12, 60, size=n))[:, None] * band
    sensori[np.arange(n), side] += extra
    # conductive components: middle-ear effusion (flat, worse at low pitch, a flat
    # tympanogram at negative pressure) or otosclerosis (worse at low pitch, a stiff ear)
    cond = rng.random(n) < 0.13
    kind = rng.random(n) < 0.6  # True: effusion
    both = cond & (rng.random(n) < np.where(kind, 0.5, 0.3))
    ear = rng.integers(0, 2, size=n)
    gap_ear = np.zeros((n, 2))
    gap_ear[np.arange(n), ear] = cond * rng.uniform(8, 45, size=n)
    gap_ear[np.arange(n), 1 - ear] = both * rng.uniform(8, 40, size=n)
    shape = np.where(kind[:, None], [1.1, 1.0, 0.85, 0.75, 0.8], [1.3, 1.1, 0.6, 0.7, 0.7])
    gap = gap_ear[:, :, None] * shape[:, None, :]
    ac = sensori + gap
    ac = (np.round((ac + rng.normal(0, 3, size=ac.shape)) / 5) * 5).clip(-10, 120)
    bc = sensori[:, :, 1] + rng.normal(0, 4, size=(n, 2)) + 0.15 * gap[:, :, 1]
    bc = (np.round(bc / 5) * 5).clip(-10, 70)
    # tympanometry: compliance per ear (ml, log-normal), the peak pressure of the stiffer ear
    normal_c = rng.lognormal(np.log(0.75), 0.38, size=(n, 2))
    effusion_c = rng.lognormal(np.log(0.14), 0.45, size=(n, 2))
    stiff_c = rng.lognormal(np.log(0.32), 0.3, size=(n, 2))
    hit = gap_ear > 0
    comp = np.where(hit & kind[:, None], effusion_c, np.where(hit, stiff_c, normal_c))
    comp = np.where(rng.random((n, 2)) < 0.02, rng.lognormal(np.log(2.4), 0.3, size=(n, 2)), comp)
    stiffer = comp.argmin(1)
    effused = hit[np.arange(n), stiffer] & kind
    peak = np.where(effused, rng.normal(-230, 80, size=n), rng.normal(-15, 30, size=n)) - rng.gamma(
        1.0, 15.0, size=n
    )
    # otoacoustic emissions (better ear): gone with cochlear loss or any middle-ear problem
    mid = sensori[:, :, 1:4].mean(2).min(1)
    oae = 14 - 0.35 * mid.clip(0) - 9 * (gap_ear.min(1) > 0) + rng.normal(0, 2.5, size=n)
    oae = oae.clip(-6, 28)
    # speech: word recognition in the better ear, worse in neural (asymmetric) losses
    pta_better = ac[:, :, :4].mean(2).min(1)
    speech = 100 - 0.5 * (pta_better - 25).clip(0) - asym * rng.uniform(5, 60, size=n)
    speech = speech - rng.gamma(1.0, 4.0, size=n)
    speech = (np.round(speech.clip(0, 100) / 2) * 2).clip(0, 100)
    tinnitus = rng.poisson(0.6 + 0.25 * np.log1p(noise_y) * 3 + 3.0 * asym).clip(0, 10)
    minutes = 18 + rng.gamma(2.0, 6.0, size=n) + 0.15 * (age - 18)
    booth = rng.normal(27, 2.5, size=n) + rng.gamma(1.0, 1.5, size=n)

    # the clinic's verdicts, in this order (the first that holds)
    pta = ac[:, :, :4].mean(2)
    differ = (np.abs(ac[:, 0] - ac[:, 1]) >= 15).sum(1)
    abg = (ac[:, :, 1] - bc).max(1)
    dip = ac[:, :, 3] - (ac[:, :, 1] + ac[:, :, 2]) / 2
    recover = ac[:, :, 3] - ac[:, :, 4]
    hf = ac[:, :, 2:].mean(2).min(1)
    verdict = np.full(n, 4)
    verdict[hf > 30] = 3
    verdict[((dip >= 15) & (recover >= 5)).any(1) & (noise_y >= 1)] = 2
    verdict[(differ >= 2) | ((speech < 70) & (pta.min(1) < 45))] = 0
    verdict[(abg >= 20) | ((comp.min(1) < 0.3) & (peak < -150))] = 1
    flip = rng.random(n) < 0.04
    verdict[flip] = (verdict[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "referral": [REFERRALS[i] for i in referral],
        "age_y": age,
        "noise_exposure_y": noise_y,
        "bc_right_1000hz_db": bc[:, 0],
        "bc_left_1000hz_db": bc[:, 1],
        "tymp_right_ml": comp[:, 0],
        "tymp_left_ml": comp[:, 1],
        "tymp_peak_dapa": peak,
        "oae_snr_db": oae,
        "speech_score_pct": speech,
        "tinnitus_rating": tinnitus,
        "session_minutes": minutes,
        "booth_noise_dba": booth,
        "verdict": [VERDICTS[i] for i in verdict],
    }
    for k, hz in enumerate(FREQS):
        values[f"ac_right_{hz}hz_db"] = ac[:, 0, k]
        values[f"ac_left_{hz}hz_db"] = ac[:, 1, k]
    # a few measurements were not made: the OAE probe would not seal, a tympanogram of the
    # left ear was skipped (blank)
    missing = {"oae_snr_db": rng.random(n) < 0.02, "tymp_left_ml": rng.random(n) < 0.01}
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


# --- cutlery36.npz ------------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def capsule(u, v, u0: float, u1: float, r0: float, r1: float) -> np.ndarray:
    """Signed distance to a bar along the u axis from u0 to u1, its half-width going from
    r0 to r1 (rounded ends)."""
    t = np.clip((u - u0) / (u1 - u0), 0, 1)
    return np.hypot(u - (u0 + t * (u1 - u0)), v) - (r0 + t * (r1 - r0))


def box(u, v, u0: float, u1: float, half: float) -> np.ndarray:
    du = np.abs(u - (u0 + u1) / 2) - (u1 - u0) / 2
    dv = np.abs(v) - half
    return np.hypot(du.clip(0), dv.clip(0)) + np.minimum(np.maximum(du, dv), 0)


def ellipse(u, v, cu: float, a: float, b: float) -> np.ndarray:
    """Approximate signed distance to an ellipse centred at (cu, 0), semi-axes a along u."""
    return (np.hypot((u - cu) / a, v / b) - 1) * min(a, b)


def item_shape(rng: np.random.Generator, item: str, u, v) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of one piece of cutlery in its own coordinates (u along it, tip at
    +u), and a shading term (the hollow of a bowl, the ridge of a blade)."""
    shade = np.zeros_like(u)
    if item == "fork":
        handle = capsule(u, v, -14.5, 1.5, 1.5, 1.0)
        head = box(u, v, 2.0, 13.5, rng.uniform(3.3, 3.8))
        head = np.minimum(head, capsule(u, v, 0.5, 3.0, 1.0, 2.8))
        slot = np.full_like(u, np.inf)
        spacing = rng.uniform(1.7, 1.95)
        for k in (-1, 0, 1):
            slot = np.minimum(slot, box(u, v - k * spacing, 6.0, 15.0, 0.55))
        d = np.minimum(handle, np.maximum(head, -slot))
    elif item == "knife":
        handle = capsule(u, v, -14.5, -3.0, 1.8, 1.7)
        blade = np.maximum(box(u, v + 0.2, -3.0, 14.0, 1.55), ellipse(u, v + 1.4, 2.0, 12.5, 3.0))
        d = np.minimum(handle, blade)
        shade = np.clip(1 - np.abs(v + 0.3) / 1.2, 0, 1) * (u > -3)
    elif item in ("spoon", "teaspoon"):
        k = 1.0 if item == "spoon" else rng.uniform(0.66, 0.74)
        handle = capsule(u, v, -14.5 * k, 1.5 * k, 1.5 * k, 0.85 * k)
        bowl = ellipse(u, v, 7.5 * k, 6.4 * k, 4.1 * k)
        d = np.minimum(handle, bowl)
        shade = np.clip(1 - np.hypot((u - 7.5 * k) / (5.4 * k), v / (3.2 * k)), 0, 1)
    elif item == "ladle":
        handle = capsule(u, v, -16.0, 4.0, 1.1, 0.8)
        r = rng.uniform(6.4, 7.4)
        bowl = np.hypot(u - 8.5, v) - r
        d = np.minimum(handle, bowl)
        shade = np.clip(1 - np.hypot(u - 8.5, v) / (r - 0.8), 0, 1)
    else:  # chopsticks: a pair of thin tapered sticks, roughly parallel
        gap = rng.uniform(1.6, 4.0)
        spread = rng.uniform(-0.08, 0.08)
        d = np.full_like(u, np.inf)
        for side in (-1, 1):
            w = v - side * (gap / 2 + side * spread * u) + rng.normal(0, 0.4)
            d = np.minimum(d, capsule(u + rng.normal(0, 1.2), w, -14.0, 13.0, 1.05, 0.55))
    return d, shade


def shifted(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`a` moved by whole pixels, zeros coming in at the edges."""
    out = np.zeros_like(a)
    h, w = a.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = a[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def cutlery_frame(rng: np.random.Generator, item: str) -> np.ndarray:
    """One piece of cutlery on the sorting belt of a canteen's dish-return line, seen from
    the camera above it."""
    scale = rng.uniform(0.88, 1.12)
    cy, cx = SIZE / 2 + rng.uniform(-4.0, 4.0, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    # the belt: a plastic modular belt with its hinge ribs, a lighting gradient
    image = rng.uniform(0.2, 0.55) + np.zeros((SIZE, SIZE))
    pitch = rng.uniform(4.0, 7.0)
    belt_turn = rng.uniform(-0.25, 0.25)
    along = _GRID[0] * np.cos(belt_turn) + _GRID[1] * np.sin(belt_turn)
    image = image - rng.uniform(0.02, 0.09) * (np.cos(2 * np.pi * along / pitch) > 0.7)
    image = image + rng.normal(0, 0.015, size=image.shape)
    # a plate rim or a tray edge poking into the frame now and then
    if rng.random() < 0.35:
        ry, rx = SIZE / 2 + rng.normal(0, 1, size=2) * 30
        radius = np.hypot(ry - SIZE / 2, rx - SIZE / 2) - rng.uniform(12, 20)
        rim = inside(np.abs(np.hypot(_GRID[0] - ry, _GRID[1] - rx) - radius) - rng.uniform(1, 3))
        image = image * (1 - rim) + rim * rng.uniform(0.6, 0.95)
    # the item's soft shadow, then the item: stainless steel (bright, a specular streak
    # along it) or, for chopsticks, bamboo, lacquer or black plastic
    d, shade = item_shape(rng, item, u, v)
    mask = inside(d)
    sy, sx = rng.integers(-2, 3, size=2)
    shadow = shifted(inside(d - 0.3, 2.2), int(sy), int(sx))
    image = image * (1 - 0.4 * shadow)
    if item == "chopsticks":
        dark = rng.random() < 0.4
        level = rng.uniform(0.02, 0.1) if dark else rng.uniform(0.55, 0.85)
        surface = level + 0.03 * np.sin(u * rng.uniform(1.0, 3.0))
    else:
        level = rng.uniform(0.5, 0.9)
        streak = np.exp(-((v - rng.uniform(-0.8, 0.8)) ** 2) / 0.6)
        surface = level + rng.uniform(0.05, 0.25) * streak - rng.uniform(0.05, 0.2) * shade
    image = image * (1 - mask) + mask * surface
    # food scraps and water drops on the belt and the item
    for _ in range(int(rng.integers(0, 6))):
        py, px = rng.uniform(0, SIZE, size=2)
        size = rng.uniform(0.4, 2.0)
        blob = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * size))
        image = image + blob * rng.uniform(-0.35, 0.35)
    light = rng.uniform(0, 2 * np.pi)
    ramp = ((_GRID[1] - SIZE / 2) * np.cos(light) + (_GRID[0] - SIZE / 2) * np.sin(light)) / 18
    image = image * (1 + rng.uniform(0.1, 0.35) * ramp)
    image = image + rng.normal(0, rng.uniform(0.02, 0.05), size=image.shape)
    return np.clip(image, 0, 1)


def cutlery(n: int = 3000, seed: int = 46002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(ITEMS))
    X = np.stack([cutlery_frame(rng, ITEMS[int(k)]) for k in y])
    # 8-bit camera levels
    X = np.round(X * 255).astype(np.uint8)
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
    write_csv(HERE / "audiograms.csv", *audiograms())
    X, y = cutlery()
    write_npz(HERE / "cutlery36.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
