"""The user data of fault-benchmark round held-out-29: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; the .npz is zipped with a fixed time stamp,
not the clock's).

ringing_log.csv: a bird-ringing station's catch log of small warblers, one row per bird
---------------------------------------------------------------------------
3,000 rows, 16 columns. Each row is one bird taken from a mist net at a lakeside ringing
station between early April and late October, aged, measured and weighed by the ringer
before release: the date and hour of the net round, the net's habitat and the bird's age
(text), the weather, the standard biometrics (maximum wing chord, tail, tarsus, bill to
skull), the wing formula (how far the tip of the 2nd primary falls short of the wing tip,
the length of the notch on its inner web, how many primaries are emarginated), fat and
flight-muscle scores and the mass. The text column `species` holds the ringer's
identification:

    reed_warbler     31%   the commonest bird in the reeds, all summer long; long bill, long
                           notch, the 2nd primary falling well short of the tip
    marsh_warbler    13%   its near twin: the same size and colour, but a slightly longer,
                           more pointed wing, shorter bill and notch, in scrub and tall
                           herbs more than reeds; leaves early (July-August)
    sedge_warbler    21%   as large, but a short tail and bill and a very pointed wing;
                           reedbed edges, a July-August fattening peak before its long jump
    willow_warbler   17%   a leaf warbler: light (8-9 g), a slender bill and fine tarsus,
                           three emarginated primaries; scrub and woodland, a spring
                           passage in April and an autumn one in August
    chiffchaff       18%   the smallest, with a short round wing (the 2nd primary far
                           short of the tip) and four emarginated primaries; an early spring
                           and a late autumn (September-October) passage

Columns (units): day_of_year (95-300), hour (5-13), net_site (text: reedbed, reed_edge,
scrub, woodland), age (text: juvenile, adult), air_temp_c (~1 to 36), wind_kmh (0-~55),
wing_mm (~49-75), tail_mm (~38-61), tarsus_mm (~16-26), bill_mm (~10-19, to the skull),
p2_short_mm (0-~18: the 2nd primary's tip below the wing tip), notch_mm (~5-15),
emarginated (1-5, a count), fat_score (0-8), muscle_score (0-3), mass_g (~6-18), and the
species. Values span 1e-1 to 3e2 across columns; no value is missing.

What separates the species: proportions and the wing formula more than size. Males are
about 5% larger than females (the sex is not recorded) and juveniles have a shorter wing and
tail, so wing length alone overlaps widely; mass rises by ~4.5% per fat class, so mass
overlaps too, save for the lean leaf warblers. The ringer's measurements scatter (a
millimetre of wing, the wing formula more), one in ten emargination counts is off by one,
and the season and the net site only shift the odds. Reed and marsh warblers overlap most.
3% of the identifications are wrong, nearly always confused with the look-alike (reed with
marsh or sedge, willow warbler with chiffchaff). In scikit-learn, on the standardised
columns (text one-hot), a logistic regression reaches about 0.87 test accuracy, gradient
boosting about 0.84; the commonest species alone: 0.31 (the shares above count the wrong
identifications as given).

radar_echoes32.npz: weather-radar reflectivity patches, sorted by echo type
---------------------------------------------------------------------------
Arrays `X` (2,400 x 1 x 32 x 32, uint8, channels first: a 32 x 32 km patch of a weather
radar's lowest-elevation reflectivity composite at 1 km resolution, grey level =
(dBZ + 10) x 255 / 80, so 0 is -10 dBZ and 255 is 70 dBZ) and `y` (int64 class ids 0-5),
stored compressed. A forecaster labelled what the patch shows:

    0 stratiform      19%   widespread, smooth, moderate rain (20-35 dBZ) over most of the
                            patch, sometimes the arc of the melting layer's bright band
    1 cells           19%   scattered small convective cells: two to six intense cores
                            (40-58 dBZ) a few km across, each in a weaker halo
    2 squall_line     17%   a line of intense cores across the patch, broken in places,
                            with a trailing band of stratiform rain on one side
    3 supercell       16%   one large intense cell with an anvil streaming downwind and a
                            hook of echo curling round a weak-echo notch on its rear flank
    4 clutter         14%   ground clutter: echo from a hill ridge, granular and spiky (pixels
                            of 30-60 dBZ beside empty ones), no smooth rain around it
    5 clear_air       15%   weak echo (0-15 dBZ) from insects and refractive turbulence,
                            often with the thin line of a gust front or sea-breeze front

Each patch has its own position, orientation and intensity; a third carry stray clutter
pixels, a fifth a beam-blockage wedge (a sector where echo is 8-15 dBZ weaker), and all a
receiver noise floor and speckle. Some cases sit between classes: a cell group of one or two
cores looks like a supercell whose hook is faint, a broken line like a row of cells,
stratiform rain with embedded cores like cells, a strong insect layer like light
stratiform rain. 3% of the labels are wrong. A logistic regression on the pixels reaches
about 0.66 test accuracy, a small CNN about 0.95; the largest class alone: 0.19. The
class names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

SPECIES = ["reed_warbler", "marsh_warbler", "sedge_warbler", "willow_warbler", "chiffchaff"]
SHARES = [0.31, 0.11, 0.22, 0.18, 0.18]
SITES = ["reedbed", "reed_edge", "scrub", "woodland"]
SITE_SHARES = [
    (0.60, 0.28, 0.10, 0.02),
    (0.18, 0.32, 0.42, 0.08),
    (0.38, 0.42, 0.18, 0.02),
    (0.06, 0.22, 0.42, 0.30),
    (0.06, 0.18, 0.36, 0.40),
]
# adult means and standard deviations: wing, tail, tarsus, bill, p2_short, notch, lean mass
BIOMETRICS = [
    ((66.0, 1.7), (51.5, 1.9), (22.6, 0.8), (16.4, 0.7), (4.6, 1.3), (11.4, 1.0), (10.4, 0.6)),
    ((67.2, 1.7), (51.2, 1.9), (22.2, 0.8), (15.8, 0.7), (3.3, 1.3), (10.4, 1.0), (10.8, 0.7)),
    ((66.4, 1.8), (47.8, 2.0), (21.2, 0.8), (14.6, 0.7), (1.6, 1.1), (9.2, 1.0), (10.6, 0.8)),
    ((66.2, 2.0), (50.2, 2.1), (19.8, 0.7), (12.9, 0.6), (7.4, 1.5), (9.6, 1.0), (8.4, 0.6)),
    ((59.6, 2.0), (46.2, 2.0), (19.5, 0.7), (12.6, 0.6), (10.8, 1.7), (8.8, 1.0), (7.5, 0.5)),
]
EMARGINATED = [1, 1, 1, 3, 4]  # primaries with an emarginated outer web (p3 on)
# passage: (share, peak day, spread) of each wave of birds through the station
PASSAGE = [
    ((0.25, 150.0, 20.0), (0.75, 222.0, 28.0)),
    ((0.35, 160.0, 14.0), (0.65, 200.0, 16.0)),
    ((0.25, 130.0, 14.0), (0.75, 214.0, 20.0)),
    ((0.40, 118.0, 12.0), (0.60, 228.0, 16.0)),
    ((0.35, 104.0, 10.0), (0.65, 272.0, 16.0)),
]
LOOKALIKES = {0: (1, 1, 2), 1: (0,), 2: (0,), 3: (4,), 4: (3,)}
COLUMNS = [
    "day_of_year",
    "hour",
    "net_site",
    "age",
    "air_temp_c",
    "wind_kmh",
    "wing_mm",
    "tail_mm",
    "tarsus_mm",
    "bill_mm",
    "p2_short_mm",
    "notch_mm",
    "emarginated",
    "fat_score",
    "muscle_score",
    "mass_g",
    "species",
]


def _bird(rng: np.random.Generator, label: int) -> list[str]:
    waves = PASSAGE[label]
    wave = waves[int(rng.choice(len(waves), p=[w[0] for w in waves]))]
    day = float(np.clip(rng.normal(wave[1], wave[2]), 95.0, 300.0))
    juvenile = day > 178.0 and rng.random() < min(0.85, (day - 178.0) / 40.0)
    male = rng.random() < 0.5
    size = (1.025 if male else 0.975) * rng.normal(1.0, 0.012)  # a bird's frame, all over
    means = BIOMETRICS[label]
    wing, tail, tarsus, bill, p2, notch, lean = (rng.normal(m, s) for m, s in means)
    wing, tail, tarsus, lean = wing * size, tail * size, tarsus * size, lean * size
    if label in (3, 4):  # the leaf warblers' sexes differ more
        wing *= 1.02 if male else 0.98
    if juvenile:
        wing -= rng.uniform(0.5, 2.5)
        tail -= rng.uniform(0.0, 2.0)
        p2 += rng.normal(0.5, 0.5)  # a rounder juvenile wing
    # the season's fattening: long-haul migrants fatten hard before leaving
    autumn = day > 200.0
    fat_mean = 1.0 + (2.5 if autumn and label in (2, 0) else 1.2 if autumn else 0.4)
    fat = int(np.clip(round(rng.gamma(1.6, fat_mean / 1.6)), 0, 8))
    muscle = int(np.clip(round(rng.normal(2.0 if fat < 4 else 2.4, 0.6)), 0, 3))
    mass = lean * (1.0 + 0.045 * fat) * (1.0 + 0.03 * (muscle - 2)) + rng.normal(0.0, 0.25)
    emarg = EMARGINATED[label]
    if rng.random() < 0.1:  # a worn or moulting feather miscounted
        emarg += int(rng.choice([-1, 1]))
    emarg = max(emarg, 1)
    site = SITES[int(rng.choice(4, p=SITE_SHARES[label]))]
    temp = 6.0 + 16.0 * np.sin(np.pi * (day - 80.0) / 230.0) + rng.normal(0.0, 3.5)
    hour = float(np.clip(rng.gamma(2.0, 1.4) + 5.0, 5.0, 13.0))
    wind = float(rng.gamma(2.0, 5.0))
    # the ringer's measuring error
    wing += rng.normal(0.0, 1.0)
    tail += rng.normal(0.0, 1.0)
    tarsus += rng.normal(0.0, 0.5)
    bill += rng.normal(0.0, 0.5)
    p2 = max(p2 + rng.normal(0.0, 1.2), 0.0)
    notch += rng.normal(0.0, 0.9)
    return [
        f"{day:.0f}",
        f"{hour:.1f}",
        site,
        "juvenile" if juvenile else "adult",
        f"{temp:.1f}",
        f"{wind:.0f}",
        f"{wing:.1f}",
        f"{tail:.1f}",
        f"{tarsus:.1f}",
        f"{bill:.1f}",
        f"{p2:.1f}",
        f"{notch:.1f}",
        f"{emarg}",
        f"{fat}",
        f"{muscle}",
        f"{mass:.1f}",
        SPECIES[label],
    ]


def ringing_log(rows: int = 3000, seed: int = 30_901) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.choice(len(SPECIES), size=rows, p=SHARES)
    wrong = rng.random(rows) < 0.03
    lines = [",".join(COLUMNS)]
    for label, flip in zip(labels, wrong, strict=True):
        fields = _bird(rng, int(label))
        if flip:  # misidentified as its look-alike
            others = LOOKALIKES[int(label)]
            fields[-1] = SPECIES[others[int(rng.integers(len(others)))]]
        lines.append(",".join(fields))
    return lines


# ---------------------------------------------------------------------------- the images

SIZE = 32
CLASS_SHARES = [0.20, 0.20, 0.17, 0.15, 0.14, 0.14]
_R = np.arange(SIZE, dtype=float)
YY, XX = np.meshgrid(_R, _R, indexing="ij")


def _smooth_noise(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Gaussian-filtered white noise (std 1) with features of about `scale` pixels."""
    f = np.fft.fftfreq(SIZE)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    kernel = np.exp(-2.0 * (np.pi * scale) ** 2 * (fx**2 + fy**2))
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(SIZE, SIZE))) * kernel))
    return field / (field.std() + 1e-9)


def _frame(rng: np.random.Generator, cx: float, cy: float, angle: float):
    """Coordinates along (u) and across (v) a direction, about a point."""
    c, s = np.cos(angle), np.sin(angle)
    return (XX - cx) * c + (YY - cy) * s, -(XX - cx) * s + (YY - cy) * c


def _blob(u: np.ndarray, v: np.ndarray, su: float, sv: float) -> np.ndarray:
    return np.exp(-0.5 * ((u / su) ** 2 + (v / sv) ** 2))


def _to_z(dbz: np.ndarray) -> np.ndarray:
    return 10.0 ** (dbz / 10.0)


FLOOR = -12.0  # dBZ: no echo


def _add(z: np.ndarray, dbz, shape) -> None:
    """Add an echo whose reflectivity, in dBZ, rises from the floor to `dbz` as `shape`
    goes from 0 to 1 (the eye, and the forecaster, read a radar image in dBZ)."""
    z += _to_z(FLOOR + (dbz - FLOOR) * shape) - _to_z(FLOOR)


def _cell(rng, z, cx, cy, peak, radius):
    """A convective core in its weaker halo, added in linear reflectivity."""
    u, v = _frame(rng, cx, cy, rng.uniform(0.0, np.pi))
    stretch = rng.uniform(1.0, 1.6)
    core = _blob(u, v, radius * stretch, radius)
    halo = _blob(u, v, 1.8 * radius * stretch, 1.8 * radius)
    _add(z, peak - 25.0, halo)
    _add(z, peak, core)


def _radar_patch(rng: np.random.Generator, kind: int) -> np.ndarray:
    z = np.zeros((SIZE, SIZE))
    cx, cy = rng.uniform(9.0, 23.0, size=2)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    if kind == 0:  # stratiform: widespread smooth moderate rain
        cover = _smooth_noise(rng, rng.uniform(3.0, 6.0)) + rng.uniform(0.3, 1.6)
        level = rng.uniform(20.0, 32.0) + 4.0 * _smooth_noise(rng, 2.5)
        _add(z, level, (1.0 / (1.0 + np.exp(-3.0 * cover))))
        if rng.random() < 0.45:  # the bright band: an arc of the melting layer
            ox, oy = rng.uniform(-30.0, 60.0, size=2)  # the radar, off the patch
            r = np.hypot(XX - ox, YY - oy)
            reach = np.hypot(cx - ox, cy - oy) + rng.uniform(-6.0, 6.0)
            ring = np.exp(-0.5 * ((r - reach) / rng.uniform(1.0, 2.0)) ** 2)
            _add(z, level + rng.uniform(6.0, 11.0), ring * (cover > -0.5))
        if rng.random() < 0.25:  # an embedded core or two
            for _ in range(int(rng.integers(1, 3))):
                _cell(rng, z, *rng.uniform(4.0, 28.0, size=2), rng.uniform(38.0, 46.0), 1.3)
    elif kind == 1:  # scattered cells
        for _ in range(int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.07, 0.2, 0.25, 0.22, 0.16, 0.1]))):
            x, y = rng.uniform(3.0, 29.0, size=2)
            _cell(rng, z, x, y, rng.uniform(40.0, 58.0), rng.uniform(1.2, 2.8))
        _add(z, rng.uniform(0.0, 12.0), (_smooth_noise(rng, 4.0) > 0.5))
    elif kind == 2:  # squall line: cores along a line, trailing stratiform on one side
        u, v = _frame(rng, cx, cy, angle)
        v = v - rng.uniform(-0.015, 0.015) * u**2
        width = rng.uniform(0.9, 1.6)
        along = _smooth_noise(rng, 2.0)
        broken = along < rng.uniform(-1.2, 0.0)  # where the line is broken: weaker
        peak = rng.uniform(42.0, 55.0) + 4.0 * along - 14.0 * broken
        _add(z, peak, np.exp(-0.5 * (v / width) ** 2))
        trail = rng.uniform(4.0, 10.0)
        behind = 1.0 / (1.0 + np.exp(-(v - width) / 0.8)) * np.exp(-np.clip(v, 0.0, None) / trail)
        _add(z, rng.uniform(24.0, 34.0) + 3.0 * _smooth_noise(rng, 2.0), behind)
    elif kind == 3:  # supercell: a big core, an anvil downwind, a hook on the rear flank
        u, v = _frame(rng, cx, cy, angle)
        radius = rng.uniform(2.0, 3.2)
        peak = rng.uniform(50.0, 62.0)
        _add(z, peak, _blob(u, v, radius * 1.2, radius) ** 1.5)
        _add(z, peak - 25.0, _blob(u, v, 1.8 * radius, 1.6 * radius))
        anvil = (
            1.0 / (1.0 + np.exp(-u)) * _blob(u, v, rng.uniform(7.0, 12.0), rng.uniform(2.0, 3.5))
        )
        _add(z, rng.uniform(22.0, 32.0), anvil)
        hook_r = rng.uniform(1.8, 3.0)
        side = rng.choice([-1.0, 1.0])
        hx, hy = -radius * 1.3, side * radius * 0.8
        hr = np.hypot(u - hx, v - hy)
        theta = np.arctan2(side * (v - hy), -(u - hx))  # 0 pointing back, away from the core
        arc = np.exp(-0.5 * ((hr - hook_r) / 0.8) ** 2) * (theta > -0.6) * (theta < np.pi)
        _add(z, rng.uniform(24.0, 48.0), arc)  # the hook: faint in some storms
        z *= 1.0 - 0.95 * np.exp(-0.5 * (hr / (0.55 * hook_r)) ** 2)  # the weak-echo notch
    elif kind == 4:  # ground clutter: spiky echo along a hill ridge
        u, v = _frame(rng, cx, cy, angle)
        ridge = np.exp(-0.5 * ((v - 2.0 * np.sin(u / rng.uniform(3.0, 7.0))) / 3.0) ** 2)
        ridge *= np.abs(u) < rng.uniform(8.0, 18.0)
        spikes = rng.random((SIZE, SIZE)) < 0.25 + 0.5 * ridge
        _add(z, rng.uniform(30.0, 60.0, size=(SIZE, SIZE)), spikes * ridge)
        if rng.random() < 0.4:  # a second, smaller hill
            x, y = rng.uniform(3.0, 29.0, size=2)
            hill = np.exp(-0.5 * ((XX - x) ** 2 + (YY - y) ** 2) / rng.uniform(2.0, 9.0))
            _add(z, rng.uniform(30.0, 55.0, size=(SIZE, SIZE)), (rng.random((SIZE, SIZE)) < hill))
    else:  # clear air: weak insect echo, often a fine line
        _add(z, rng.uniform(2.0, 13.0) + 3.0 * _smooth_noise(rng, 3.0), 1.0)
        if rng.random() < 0.65:
            u, v = _frame(rng, cx, cy, angle)
            v = v - rng.uniform(-0.04, 0.04) * u**2
            _add(z, rng.uniform(14.0, 24.0), np.exp(-0.5 * (v / rng.uniform(0.6, 1.1)) ** 2))

    if rng.random() < 0.3:  # stray clutter pixels, in any class
        _add(z, rng.uniform(25.0, 50.0, size=(SIZE, SIZE)), (rng.random((SIZE, SIZE)) < 0.01))
    dbz = 10.0 * np.log10(z + _to_z(FLOOR))
    if rng.random() < 0.2:  # beam blockage: a wedge of weaker echo from one side
        theta = np.arctan2(YY - rng.uniform(-40.0, 70.0), XX - rng.uniform(-40.0, 70.0))
        start = rng.uniform(-np.pi, np.pi)
        wedge = np.cos(theta - start) > np.cos(rng.uniform(0.05, 0.2))
        dbz -= rng.uniform(8.0, 15.0) * wedge
    dbz += rng.normal(0.0, 1.5, size=dbz.shape)  # speckle
    dbz = np.maximum(dbz, rng.normal(-6.0, 2.0, size=dbz.shape))  # the receiver's noise floor
    grey = (dbz + 10.0) * 255.0 / 80.0
    return np.clip(np.round(grey), 0, 255).astype(np.uint8)[None]


def radar_echoes(count: int = 2400, seed: int = 30_902) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(6, size=count, p=CLASS_SHARES).astype(np.int64)
    X = np.stack([_radar_patch(rng, int(k)) for k in y])
    wrong = rng.random(count) < 0.03
    y[wrong] = (y[wrong] + rng.integers(1, 6, size=int(wrong.sum()))) % 6
    return X, y


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed, but with a fixed time stamp in the zip: the same bytes each run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array))
    path.write_bytes(buffer.getvalue())


def main() -> None:
    (HERE / "ringing_log.csv").write_text("\n".join(ringing_log()) + "\n")
    X, y = radar_echoes()
    _save_npz(HERE / "radar_echoes32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
