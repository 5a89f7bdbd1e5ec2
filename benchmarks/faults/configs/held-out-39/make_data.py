"""The user data of fault-benchmark round held-out-39: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

paper_reels.csv: a paper machine's finished reels and the mill's release verdict
--------------------------------------------------------------------------------
3,000 rows, 25 columns. Each row is one jumbo reel off a paper machine, as the mill's
quality system logs it: the machine settings while it was made, the reel lab's tests on
a sample cut from its tail, and the verdict the release rules gave it. Two text columns:
`grade` (copy: 80 g/m2 office paper; newsprint: 45 g/m2; liner: 140 g/m2 linerboard for
corrugated boxes) and `furnish` (virgin, mixed, recycled: the fibre the stock was made
from). 22 numeric columns in their own units and scales: basis weight (g/m2), caliper
(um), moisture (% of the sheet's weight), machine speed (m/min), headbox consistency (%
fibre in the stock on the wire, ~0.8), refining energy (kWh per tonne of fibre), press
load (kN/m of nip), dryer steam pressure (kPa), starch dose (kg/t), retention aid (g/t),
ash (% filler), hydrogen peroxide bleach (kg/t; none for unbleached liner), MD and CD
tensile strength (kN/m), burst (kPa), tear (mN), brightness (% ISO), opacity (%),
Gurley porosity (s per 100 ml), the formation index (flocculation; higher is cloudier),
the reel width (mm), the machine hall's relative humidity (%) and the web breaks logged
while the reel was wound. Reel width, hall humidity and (mostly) tear and opacity do not
bear on the verdict. `verdict`, the release rules in this order:

    off_moisture  15%   the moisture is more than 0.9 points from its grade's aim (4.5%
                        copy, 8.5% newsprint, 7.5% liner): a dryer steam pressure set
                        wrong for the grade's water load at that speed and basis weight
    weak          14%   the tensile index (MD tensile x 1000 / basis weight, N m/g) is
                        below its grade's spec (48 copy, 36 newsprint, 53 liner): a
                        refiner run short of energy with the starch cut back; recycled
                        fibre is weaker to begin with, so the same settings pass on
                        virgin furnish and fail on recycled
    dull          11%   the brightness is below its grade's spec (79% ISO copy, 53%
                        newsprint; liner has none): the bleach plant short of peroxide;
                        recycled fibre starts duller and ash brightens a little
    blotchy       12%   the formation index, corrected for basis weight (index / (basis
                        weight / 45)^0.35: heavier sheets read cloudier), is above 52: a
                        thick headbox with too much retention aid flocculates the fibres
    prime         49%   none of the above

No verdict is one column: each compares a measurement with a spec that depends on the
grade (and, for the tensile index and the formation, on the basis weight), and the
causes (steam against speed x basis weight, refining and starch against the furnish,
peroxide against grade and furnish) show in several columns together. 3.5% of the labels
are wrong (a random other verdict). In scikit-learn (5-fold, standardised columns, text
one-hot) a logistic regression reaches about 0.76 accuracy, a random forest (300 trees)
about 0.92; the commonest verdict alone 0.485. trainwell's healthy recipe
(healthy-paper_reels.yaml) reaches 0.91 test accuracy (seed 39010).

tablets36.npz: a tablet press's vision check, one tablet per frame
------------------------------------------------------------------
2,400 grayscale images (uint8, 1 x 36 x 36, `X`) from the camera over a tablet press's
take-off chute: one round, scored (a groove across the face at any angle), white tablet on
a dark belt, lit from one side at a random angle, exposure varying +-12%, its position
jittered by ~1.4 px. Labels `y` (int64), the inspector's call, in 6 kinds:

    0 intact     29%   a whole disc of 10-12.6 px radius with its score line
    1 chipped    15%   a bite of 4-6.5 px radius missing from the rim, a shadow on its edge
    2 capped     14%   a dark, ragged crack across the face off the score line (the top
                       of the tablet splitting off: lamination or capping)
    3 speck      14%   one or two small, very dark foreign particles on the face
    4 picking    14%   a rough patch of torn-out granules where the punch face pulled
                       material away (grainy darker pits within a ~3-4 px blob)
    5 undersize  15%   an intact-looking tablet of only 7.6-9.2 px radius (a low fill)

No kind is one pixel's value: a chip and an undersize are shapes of the outline, a crack
and a score line differ by being ragged and off-centre, a speck and a picking patch by
size and texture, all against the belt's grain, the lighting gradient and the coating's
mottle. 3% of the labels are wrong (a random other kind). In scikit-learn (5-fold, pixels
scaled) a logistic regression reaches about 0.47 accuracy, a random forest (300 trees)
about 0.64; the commonest kind alone 0.286. trainwell's healthy recipe
(healthy-tablets36-cnn.yaml) reaches 0.91 test accuracy (seed 39011).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

GRADES = ("copy", "newsprint", "liner")
FURNISHES = ("virgin", "mixed", "recycled")
VERDICTS = ("prime", "off_moisture", "weak", "dull", "blotchy")
# per grade: basis weight (g/m2), moisture aim (%), tensile index spec (N m/g), brightness spec
GRADE_SPEC = {
    "copy": (80.0, 4.5, 48.0, 79.0),
    "newsprint": (45.0, 8.5, 36.0, 53.0),
    "liner": (140.0, 7.5, 53.0, 0.0),
}
KINDS = ("intact", "chipped", "capped", "speck", "picking", "undersize")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def paper_reels(n: int = 3000, seed: int = 39001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    grade = rng.choice(3, size=n, p=[0.45, 0.3, 0.25])
    furnish = rng.choice(3, size=n, p=[0.35, 0.35, 0.3])
    gsm_aim = np.array([GRADE_SPEC[g][0] for g in GRADES])[grade]
    moist_aim = np.array([GRADE_SPEC[g][1] for g in GRADES])[grade]
    tens_spec = np.array([GRADE_SPEC[g][2] for g in GRADES])[grade]
    bright_spec = np.array([GRADE_SPEC[g][3] for g in GRADES])[grade]
    ash_aim = np.array([18.0, 6.0, 4.0])[grade] + 2.0 * furnish
    starch_aim = np.where(grade == 0, 14.0, 8.0)
    # process upsets, independent of one another: a mis-set dryer, a refiner run short with
    # starch cut back, a bleach plant short of peroxide, a flocculated headbox
    dryer_upset = rng.random(n) < 0.15
    refiner_upset = rng.random(n) < 0.16
    bleach_upset = (rng.random(n) < 0.18) & (grade < 2)
    headbox_upset = rng.random(n) < 0.15

    speed = np.clip(rng.normal(1100 - 2.5 * (gsm_aim - 45), 110), 450, 1700)  # m/min
    basis_weight = gsm_aim * rng.normal(1.0, 0.025, n)  # g/m2
    consistency = np.clip(rng.normal(0.8, 0.08, n) + 0.3 * headbox_upset, 0.5, 1.6)  # %
    retention = np.clip(rng.normal(300, 60, n) + 180 * headbox_upset, 80, 800)  # g/t
    refining = np.clip(rng.normal(130, 25, n) - 80 * refiner_upset, 25, 240)  # kWh/t
    starch = np.clip(rng.normal(starch_aim, 2.5) - 5 * refiner_upset, 0, 35)  # kg/t
    press = np.clip(rng.normal(95, 12, n), 55, 135)  # kN/m
    # the dryer's steam is set for the grade's water load at speed; an upset is off by far
    need = 180 + 0.0035 * speed * gsm_aim - 12 * (moist_aim - 4.5)
    error = rng.normal(0, 22, n) + dryer_upset * rng.choice([-1, 1], n) * rng.uniform(110, 200, n)
    steam = np.clip(need + error, 100, 800)  # kPa
    peroxide = np.clip(
        rng.normal(np.array([22.0, 16.0, 0.0])[grade] + 4 * furnish, 2.5)
        * np.where(bleach_upset, rng.uniform(0.1, 0.45, n), 1.0),
        0,
        50,
    )  # kg/t
    ash = np.clip(rng.normal(ash_aim, 2.0), 0.5, 30)  # %
    ambient_rh = np.clip(rng.normal(55, 12, n), 20, 90)  # %
    reel_width = rng.choice([5080, 6350, 7620, 8380], size=n).astype(float)  # mm

    moisture = np.clip(
        moist_aim
        - 0.01 * error
        - 0.004 * (press - 95)
        + 0.008 * (ambient_rh - 55)
        + rng.normal(0, 0.2, n),
        1.0,
        14.0,
    )
    # tensile index (N m/g): the fibres (furnish), refining and starch, less the filler
    t_index = (
        np.array([62.0, 48.0, 68.0])[grade] * np.array([1.0, 0.96, 0.92])[furnish]
        + 0.2 * (refining - 130)
        + 0.6 * (starch - starch_aim)
        - 0.6 * (ash - ash_aim)
        + rng.normal(0, 2.5, n)
    )
    tensile_md = t_index * basis_weight / 1000  # kN/m
    tensile_cd = tensile_md / rng.normal(2.2, 0.18, n)
    burst = 2.0 * t_index * basis_weight / 60 * rng.normal(1.0, 0.06, n)  # kPa
    tear = basis_weight * (9.5 - 0.02 * refining) * rng.normal(1.0, 0.08, n)  # mN
    bulk = 1.45 - 0.0012 * (refining - 120) - 0.0015 * (press - 95) + rng.normal(0, 0.04, n)
    caliper = basis_weight * bulk  # um
    porosity = np.exp(2.3 + 0.011 * refining + 0.02 * ash + rng.normal(0, 0.25, n))  # Gurley s
    # brightness (% ISO): the furnish's own, raised by peroxide and by white filler
    brightness = np.clip(
        np.array([70.0, 45.0, 32.0])[grade]
        - np.array([0.0, 5.0, 10.0])[furnish]
        + 0.85 * peroxide
        + 0.25 * (ash - ash_aim)
        + rng.normal(0, 1.5, n),
        15,
        98,
    )
    opacity = np.clip(78 + 0.12 * basis_weight + 0.45 * ash + rng.normal(0, 1.5, n), 70, 100)
    # flocs: a thick headbox, much retention aid and a fast wire make a cloudy sheet
    formation = np.exp(
        np.log(40)
        + 0.35 * np.log(basis_weight / 45)
        + 1.1 * (consistency - 0.8)
        + 0.0012 * (retention - 300)
        + 0.0003 * (speed - 1000)
        + rng.normal(0, 0.07, n)
    )
    breaks = rng.poisson(
        np.clip(0.3 + 1.2 * (t_index < tens_spec) + 0.0006 * (speed - 900), 0.05, 5)
    )

    # the mill's release rules, checked in this order
    off_moist = np.abs(moisture - moist_aim) > 0.9
    weak = tensile_md * 1000 / basis_weight < tens_spec
    dull = brightness < bright_spec
    blotchy = formation / (basis_weight / 45) ** 0.35 > 52
    label = np.zeros(n, dtype=int)
    label[blotchy] = 4
    label[dull] = 3
    label[weak] = 2
    label[off_moist] = 1
    flip = rng.random(n) < 0.035
    label[flip] = (label[flip] + rng.integers(1, 5, flip.sum())) % 5

    columns = {
        "basis_weight_gsm": (basis_weight, 1),
        "caliper_um": (caliper, 1),
        "moisture_pct": (moisture, 2),
        "machine_speed_m_min": (speed, 0),
        "headbox_consistency_pct": (consistency, 3),
        "refining_kwh_t": (refining, 1),
        "press_load_kn_m": (press, 1),
        "dryer_steam_kpa": (steam, 0),
        "starch_kg_t": (starch, 2),
        "retention_aid_g_t": (retention, 0),
        "ash_pct": (ash, 2),
        "peroxide_kg_t": (peroxide, 2),
        "tensile_md_kn_m": (tensile_md, 3),
        "tensile_cd_kn_m": (tensile_cd, 3),
        "burst_kpa": (burst, 1),
        "tear_mn": (tear, 0),
        "brightness_iso": (brightness, 1),
        "opacity_pct": (opacity, 1),
        "porosity_gurley_s": (porosity, 1),
        "formation_index": (formation, 1),
        "reel_width_mm": (reel_width, 0),
        "ambient_rh_pct": (ambient_rh, 1),
        "breaks_per_reel": (breaks, 0),
    }
    header = ["grade", "furnish", *columns, "verdict"]
    rows = []
    for i in range(n):
        row = [GRADES[grade[i]], FURNISHES[furnish[i]]]
        row += [f"{values[i]:.{places}f}" for values, places in columns.values()]
        row.append(VERDICTS[label[i]])
        rows.append(row)
    return header, rows


def tablet_image(rng: np.random.Generator, kind: int, size: int = 36) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    cy, cx = size / 2 - 0.5 + rng.normal(0, 1.4, 2)
    radius = rng.uniform(7.6, 9.2) if kind == 5 else rng.uniform(10.2, 12.6)
    # the belt: dark, grainy, lit from one side
    angle = rng.uniform(0, 2 * np.pi)
    light = 0.12 * ((xx - size / 2) * np.cos(angle) + (yy - size / 2) * np.sin(angle)) / size
    img = 0.16 + light + rng.normal(0, 0.03, (size, size))
    dist = np.hypot(yy - cy, xx - cx)
    face = np.clip(radius + 0.5 - dist, 0, 1)  # anti-aliased disc
    # a domed face: brighter toward the light, a shadowed rim
    shade = 0.78 + 0.9 * light + 0.06 * (1 - (dist / radius) ** 2) - rng.uniform(0, 0.12)
    tablet = shade.copy()
    # the score line: a straight groove through the centre at any angle
    theta = rng.uniform(0, np.pi)
    across = (xx - cx) * np.sin(theta) - (yy - cy) * np.cos(theta)
    tablet -= 0.18 * np.exp(-(across**2) / 0.5) * (dist < radius - 1.5)
    if kind == 1:  # chipped: a bite out of the rim
        phi = rng.uniform(0, 2 * np.pi)
        bite = rng.uniform(4.2, 6.5)
        by, bx = cy + (radius + 1) * np.sin(phi), cx + (radius + 1) * np.cos(phi)
        face = face * np.clip(np.hypot(yy - by, xx - bx) - bite + 0.5, 0, 1)
        tablet -= 0.2 * np.exp(-((np.hypot(yy - by, xx - bx) - bite - 0.6) ** 2))
    elif kind == 2:  # capped: a ragged crack across the face, off the score line
        phi = theta + rng.uniform(0.5, np.pi - 0.5)
        offset = rng.uniform(2.0, 5.5) * rng.choice([-1, 1])
        along = (xx - cx) * np.cos(phi) + (yy - cy) * np.sin(phi)
        wiggle = 0.9 * np.sin(along * rng.uniform(0.8, 1.6) + rng.uniform(0, 6))
        crack = (xx - cx) * np.sin(phi) - (yy - cy) * np.cos(phi) - offset - wiggle
        tablet -= 0.42 * np.exp(-(crack**2) / 0.45)
    elif kind == 3:  # speck: one or two dark foreign particles on the face
        for _ in range(rng.integers(1, 3)):
            r = rng.uniform(0, radius - 3)
            p = rng.uniform(0, 2 * np.pi)
            sy, sx = cy + r * np.sin(p), cx + r * np.cos(p)
            tablet -= rng.uniform(0.55, 0.7) * np.exp(
                -((yy - sy) ** 2 + (xx - sx) ** 2) / rng.uniform(0.6, 1.2)
            )
    elif kind == 4:  # picking: granules torn from the face by the punch, a rough patch
        r = rng.uniform(0, radius - 5)
        p = rng.uniform(0, 2 * np.pi)
        py, px = cy + r * np.sin(p), cx + r * np.cos(p)
        patch = np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / (2 * rng.uniform(3.0, 4.0) ** 2))
        tablet -= patch * (0.12 + rng.normal(0, 0.16, (size, size)).clip(-0.06, 0.4))
    tablet += rng.normal(0, 0.025, (size, size))  # the coating's mottle
    img = img * (1 - face) + tablet * face
    img = img * rng.uniform(0.85, 1.1) + rng.normal(0, 0.02, (size, size))  # exposure, noise
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def tablets(n: int = 2400, seed: int = 39002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    shares = np.array([0.3, 0.14, 0.14, 0.14, 0.14, 0.14])
    kinds = rng.choice(len(KINDS), size=n, p=shares)
    X = np.stack([tablet_image(rng, int(k)) for k in kinds])[:, None]
    y = kinds.astype(np.int64)
    flip = rng.random(n) < 0.03
    y[flip] = (y[flip] + rng.integers(1, len(KINDS), flip.sum())) % len(KINDS)
    return X, y


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
    write_csv(HERE / "paper_reels.csv", *paper_reels())
    X, y = tablets()
    write_npz(HERE / "tablets36.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
