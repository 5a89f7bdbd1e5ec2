"""The user data of fault-benchmark round held-out-45: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

ed_triage.csv: an emergency department's triage log, one attendance per row
---------------------------------------------------------------------------
3,000 rows, 25 columns. Each row is one adult attendance at an emergency department as the
triage nurse recorded it: how the patient came (two text columns: `arrival` walk_in,
ambulance, gp_referral or police; `complaint` chest_pain, breathlessness, abdominal_pain,
injury, fever, headache or collapse), and 22 numeric columns in their own units and
scales: age (years), weight (kg), heart rate (bpm), respiratory rate (/min), SpO2 (%),
on supplemental oxygen (0/1), systolic and diastolic blood pressure (mmHg), temperature
(deg C), Glasgow coma scale (3-15), pain score (0-10), capillary refill (s), point-of-care
glucose (mmol/l, heavy-tailed: diabetics high and a few hypos), lactate (mmol/l,
log-normal) and high-sensitivity troponin (ng/l, log-normal, very heavy-tailed), hours
since onset (log-normal, minutes to weeks), attendances in the last 12 months (negative
binomial with a few frequent attenders) and regular medications, and four columns that
do not bear on the category (patients in the waiting room, arrival hour, the nurse's
years of experience, minutes the triage took). A hidden acuity (heavy-tailed, worse in
the old and in ambulance arrivals) drives the vital signs, each complaint in its own
way: sepsis (fever, some abdominal pain) raises temperature, heart and breathing rate and
lactate and lowers blood pressure; bleeding injuries raise the heart rate and lower the
pressure; breathlessness lowers SpO2 (the sickest ambulance patients come on oxygen);
collapses lower GCS and pressure and some are in heart block (a slow pulse); headaches
come with high pressure; a third of chest pains are infarcts with a high troponin.
A few readings were never taken and are left blank: lactate (43 rows) and capillary
refill (23 rows). `category`, by these rules in this order, from the Royal College of
Physicians' NEWS2 score (bands on seven vital signs, U-shaped for heart rate,
respiratory rate and temperature; any GCS below 15 scores 3):

    immediate       10%   NEWS2 9 or more, GCS 8 or less, SpO2 below 85% or systolic
                          pressure below 80 mmHg
    very_urgent     22%   NEWS2 5 or more, or any single vital sign scoring 3, or chest
                          pain with troponin over 52 ng/l, or pain 9-10, or glucose
                          below 3.0 mmol/l
    urgent          24%   NEWS2 3 or 4, or pain 6 or more, or lactate over 2.0 mmol/l
    standard        22%   NEWS2 2, or pain 4 or more
    non_urgent      23%   otherwise

No rule is one column: NEWS2 sums banded scores of seven readings, each band non-monotone
in its reading, the troponin rule needs the complaint too, and the rules override each
other in order. 4% of the categories are wrong (a random other category). In
scikit-learn (5-fold, standardised columns, mean-imputed, text one-hot) a logistic
regression reaches about 0.61 accuracy, a random forest (300 trees) about 0.84; the
commonest category alone 0.24. The healthy MLP of this round reaches about 0.71.

dice34.npz: a board-game maker's end-of-line camera, one die per frame
-----------------------------------------------------------------------
2,400 grayscale images (float32 in [0, 1] at 8-bit levels, 1 x 34 x 34, `X`) of one
die each on a textured rubber tray, seen from above: a rounded square (half-side 7.5-10.5
px, corner radius 1.5-3.5 px) of ivory, white or pale plastic at a random position (+-4.5
px), turned by any angle and seen slightly obliquely (squashed along a random axis), its
face darker toward the bevelled edge, casting a soft shadow; painted pips of random size
and spacing with a little jitter; sometimes glare on the face, the edge of a neighbouring
die poking into the frame, foam crumbs, a lighting gradient and sensor noise. Labels `y`
(int64), the face up, 6 classes, 400 each:

    0 one     1 two     2 three     3 four     4 five     5 six

Two and three pips lie on a diagonal, four and five on the corners (five and three with
one in the middle), six in two rows of three; the die's turn puts each pattern at any
angle, and the mean brightness hardly differs between classes (the die's colour, the
tray and the light vary far more than the pips' share of the frame). On the raw pixels
a logistic regression reaches about 0.20 and a random forest about 0.36 (3-fold); the
healthy CNN of this round about 0.94.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ARRIVALS = ("walk_in", "ambulance", "gp_referral", "police")
COMPLAINTS = (
    "chest_pain",
    "breathlessness",
    "abdominal_pain",
    "injury",
    "fever",
    "headache",
    "collapse",
)
CATEGORIES = ("immediate", "very_urgent", "urgent", "standard", "non_urgent")
COLUMNS = (
    ("arrival", None),
    ("complaint", None),
    ("age_y", 0),
    ("weight_kg", 1),
    ("heart_rate_bpm", 0),
    ("resp_rate_pm", 0),
    ("spo2_pct", 0),
    ("on_oxygen", 0),
    ("systolic_bp_mmhg", 0),
    ("diastolic_bp_mmhg", 0),
    ("temp_c", 1),
    ("gcs", 0),
    ("pain_score", 0),
    ("cap_refill_s", 1),
    ("glucose_mmol_l", 1),
    ("lactate_mmol_l", 1),
    ("troponin_ng_l", 0),
    ("hours_since_onset", 1),
    ("attendances_12m", 0),
    ("regular_medications", 0),
    ("waiting_room_count", 0),
    ("arrival_hour", 0),
    ("nurse_years", 0),
    ("triage_minutes", 1),
    ("category", None),
)
SIZE = 34
FACES = ("one", "two", "three", "four", "five", "six")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- ed_triage.csv ------------------------------------------------------------------------


def news2(rr, spo2, oxygen, sbp, hr, gcs, temp) -> tuple[np.ndarray, np.ndarray]:
    """The Royal College of Physicians' NEWS2 aggregate score (SpO2 scale 1) and whether
    any single parameter scored 3 (a red score)."""
    parts = [
        np.select([rr <= 8, rr <= 11, rr <= 20, rr <= 24], [3, 1, 0, 2], 3),
        np.select([spo2 <= 91, spo2 <= 93, spo2 <= 95], [3, 2, 1], 0),
        np.where(oxygen > 0, 2, 0),
        np.select([sbp <= 90, sbp <= 100, sbp <= 110, sbp <= 219], [3, 2, 1, 0], 3),
        np.select([hr <= 40, hr <= 50, hr <= 90, hr <= 110, hr <= 130], [3, 1, 0, 1, 2], 3),
        np.where(gcs < 15, 3, 0),
        np.select([temp <= 35.0, temp <= 36.0, temp <= 38.0, temp <= 39.0], [3, 1, 0, 1], 2),
    ]
    stacked = np.stack(parts)
    return stacked.sum(0), (stacked == 3).any(0)


def ed_triage(n: int = 3000, seed: int = 45001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    complaint = rng.choice(7, size=n, p=[0.15, 0.12, 0.17, 0.22, 0.13, 0.11, 0.10])
    # the sicker complaints come by ambulance more often
    p_amb = np.array([0.45, 0.4, 0.2, 0.25, 0.3, 0.15, 0.6])[complaint]
    u = rng.random(n)
    arrival = np.where(
        u < p_amb, 1, np.where(u < p_amb + 0.15, 2, np.where(u < p_amb + 0.19, 3, 0))
    )
    age = np.where(
        rng.random(n) < 0.12, rng.uniform(16, 30, size=n), rng.gamma(4.0, 13.0, size=n) + 16
    ).clip(16, 101)
    old = (age - 50).clip(0) / 40
    # a hidden acuity: how ill the patient really is (heavy-tailed, worse in the old and
    # in those brought by ambulance)
    acuity = rng.gamma(0.9, 0.38, size=n) * (1 + 0.6 * old) * np.where(arrival == 1, 1.6, 1.0)
    is_ = [complaint == k for k in range(7)]
    sepsis = is_[4] | (is_[2] & (rng.random(n) < 0.3))
    bleed = is_[3] & (rng.random(n) < 0.3)
    hr = rng.normal(80, 12, size=n) + 22 * acuity * np.where(sepsis | bleed, 1.6, 1.0)
    hr = np.where(is_[6] & (rng.random(n) < 0.25), rng.normal(42, 6, size=n), hr)  # heart block
    rr = rng.normal(16, 2.5, size=n) + 5 * acuity * np.where(is_[1] | sepsis, 1.8, 0.8)
    spo2 = 98 - np.abs(rng.normal(0, 1.2, size=n)) - 4 * acuity * np.where(is_[1], 2.0, 0.5)
    spo2 = np.where(rng.random(n) < 0.04, spo2 - rng.gamma(2.0, 2.0, size=n), spo2)  # COPD
    oxygen = ((spo2 < 91) & (arrival == 1) & (rng.random(n) < 0.7)).astype(int)
    spo2 = spo2 + oxygen * rng.uniform(2, 6, size=n)
    sbp = (
        rng.normal(128, 16, size=n)
        + 10 * old
        - 22 * acuity * np.where(sepsis | bleed | is_[6], 1.5, 0.3)
    )
    sbp = np.where(is_[5], sbp + rng.gamma(2.0, 12.0, size=n), sbp)  # hypertensive headaches
    dbp = 0.55 * sbp + rng.normal(8, 7, size=n)
    temp = rng.normal(36.8, 0.35, size=n) + np.where(sepsis, rng.normal(1.4, 0.8, size=n), 0)
    temp = np.where(rng.random(n) < 0.03, temp - rng.gamma(2.0, 0.8, size=n), temp)  # cold
    gcs = 15 - np.floor(rng.gamma(0.8, 1.0, size=n) * acuity * np.where(is_[6] | is_[5], 2.2, 0.6))
    gcs = gcs.clip(3, 15)
    pain_base = np.array([4.0, 1.0, 4.5, 4.0, 1.0, 3.5, 0.5])[complaint]
    pain = np.round(pain_base + rng.normal(0, 2.0, size=n) + 0.8 * acuity).clip(0, 10)
    cap = 1.4 + 0.9 * acuity * np.where(sepsis | bleed, 1.5, 0.5) + rng.gamma(2.0, 0.2, size=n)
    glucose = rng.lognormal(1.72, 0.18, size=n)
    diabetic = rng.random(n) < 0.14
    glucose = np.where(diabetic, rng.lognormal(2.2, 0.45, size=n), glucose)
    glucose = np.where(diabetic & (rng.random(n) < 0.15), rng.uniform(1.6, 3.5, size=n), glucose)
    lactate = rng.lognormal(0.1, 0.35, size=n) + 1.2 * acuity * np.where(sepsis | bleed, 1.0, 0.3)
    troponin = rng.lognormal(1.8, 0.9, size=n) * (1 + 2 * old)
    mi = is_[0] & (rng.random(n) < 0.3)
    troponin = np.where(mi, troponin + rng.lognormal(4.6, 1.1, size=n), troponin)
    hours = rng.lognormal(1.6, 1.4, size=n)
    weight = rng.normal(78, 15, size=n).clip(38, 190) + rng.gamma(1.0, 4.0, size=n)
    visits = rng.negative_binomial(1, 0.45, size=n) + (rng.random(n) < 0.03) * rng.integers(
        5, 40, size=n
    )
    meds = rng.poisson(0.5 + 6 * old)
    waiting = rng.poisson(25, size=n)
    hour = rng.integers(0, 24, size=n)
    nurse = rng.integers(1, 31, size=n)
    minutes = rng.gamma(4.0, 1.5, size=n)

    hr, rr, spo2 = np.round(hr).clip(25, 200), np.round(rr).clip(5, 50), np.round(spo2)
    spo2 = spo2.clip(60, 100)
    sbp, dbp, temp = np.round(sbp).clip(50, 260), np.round(dbp).clip(25, 150), np.round(temp, 1)
    cap, glucose, lactate = np.round(cap, 1), np.round(glucose, 1), np.round(lactate, 1)
    troponin = np.round(troponin)
    score, red = news2(rr, spo2, oxygen, sbp, hr, gcs, temp)
    category = np.full(n, 4)
    category[(score >= 2) | (pain >= 4)] = 3
    category[(score >= 3) | (pain >= 6) | (lactate > 2.0)] = 2
    category[(score >= 5) | red | (is_[0] & (troponin > 52)) | (pain >= 9) | (glucose < 3.0)] = 1
    category[(score >= 9) | (gcs <= 8) | (spo2 < 85) | (sbp < 80)] = 0
    flip = rng.random(n) < 0.04
    category[flip] = (category[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "arrival": [ARRIVALS[i] for i in arrival],
        "complaint": [COMPLAINTS[i] for i in complaint],
        "age_y": age,
        "weight_kg": weight,
        "heart_rate_bpm": hr,
        "resp_rate_pm": rr,
        "spo2_pct": spo2,
        "on_oxygen": oxygen,
        "systolic_bp_mmhg": sbp,
        "diastolic_bp_mmhg": dbp,
        "temp_c": temp,
        "gcs": gcs,
        "pain_score": pain,
        "cap_refill_s": cap,
        "glucose_mmol_l": glucose,
        "lactate_mmol_l": lactate,
        "troponin_ng_l": troponin,
        "hours_since_onset": hours,
        "attendances_12m": visits,
        "regular_medications": meds,
        "waiting_room_count": waiting,
        "arrival_hour": hour,
        "nurse_years": nurse,
        "triage_minutes": minutes,
        "category": [CATEGORIES[i] for i in category],
    }
    # a few readings were never taken: point-of-care lactate and capillary refill (blank)
    missing = {
        "lactate_mmol_l": rng.random(n) < 0.015,
        "cap_refill_s": rng.random(n) < 0.008,
    }
    header = [name for name, _ in COLUMNS]
    columns = []
    for name, digits in COLUMNS:
        if digits is None:
            columns.append(values[name])
            continue
        blank = missing.get(name, np.zeros(n, dtype=bool))
        columns.append(
            ["" if gap else f"{v:.{digits}f}" for v, gap in zip(values[name], blank, strict=True)]
        )
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- dice34.npz ---------------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5
# pip positions on a face, in units of the half-side (x right, y down)
_PIPS = {
    1: [(0, 0)],
    2: [(-1, -1), (1, 1)],
    3: [(-1, -1), (0, 0), (1, 1)],
    4: [(-1, -1), (1, -1), (-1, 1), (1, 1)],
    5: [(-1, -1), (1, -1), (0, 0), (-1, 1), (1, 1)],
    6: [(-1, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (1, 1)],
}


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def rounded_square(u: np.ndarray, v: np.ndarray, half: float, corner: float) -> np.ndarray:
    """Signed distance to a square of half-side `half` with corners rounded by `corner`."""
    qx, qy = np.abs(u) - (half - corner), np.abs(v) - (half - corner)
    outside = np.hypot(qx.clip(0), qy.clip(0))
    return outside + np.minimum(np.maximum(qx, qy), 0) - corner


def die(rng: np.random.Generator, face: int) -> np.ndarray:
    """One die on the packing line's tray seen from above, `face` (1..6) up."""
    half = rng.uniform(7.5, 10.5)
    cy, cx = SIZE / 2 + rng.uniform(-4.5, 4.5, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    tilt, squash = rng.uniform(0, np.pi), rng.uniform(0.82, 1.0)  # seen slightly obliquely
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    a = dx * np.cos(tilt) + dy * np.sin(tilt)
    b = -dx * np.sin(tilt) + dy * np.cos(tilt)
    a = a / squash
    x = a * np.cos(tilt) - b * np.sin(tilt)
    y = a * np.sin(tilt) + b * np.cos(tilt)
    u = x * np.cos(turn) + y * np.sin(turn)  # the face's own coordinates
    v = -x * np.sin(turn) + y * np.cos(turn)
    # the tray: a textured rubber mat, a lighting gradient, crumbs of packing foam
    image = rng.uniform(0.2, 0.5) + np.zeros((SIZE, SIZE))
    for _ in range(3):
        k = rng.uniform(0.2, 0.9, size=2)
        image = image + rng.uniform(0.01, 0.05) * np.sin(
            k[0] * _GRID[0] + k[1] * _GRID[1] + rng.uniform(0, 2 * np.pi)
        )
    if rng.random() < 0.4:  # the edge of a neighbouring die poking into the frame
        side = int(rng.integers(4))
        along = rng.uniform(4, SIZE - 4)
        depth = rng.uniform(1.5, 6.0)
        ny, nx = [
            (along, -9 + depth),
            (along, SIZE + 9 - depth),
            (-9 + depth, along),
            (SIZE + 9 - depth, along),
        ][side]
        other = inside(rounded_square(_GRID[1] - nx, _GRID[0] - ny, 9.0, 2.0))
        image = image * (1 - other) + other * rng.uniform(0.55, 0.95)
    # the die's shadow, then the die: a rounded square of ivory, white or pale plastic,
    # darker toward its bevelled edge
    body = rounded_square(u, v, half, rng.uniform(1.5, 3.5))
    sy, sx = rng.uniform(0.8, 2.0, size=2)
    shadow = inside(rounded_square(u - sx, v - sy, half, 3.0) - 0.5, 2.5)
    image = image * (1 - 0.45 * shadow)
    level = rng.uniform(0.55, 0.95)
    bevel = np.clip(1 + body / 2.5, 0, 1)  # 0 deep inside, 1 at the edge
    mask = inside(body)
    image = image * (1 - mask) + mask * level * (1 - 0.25 * bevel)
    # the pips: drilled and painted, their spacing and size by the mould
    spread = half * rng.uniform(0.48, 0.58)
    radius = half * rng.uniform(0.15, 0.22)
    ink = rng.uniform(0.05, 0.3)
    pips = np.zeros_like(u)
    for px, py in _PIPS[face]:
        jx, jy = rng.normal(0, 0.25, size=2)
        distance = np.hypot(u - px * spread - jx, v - py * spread - jy)
        pips = np.maximum(pips, inside(distance - radius))
    pips = pips * mask
    image = image * (1 - pips) + pips * ink
    # glare on the top face, foam crumbs, light falling off, sensor noise
    if rng.random() < 0.5:
        gx, gy = rng.uniform(-0.6, 0.6, size=2) * half
        glare = np.exp(-((u - gx) ** 2 + (v - gy) ** 2) / (2 * rng.uniform(2.0, 9.0)))
        image = image + mask * glare * rng.uniform(0.1, 0.35)
    for _ in range(int(rng.integers(0, 5))):
        py, px = rng.uniform(0, SIZE, size=2)
        crumb = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * rng.uniform(0.3, 1.2)))
        image = image + crumb * rng.uniform(-0.3, 0.4)
    light = rng.uniform(0, 2 * np.pi)
    image = image * (
        1 + 0.3 * ((_GRID[1] - 17) * np.cos(light) + (_GRID[0] - 17) * np.sin(light)) / 17
    )
    image = image + rng.normal(0, rng.uniform(0.03, 0.08), size=image.shape)
    return np.clip(image, 0, 1)


def dice(n: int = 2400, seed: int = 45002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(FACES))
    X = np.stack([die(rng, int(face) + 1) for face in y])[:, None]
    # 8-bit camera levels, as floats in [0, 1]
    X = (np.round(X * 255) / 255).astype(np.float32)
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
    write_csv(HERE / "ed_triage.csv", *ed_triage())
    X, y = dice()
    write_npz(HERE / "dice34.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
