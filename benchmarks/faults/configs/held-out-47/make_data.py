"""The user data of fault-benchmark round held-out-47: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

thyroid_panels.csv: a hospital laboratory's thyroid function panels, one request per row
----------------------------------------------------------------------------------------
3,400 rows, 20 columns. Each row is one blood sample sent to a hospital's clinical
chemistry laboratory for a thyroid panel, as the laboratory system stores it: the
requesting service (a text column: gp, endocrinology, antenatal, inpatient or oncology;
pregnant women come through antenatal, acutely ill patients mostly as inpatients, the
overactive glands more often through endocrinology) and 18 numeric columns in their own
units: age (years), sex (1 female: 73%), weeks of pregnancy (0 for 93%), TSH (mIU/L,
log-normal over four decades: 0.005 to ~180, heavy-tailed), free T4 (pmol/L), free T3
(pmol/L), total T4 (nmol/L: free T4 times the binding protein, which pregnancy raises by
half), TPO antibodies (IU/mL, log-normal, in the thousands in Hashimoto's), TSH-receptor
antibodies (IU/L, raised in Graves'), thyroglobulin (ng/mL, heavy-tailed), CRP (mg/L,
near 0 for most, in the hundreds in sepsis), the daily levothyroxine dose (ug, 0 for
89%), heart rate (bpm), weight change over six months (kg), total cholesterol (mmol/L),
the gland's volume on ultrasound (mL, a few large goitres) and two columns that do not
bear on the interpretation (the sample's age on arrival in hours, the analyser's
incubator temperature). Behind each request is a hidden condition: a healthy gland, a
failing one (Hashimoto's: TSH up steeply as free T4 falls, antibodies, cholesterol and
weight up, a slow pulse; a third of them already on levothyroxine that partly restores
the output), an overactive one (Graves' or a toxic nodule: free T4 and T3 up, TSH
suppressed, a fast pulse, weight loss, a larger gland) or an acute illness outside the
thyroid (CRP up, free T3 down, TSH a little low), each in its own degree. A few results
are missing and left blank: free T3 (61 rows), TRAb (105) and the gland volume (73).
`state`, the laboratory's interpretive comment, by its rules in this order (the last
that holds wins, so an earlier rule is overridden by a later one):

    nonthyroidal_illness   8%   CRP above 40 mg/L, free T3 below 3.3 and TSH below 4.5
    hyperthyroid          14%   TSH below 0.3 with free T4 above 22 or free T3 above 6.6
    subclinical_hypo       9%   TSH above 4.5 with free T4 of 11 or more
    overt_hypo            15%   TSH above 4.5 with free T4 below 11, or TSH above 20
    euthyroid             54%   otherwise

No rule is one column: each combines TSH with the free hormones (or CRP with free T3),
at thresholds far apart on TSH's heavy-tailed scale, and the rules override each other.
4% of the comments are wrong (a random other one). In scikit-learn (5-fold, standardised
columns, mean-imputed, text one-hot) a logistic regression reaches about 0.87 accuracy, a
random forest (300 trees) about 0.95; the commonest comment alone 0.54. The healthy MLP
of this round reaches about 0.87.

tht_parts32.npz: a kitting tray's inspection camera, one through-hole component per frame
------------------------------------------------------------------------------------------
3,000 grayscale images (uint8, 32 x 32, `X`) from the camera above the kitting trays of an
electronics assembly line, one loose through-hole component per frame: a tray of
anti-static foam (a mottled texture) or of grey plastic with a moulded grid, the part at a
random position (+-3.5 px), turned by any angle and scaled by 0.85-1.15, its tinned leads
bright and a little bent, its body in its own colours and markings (a resistor's lacquer
and four colour bands, a diode's black body and silver cathode ring, a dipped ceramic
disc, an electrolytic can's sleeve with its minus stripe and rim, a TO-92's black D, an
IC's black package with its notch), a soft shadow cast to a random side, clipped-off lead
ends lying about, dust specks, a lighting gradient and sensor noise. Labels `y` (int64),
6 classes, 500 each:

    0 resistor   1 diode   2 disc_capacitor   3 electrolytic   4 transistor   5 dip_ic

A resistor and a diode are both axial (a lead out of each end): the resistor's body is
longer, fatter at the ends and banded, the diode's short, thin and dark with one light
ring. The disc capacitor has two radial leads under a round body, the electrolytic two
short leads out of one end of a long can, the transistor three leads under a small D,
the IC rows of short legs down both long sides; the turn puts each at any angle and the
tray, the light and the colours vary far more than the outlines. On the raw pixels a
logistic regression reaches about 0.48 and a random forest about 0.60 (3-fold); the
healthy CNN of this round about 0.92.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SERVICES = ("gp", "endocrinology", "antenatal", "inpatient", "oncology")
STATES = ("overt_hypo", "subclinical_hypo", "hyperthyroid", "nonthyroidal_illness", "euthyroid")
COLUMNS = (
    ("requesting_service", None),
    ("age_y", 0),
    ("sex_female", 0),
    ("pregnancy_weeks", 0),
    ("tsh_miu_l", 3),
    ("ft4_pmol_l", 1),
    ("ft3_pmol_l", 2),
    ("tt4_nmol_l", 0),
    ("tpo_ab_iu_ml", 1),
    ("trab_iu_l", 2),
    ("thyroglobulin_ng_ml", 1),
    ("crp_mg_l", 1),
    ("levothyroxine_ug", 0),
    ("heart_rate_bpm", 0),
    ("weight_change_kg", 1),
    ("cholesterol_mmol_l", 2),
    ("gland_volume_ml", 1),
    ("sample_age_h", 1),
    ("analyser_temp_c", 2),
    ("state", None),
)
SIZE = 32
PARTS = ("resistor", "diode", "disc_capacitor", "electrolytic", "transistor", "dip_ic")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- thyroid_panels.csv -------------------------------------------------------------------


def thyroid_panels(n: int = 3400, seed: int = 47001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    female = rng.random(n) < 0.74
    age = np.where(
        rng.random(n) < 0.3, rng.uniform(18, 45, size=n), 18 + 75 * rng.beta(2.2, 2.0, size=n)
    )
    pregnant = female & (age < 44) & (rng.random(n) < 0.22)
    weeks = np.where(pregnant, rng.uniform(6, 38, size=n), 0.0).round()
    # the patient's hidden condition: euthyroid, failing gland (Hashimoto's), overactive
    # gland (Graves', toxic nodules) or an acute illness outside the thyroid
    u = rng.random(n)
    sick = (u < 0.16) | ((u < 0.22) & (age > 65))
    kind = np.where(sick, 3, np.where(u < 0.47, 1, np.where(u < 0.64, 2, 0)))
    fail = np.where(kind == 1, rng.beta(1.4, 1.5, size=n), 0.0)  # 0: none, 1: no output
    over = np.where(kind == 2, rng.beta(1.3, 1.6, size=n), 0.0)
    ill = np.where(kind == 3, rng.beta(2.0, 1.6, size=n), 0.0)
    # treated hypothyroid patients: replacement partly restores the gland's output
    treated = ((kind == 1) & (rng.random(n) < 0.3)) | ((kind == 0) & (rng.random(n) < 0.05))
    dose = np.where(treated, 25 * rng.integers(1, 7, size=n), 0)
    fail = np.where(kind == 1, fail * np.where(treated, rng.uniform(0.3, 0.9, size=n), 1.0), fail)
    ft4 = (
        16.0
        + rng.normal(0, 2.0, size=n)
        - 10.5 * fail
        + 32 * over**1.2
        - 3.0 * ill
        - 1.2 * (weeks > 20)
        + 0.02 * dose * (kind == 0)
    )
    ft3 = 4.8 + rng.normal(0, 0.45, size=n) - 2.2 * fail + 9.5 * over**1.1 - 2.6 * ill
    log_tsh = (
        np.log(1.5)
        + rng.normal(0, 0.42, size=n)
        + 4.6 * fail**0.9
        - 5.5 * over**0.6
        - 0.7 * ill
        - 0.012 * dose * (kind == 0)
    )
    tsh = np.exp(log_tsh).clip(0.005, 400)
    ft4 = ft4.clip(2.5, 80)
    ft3 = ft3.clip(0.8, 35)
    tbg = rng.lognormal(0, 0.15, size=n) * (1 + 0.5 * (weeks > 12)) * (1 - 0.2 * ill)
    tt4 = 5.8 * ft4 * tbg + rng.normal(0, 6, size=n)
    tpo = np.where(
        (kind == 1) | (rng.random(n) < 0.1),
        rng.lognormal(np.log(260), 1.0, size=n),
        rng.lognormal(np.log(11), 0.8, size=n),
    )
    graves = (kind == 2) & (rng.random(n) < 0.75)
    trab = np.where(
        graves, rng.lognormal(np.log(7), 0.8, size=n), rng.lognormal(np.log(0.6), 0.5, size=n)
    )
    tg = rng.lognormal(np.log(14), 0.9, size=n) * (1 + 3 * over)
    crp = np.where(
        kind == 3,
        rng.lognormal(np.log(40), 0.7, size=n) * (1 + 3 * ill),
        rng.lognormal(np.log(2.5), 1.1, size=n),
    )
    heart = 72 + 38 * over - 10 * fail + 18 * ill + 8 * (weeks > 0) + rng.normal(0, 9, size=n)
    weight = -7 * over + 4 * fail - 3 * ill + rng.normal(0, 2.4, size=n)
    chol = 4.8 + 0.012 * (age - 45) + 2.2 * fail - 1.0 * over + rng.normal(0, 0.75, size=n)
    volume = rng.lognormal(np.log(13), 0.35, size=n) * (1 + 1.8 * over * graves + 0.6 * fail)
    volume = np.where(rng.random(n) < 0.04, volume * rng.uniform(2, 6, size=n), volume)  # goitres
    sample_age = rng.gamma(1.5, 6.0, size=n)
    temp = rng.normal(37.0, 0.08, size=n)
    v = rng.random(n)
    service = np.where(
        weeks > 0,
        2,
        np.where(
            (kind == 3) & (v < 0.7),
            3,
            np.where(
                v < np.where(kind == 2, 0.35, 0.12),
                1,
                np.where(v > 0.93, 4, np.where(v > 0.86, 3, 0)),
            ),
        ),
    )
    # the laboratory's interpretive comment, first rule that holds
    state = np.full(n, 4)
    state[(crp > 40) & (ft3 < 3.3) & (tsh < 4.5)] = 3
    state[(tsh < 0.3) & ((ft4 > 22) | (ft3 > 6.6))] = 2
    state[(tsh > 4.5) & (ft4 >= 11)] = 1
    state[(tsh > 4.5) & (ft4 < 11)] = 0
    state[(tsh > 20)] = 0
    flip = rng.random(n) < 0.04
    state[flip] = (state[flip] + rng.integers(1, 5, size=int(flip.sum()))) % 5

    values = {
        "requesting_service": [SERVICES[i] for i in service],
        "age_y": age,
        "sex_female": female.astype(float),
        "pregnancy_weeks": weeks,
        "tsh_miu_l": tsh,
        "ft4_pmol_l": ft4,
        "ft3_pmol_l": ft3,
        "tt4_nmol_l": tt4,
        "tpo_ab_iu_ml": tpo,
        "trab_iu_l": trab,
        "thyroglobulin_ng_ml": tg,
        "crp_mg_l": crp,
        "levothyroxine_ug": dose.astype(float),
        "heart_rate_bpm": heart,
        "weight_change_kg": weight,
        "cholesterol_mmol_l": chol,
        "gland_volume_ml": volume,
        "sample_age_h": sample_age,
        "analyser_temp_c": temp,
        "state": [STATES[i] for i in state],
    }
    missing = {
        "ft3_pmol_l": rng.random(n) < 0.015,
        "trab_iu_l": rng.random(n) < 0.03,
        "gland_volume_ml": rng.random(n) < 0.02,
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


# --- tht_parts32.npz ----------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) + 0.5


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def capsule(u, v, u0: float, u1: float, r: float) -> np.ndarray:
    """Signed distance to a bar along the u axis from u0 to u1 of half-width r."""
    t = np.clip((u - u0) / (u1 - u0), 0, 1)
    return np.hypot(u - (u0 + t * (u1 - u0)), v) - r


def box(u, v, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    du = np.abs(u - (u0 + u1) / 2) - (u1 - u0) / 2
    dv = np.abs(v - (v0 + v1) / 2) - (v1 - v0) / 2
    return np.hypot(du.clip(0), dv.clip(0)) + np.minimum(np.maximum(du, dv), 0)


def lead(rng, u, v, u0, u1, v0, v1) -> np.ndarray:
    """A thin wire from (u0, v0) to (u1, v1), a little bent."""
    bend = rng.normal(0, 0.25)
    length = np.hypot(u1 - u0, v1 - v0)
    du, dv = (u1 - u0) / length, (v1 - v0) / length
    s = (u - u0) * du + (v - v0) * dv
    t = -(u - u0) * dv + (v - v0) * du
    t = t - bend * (s / length) ** 2 * length / 4
    return capsule(s, t, 0.0, length, 0.42)


def part_shape(rng: np.random.Generator, part: str, u, v) -> tuple[list, list]:
    """The part in its own coordinates (u along it): a list of (signed distance, level)
    layers drawn in order - its leads (tinned wire, bright), its body, its markings."""
    wire = []
    body = []
    if part in ("resistor", "diode"):
        half = rng.uniform(5.0, 6.0) if part == "resistor" else rng.uniform(3.6, 4.4)
        reach = rng.uniform(12, 16)
        wire.append(lead(rng, u, v, -reach, -half + 0.5, rng.normal(0, 0.3), 0.0))
        wire.append(lead(rng, u, v, half - 0.5, reach, 0.0, rng.normal(0, 0.3)))
        if part == "resistor":
            shell = np.minimum(
                capsule(u, v, -half + 1.2, half - 1.2, 1.9),
                capsule(u, v, -half * 0.4, half * 0.4, 1.55),
            )
            level = rng.uniform(0.45, 0.75)  # beige or blue lacquer
            body.append((shell, level))
            for k in range(4):
                pos = -half + 1.5 + k * (2 * half - 3.0) / 3.3 + (k == 3) * 0.8
                body.append((np.maximum(shell, np.abs(u - pos) - 0.45), rng.uniform(0.05, 0.9)))
        else:
            shell = capsule(u, v, -half + 1.0, half - 1.0, 1.25)
            body.append((shell, rng.uniform(0.05, 0.2)))  # black epoxy or glass
            end = rng.choice([-1, 1]) * (half - 1.6)
            body.append((np.maximum(shell, np.abs(u - end) - 0.5), rng.uniform(0.7, 0.9)))
    elif part == "disc_capacitor":
        r = rng.uniform(3.6, 4.6)
        gap = rng.uniform(1.8, 2.6)
        reach = rng.uniform(10, 15)
        for side in (-1, 1):
            wire.append(lead(rng, u, v, 0.0, -reach, side * gap, side * (gap + rng.normal(0, 0.4))))
        disc = np.hypot(u - 1.5, v) - r
        body.append((disc, rng.uniform(0.4, 0.7)))  # ochre or blue dipped ceramic
        body.append((np.maximum(disc + 0.6, -disc - 1.4), rng.uniform(0.3, 0.8)))
    elif part == "electrolytic":
        length = rng.uniform(9.0, 12.0)
        radius = rng.uniform(2.6, 3.3)
        gap = rng.uniform(1.1, 1.6)
        reach = rng.uniform(7, 11)
        for side in (-1, 1):
            wire.append(lead(rng, u, v, -1.0, -reach - side * 1.5, side * gap, side * gap))
        can = box(u, v, 0.0, length, -radius, radius) - 0.4
        body.append((can, rng.uniform(0.15, 0.35)))  # sleeve
        body.append(
            (np.maximum(can, np.abs(v - radius * 0.6) - 0.6), rng.uniform(0.65, 0.85))
        )  # minus stripe
        body.append(
            (np.maximum(can, np.abs(u - length + 0.3) - 0.35), rng.uniform(0.7, 0.95))
        )  # top rim
    elif part == "transistor":
        reach = rng.uniform(9, 13)
        pitch = rng.uniform(1.1, 1.5)
        for k in (-1, 0, 1):
            wire.append(lead(rng, u, v, 0.0, -reach, k * pitch, k * pitch * rng.uniform(0.9, 2.0)))
        radius = rng.uniform(2.6, 3.0)
        d_shape = np.maximum(np.hypot(u - 0.5, v) - radius, -(u - 0.5) - 0.3 * radius)
        d_shape = np.maximum(d_shape, u - 0.5 - radius * 1.6)
        body.append((d_shape, rng.uniform(0.05, 0.2)))
    else:  # dip_ic: a black package with a row of legs down each side and a notch
        pins = int(rng.integers(4, 8))
        length = 2.54 * pins / 1.55 + 1.2
        width = rng.uniform(2.6, 3.2)
        for side in (-1, 1):
            for k in range(pins):
                pos = -length / 2 + 0.9 + k * (length - 1.8) / max(pins - 1, 1)
                wire.append(
                    box(u, v, pos - 0.35, pos + 0.35, side * width, side * (width + 1.6))
                    if side > 0
                    else box(u, v, pos - 0.35, pos + 0.35, -width - 1.6, -width)
                )
        pkg = box(u, v, -length / 2, length / 2, -width, width)
        body.append((pkg, rng.uniform(0.05, 0.18)))
        body.append((np.hypot(u + length / 2, v) - 0.9, rng.uniform(0.3, 0.45)))
    return wire, body


def part_frame(rng: np.random.Generator, part: str) -> np.ndarray:
    """One component lying on the kitting tray under the inspection camera."""
    scale = rng.uniform(0.85, 1.15)
    cy, cx = SIZE / 2 + rng.uniform(-3.5, 3.5, size=2)
    turn = rng.uniform(0, 2 * np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = (dx * np.cos(turn) + dy * np.sin(turn)) / scale
    v = (-dx * np.sin(turn) + dy * np.cos(turn)) / scale
    # the tray: anti-static foam (a mottled texture) or a grey plastic tray with a grid
    image = rng.uniform(0.3, 0.6) + np.zeros((SIZE, SIZE))
    if rng.random() < 0.5:
        foam = rng.normal(0, 1, size=(SIZE // 4 + 2, SIZE // 4 + 2))
        foam = np.kron(foam, np.ones((4, 4)))[1 : SIZE + 1, 2 : SIZE + 2]
        image = image + rng.uniform(0.02, 0.06) * foam
    else:
        pitch = rng.uniform(6, 10)
        line = (np.abs(((_GRID[1] + rng.uniform(0, pitch)) % pitch) - pitch / 2) < 0.6) | (
            np.abs(((_GRID[0] + rng.uniform(0, pitch)) % pitch) - pitch / 2) < 0.6
        )
        image = image - rng.uniform(0.03, 0.1) * line
    # clippings: stray cut-off lead ends lying on the tray
    for _ in range(int(rng.integers(0, 4))):
        py, px = rng.uniform(0, SIZE, size=2)
        a = rng.uniform(0, np.pi)
        length = rng.uniform(2, 6)
        su = (_GRID[1] - px) * np.cos(a) + (_GRID[0] - py) * np.sin(a)
        sv = -(_GRID[1] - px) * np.sin(a) + (_GRID[0] - py) * np.cos(a)
        image = np.maximum(image, inside(capsule(su, sv, 0, length, 0.35)) * rng.uniform(0.6, 0.9))
    wire, body = part_shape(rng, part, u, v)
    outline = np.minimum.reduce([d for d in wire] + [d for d, _ in body])
    sy, sx = rng.integers(-2, 3, size=2)
    shade = inside(outline - 0.3, 2.0)
    shade = np.roll(shade, (int(sy), int(sx)), axis=(0, 1))
    image = image * (1 - 0.35 * shade)
    tin = rng.uniform(0.7, 0.95)
    for d in wire:
        m = inside(d)
        image = image * (1 - m) + m * tin
    for d, level in body:
        m = inside(d)
        image = image * (1 - m) + m * level
    # dust and specks, a lighting gradient, sensor noise
    for _ in range(int(rng.integers(0, 6))):
        py, px = rng.uniform(0, SIZE, size=2)
        size = rng.uniform(0.3, 1.5)
        blob = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * size))
        image = image + blob * rng.uniform(-0.3, 0.3)
    light = rng.uniform(0, 2 * np.pi)
    ramp = ((_GRID[1] - SIZE / 2) * np.cos(light) + (_GRID[0] - SIZE / 2) * np.sin(light)) / 16
    image = image * (1 + rng.uniform(0.1, 0.35) * ramp)
    image = image + rng.normal(0, rng.uniform(0.02, 0.05), size=image.shape)
    return np.clip(image, 0, 1)


def tht_parts(n: int = 3000, seed: int = 47002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(PARTS))
    X = np.stack([part_frame(rng, PARTS[int(k)]) for k in y])
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
    write_csv(HERE / "thyroid_panels.csv", *thyroid_panels())
    X, y = tht_parts()
    write_npz(HERE / "tht_parts32.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
