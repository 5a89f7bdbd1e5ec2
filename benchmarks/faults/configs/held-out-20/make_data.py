"""The user data of fault-benchmark round held-out-20: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only).

brew_batches.csv: end-of-fermentation records of a craft brewery
-----------------------------------------------------------------
2,400 rows, 19 columns. Each row is one fermentation batch, measured when it leaves the
fermenter; the text column `target` is the quality lab's verdict on the batch:

    normal               40%   fermented and conditioned as planned
    stuck_fermentation   15%   the yeast gave up early: too much sugar left
    bacterial_infection  15%   lactic bacteria soured and over-attenuated the beer
    oxidation            15%   oxygen picked up in transfer: stale, papery aldehydes
    diacetyl_taint       15%   pulled off the yeast too early: buttery diacetyl

Columns (units): beer_style (text: lager, pale_ale, ipa, stout, wheat), yeast_strain
(text: Y-lager-34, Y-ale-05, Y-ale-17, Y-wheat-68), batch_volume_l (~300 to ~3e4),
original_gravity_plato (9-21), final_gravity_plato, apparent_attenuation (0.4-0.95),
ferment_temp_c (8-24), pitch_rate_mcells_ml, days_in_fermenter (4-40), ph (3.3-4.8),
lactic_acid_mgl (~10 to ~3e3), turbidity_ebc (0.2 to ~80), dissolved_o2_ppb (~5 to
~1e3), nonenal_ppt (trans-2-nonenal, ~20 to ~600), diacetyl_ppb (~10 to ~800),
atp_swab_rlu (hygiene swab, ~30 to ~7e4), co2_volumes (2.0-3.2), color_ebc (4-120),
and the target. Values span 0.4 to 3e4 across columns, their scales differing by up to
1e4; no value is missing.

What separates the classes: combinations, not one column: the final gravity against the
original gravity (attenuation) together with the pitch rate and the temperature (stuck);
the pH with lactic acid, turbidity and the ATP swab, and an attenuation that is too high
(infection); dissolved oxygen with nonenal, which also rises with age (oxidation); diacetyl
against the days in the fermenter and the temperature (diacetyl). Lagers ferment cold and
long, wheat beers are hazy and tart by design, stouts dark; the fault signatures are weak
in a good share of faulty batches, so the classes overlap. 4% of the labels are wrong. A
logistic regression on the standardised columns reaches about 0.75 test accuracy in
scikit-learn, trainwell's healthy ReLU MLP (128, 64) 0.73-0.75; the majority class alone:
0.38.

road_markings28.npz: top-down camera crops of road-surface markings
-------------------------------------------------------------------
Arrays `X` (2,400 x 3 x 28 x 28, uint8, channels first, RGB) and `y` (int64 class ids
0-6); stored compressed:

    0 straight_arrow   15%   a lane arrow pointing ahead
    1 left_arrow       14%   a turn arrow bending to the left
    2 right_arrow      14%   a turn arrow bending to the right
    3 zebra            15%   the stripes of a pedestrian crossing
    4 diamond          14%   a diamond (crossing ahead / reserved lane)
    5 give_way         14%   a row of triangular "shark teeth"
    6 chevron          14%   hatched chevrons of a painted island

Every crop has a random offset, scale and small rotation of the marking (parts may leave
the frame), white or yellow paint faded in patches, an asphalt background of random
brightness and grain, tyre tracks, cracks, a shadow edge, lighting, blur and sensor noise.
Heavily worn markings lose most of their paint. 3% of the labels are wrong. A small
three-block CNN (16, 32, 64 channels, batch norm) reaches about 0.85-0.88 test accuracy,
an MLP on the flattened pixels 0.67-0.69 (the largest class alone: 0.16). The class names
are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

BREW_CLASSES = [
    "normal",
    "stuck_fermentation",
    "bacterial_infection",
    "oxidation",
    "diacetyl_taint",
]
BREW_SHARES = [0.40, 0.15, 0.15, 0.15, 0.15]
STYLES = ["lager", "pale_ale", "ipa", "stout", "wheat"]
STYLE_P = [0.30, 0.20, 0.22, 0.13, 0.15]
STYLE_GRAVITY = np.array([11.5, 12.5, 15.0, 14.0, 12.5])  # original gravity, degrees Plato
STYLE_TEMP = np.array([10.0, 18.5, 19.0, 18.0, 20.5])  # fermentation temperature, C
STYLE_DAYS = np.array([21.0, 10.0, 12.0, 11.0, 8.0])
STYLE_COLOR = np.array([8.0, 16.0, 18.0, 90.0, 9.0])
STYLE_HAZE = np.array([1.0, 2.5, 4.0, 3.0, 25.0])
STYLE_PH = np.array([4.35, 4.3, 4.3, 4.25, 4.05])  # wheat beers: tart by design
STRAINS = ["Y-lager-34", "Y-ale-05", "Y-ale-17", "Y-wheat-68"]


def brew_batches(rows: int = 2400, seed: int = 200_001) -> list[str]:
    """The CSV's lines, header first."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = rows
    y = rng.choice(len(BREW_CLASSES), size=n, p=BREW_SHARES)
    style = rng.choice(len(STYLES), size=n, p=STYLE_P)
    # the strain follows the style, mostly
    strain = np.where(style == 0, 0, np.where(style == 4, 3, 1 + rng.integers(0, 2, size=n)))
    swap = rng.random(n) < 0.08
    strain[swap] = rng.integers(0, 4, size=swap.sum())
    # how clearly this batch shows its fault: weak in a good share of faulty batches
    strength = np.where(y == 0, 0.0, rng.beta(2.0, 1.5, size=n))
    s = [strength * (y == k) for k in range(5)]

    volume = np.exp(rng.normal(np.log(3000), 0.9, size=n)).clip(300, 30000)
    og = np.clip(STYLE_GRAVITY[style] + rng.normal(0, 1.4, size=n), 9, 21)
    temp = STYLE_TEMP[style] + rng.normal(0, 1.2, size=n)
    temp -= 2.5 * s[1] * rng.random(n)  # a stuck batch: often a cold one
    temp += 2.0 * s[4] * rng.random(n)  # diacetyl: often a warm, fast one
    temp = np.clip(temp, 8, 24)
    pitch = np.exp(rng.normal(np.log(12), 0.35, size=n) - 0.9 * s[1] * rng.random(n))
    days = STYLE_DAYS[style] * np.exp(rng.normal(0, 0.25, size=n))
    days *= 1 - 0.45 * s[4]  # pulled off the yeast early
    days = np.clip(days, 4, 40)
    attenuation = rng.normal(0.78, 0.035, size=n) + 0.01 * (style == 4) - 0.01 * (style == 3)
    attenuation += 0.015 * np.log(pitch / 12) + 0.004 * (temp - STYLE_TEMP[style])
    attenuation -= 0.24 * s[1]  # stuck: sugar left behind
    attenuation += 0.10 * s[2]  # infection: bacteria eat what yeast cannot
    attenuation = np.clip(attenuation, 0.4, 0.95)
    fg = og * (1 - attenuation)
    ph = STYLE_PH[style] + rng.normal(0, 0.09, size=n) - 0.55 * s[2] + 0.12 * s[1]
    ph = np.clip(ph, 3.3, 4.8)
    lactic = np.exp(rng.normal(np.log(60), 0.6, size=n) + 1.0 * (style == 4) + 2.2 * s[2]).clip(
        10, 3000
    )
    haze = STYLE_HAZE[style] * np.exp(rng.normal(0, 0.5, size=n) + 1.0 * s[2] + 0.4 * s[1])
    haze = haze.clip(0.2, 80)
    atp = np.exp(rng.normal(np.log(400), 1.0, size=n) + 2.3 * s[2]).clip(30, 1e5)
    do2 = np.exp(rng.normal(np.log(40), 0.7, size=n) + 2.0 * s[3]).clip(5, 1000)
    age = days + rng.gamma(2.0, 4.0, size=n)  # days since brewing
    nonenal = np.exp(
        rng.normal(np.log(60), 0.35, size=n) + 0.012 * age + 0.25 * np.log(do2 / 40) + 0.8 * s[3]
    ).clip(20, 600)
    diacetyl = np.exp(
        rng.normal(np.log(45), 0.45, size=n)
        - 0.025 * (days - STYLE_DAYS[style])
        + 0.5 * s[1]
        + 1.6 * s[4]
    ).clip(10, 800)
    co2 = np.clip(rng.normal(2.6, 0.15, size=n) - 0.25 * s[1] + 0.2 * s[2], 2.0, 3.2)
    color = np.clip(STYLE_COLOR[style] * np.exp(rng.normal(0, 0.2, size=n) + 0.15 * s[3]), 4, 120)

    label = y.copy()
    flip = rng.random(n) < 0.04
    label[flip] = (y[flip] + rng.integers(1, len(BREW_CLASSES), size=flip.sum())) % 5

    header = (
        "beer_style,yeast_strain,batch_volume_l,original_gravity_plato,final_gravity_plato,"
        "apparent_attenuation,ferment_temp_c,pitch_rate_mcells_ml,days_in_fermenter,ph,"
        "lactic_acid_mgl,turbidity_ebc,dissolved_o2_ppb,nonenal_ppt,diacetyl_ppb,"
        "atp_swab_rlu,co2_volumes,color_ebc,target"
    )
    lines = [header]
    for i in range(n):
        lines.append(
            f"{STYLES[style[i]]},{STRAINS[strain[i]]},{volume[i]:.0f},{og[i]:.2f},{fg[i]:.2f},"
            f"{attenuation[i]:.3f},{temp[i]:.1f},{pitch[i]:.1f},{days[i]:.1f},{ph[i]:.2f},"
            f"{lactic[i]:.0f},{haze[i]:.2f},{do2[i]:.0f},{nonenal[i]:.0f},{diacetyl[i]:.0f},"
            f"{atp[i]:.0f},{co2[i]:.2f},{color[i]:.1f},{BREW_CLASSES[label[i]]}"
        )
    return lines


# ----------------------------------------------------------------------------- the images

MARKING_CLASSES = [
    "straight_arrow",
    "left_arrow",
    "right_arrow",
    "zebra",
    "diamond",
    "give_way",
    "chevron",
]
MARKING_SHARES = [0.15, 0.14, 0.14, 0.15, 0.14, 0.14, 0.14]
SIDE = 28
YY, XX = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
WHITE = np.array([0.92, 0.92, 0.88])
YELLOW = np.array([0.95, 0.78, 0.22])


def _ink(distance: np.ndarray) -> np.ndarray:
    """Paint where a signed distance is below 0, antialiased over one pixel."""
    return np.clip(0.5 - distance, 0, 1)


def _segment(u, v, a, b, half_width):
    """Ink of a stroke from point a to point b (marking coordinates)."""
    d = np.subtract(b, a, dtype=np.float64)
    t = np.clip(((u - a[0]) * d[0] + (v - a[1]) * d[1]) / (d @ d + 1e-9), 0, 1)
    return _ink(np.hypot(u - a[0] - t * d[0], v - a[1] - t * d[1]) - half_width)


def _triangle(u, v, tip, direction, length, half_base):
    """A filled triangle with its tip at `tip`, pointing along `direction`."""
    dx, dy = np.asarray(direction, dtype=np.float64) / np.hypot(*direction)
    along = (u - tip[0]) * dx + (v - tip[1]) * dy  # 0 at the tip, -length at the base
    across = -(u - tip[0]) * dy + (v - tip[1]) * dx
    inside = np.maximum(-along - length, np.abs(across) - half_base * (-along) / length)
    return _ink(inside)


def _arrow(u, v, turn: int, rng) -> np.ndarray:
    """turn 0: straight; -1: left; +1: right (v grows ahead, u to the right)."""
    w = rng.uniform(0.9, 1.4)
    head = rng.uniform(4.5, 6.0)
    if turn == 0:
        shaft = _segment(u, v, (0, -10), (0, 3), w)
        return np.maximum(shaft, _triangle(u, v, (0, 3 + head), (0, 1), head, head * 0.7))
    u = u * -turn  # a right arrow is a mirrored left one
    shaft = _segment(u, v, (2.5, -10), (2.5, 0.5), w)
    bend = _segment(u, v, (2.5, 0.5), (-1.5, 4.0), w)
    tip = (-1.5 - head * 0.85, 4.0 + head * 0.45)
    return np.maximum.reduce([shaft, bend, _triangle(u, v, tip, (-0.85, 0.45), head, head * 0.65)])


def _zebra(u, v, rng) -> np.ndarray:
    period = rng.uniform(5.0, 7.0)
    phase = rng.uniform(0, period)
    stripe = np.abs(((u + phase) % period) - period / 2) - period * rng.uniform(0.2, 0.28)
    band = rng.uniform(7, 11)
    return _ink(np.maximum(stripe, np.abs(v) - band))


def _diamond(u, v, rng) -> np.ndarray:
    a = rng.uniform(4.0, 6.0)
    b = a * rng.uniform(1.6, 2.1)
    w = rng.uniform(0.8, 1.3)
    return _ink(np.abs((np.abs(u) / a + np.abs(v) / b - 1) * a) - w)


def _give_way(u, v, rng) -> np.ndarray:
    width = rng.uniform(4.5, 6.5)
    height = width * rng.uniform(1.1, 1.5)
    offset = rng.uniform(0, width)
    ink = np.zeros_like(u)
    for k in range(-4, 5):
        centre = k * width * 1.35 + offset
        ink = np.maximum(ink, _triangle(u, v, (centre, -height / 2), (0, -1), height, width / 2))
    return ink


def _chevron(u, v, rng) -> np.ndarray:
    period = rng.uniform(5.0, 7.0)
    slope = rng.uniform(0.7, 1.3)
    phase = rng.uniform(0, period)
    stripe = np.abs(((v - slope * np.abs(u) + phase) % period) - period / 2) - period * 0.22
    outline = _ink(np.abs(np.abs(u) - rng.uniform(7, 10)) - 0.8)
    return np.maximum(_ink(np.maximum(stripe, np.abs(u) - 9)), outline * (rng.random() < 0.5))


def _smooth_field(rng, scale: float) -> np.ndarray:
    """A smooth random field in 0..1 (low-pass filtered noise)."""
    f = np.fft.fftfreq(SIDE)
    kernel = np.exp(-2 * (np.pi * scale) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(SIDE, SIDE))) * kernel))
    field -= field.min()
    return field / (field.max() + 1e-9)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    f = np.fft.fftfreq(SIDE)
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    return np.real(np.fft.ifft2(np.fft.fft2(image, axes=(-2, -1)) * kernel, axes=(-2, -1)))


def marking_crop(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 3x28x28 colour crop, values in [0, 1]."""
    cx, cy = SIDE / 2 + rng.normal(0, 2.2, size=2)
    angle = rng.normal(0, 0.16)
    scale = rng.uniform(0.8, 1.2)
    # marking coordinates: u to the right, v ahead (up the image)
    u = ((XX - cx) * np.cos(angle) + (YY - cy) * np.sin(angle)) / scale
    v = (-(XX - cx) * np.sin(angle) + (YY - cy) * np.cos(angle)) / -scale
    if label <= 2:
        paint = _arrow(u, v, (0, -1, 1)[label], rng)
    else:
        paint = (_zebra, _diamond, _give_way, _chevron)[label - 3](u, v, rng)
    # wear: the paint fades in patches, badly so on some crops
    wear = rng.uniform(0.0, 0.75)
    paint = paint * np.clip(1 - wear * 1.6 * _smooth_field(rng, rng.uniform(1.5, 3.0)), 0, 1)
    paint *= rng.uniform(0.45, 1.0)  # contrast: glare, wet road, dirt
    colour = YELLOW if rng.random() < 0.3 else WHITE
    colour = np.clip(colour + rng.normal(0, 0.04, size=3), 0, 1)

    tone = rng.uniform(0.18, 0.45)
    asphalt = tone * np.array([1.0, 1.0, 1.02]) + rng.normal(0, 0.015, size=3)
    image = np.broadcast_to(asphalt[:, None, None], (3, SIDE, SIDE)).copy()
    image += (rng.normal(0, 0.05, size=(SIDE, SIDE)) * tone * 2)[None]  # grain
    for _ in range(rng.integers(0, 3)):  # tyre tracks: darker bands along the lane
        x0, width = rng.uniform(0, SIDE), rng.uniform(2, 5)
        image *= 1 - 0.25 * np.exp(-((XX - x0 - 0.1 * YY) ** 2) / width**2)[None]
    for _ in range(rng.integers(0, 3)):  # cracks: thin dark wandering lines
        a, b = rng.uniform(0, SIDE, size=(2, 2))
        image *= 1 - 0.6 * _segment(XX, YY, a, b, 0.3)[None]
    image = image * (1 - paint[None]) + colour[:, None, None] * paint[None]
    if rng.random() < 0.4:  # a shadow edge (a car, a tree)
        nx, ny = rng.normal(size=2)
        side = (XX - SIDE / 2) * nx + (YY - SIDE / 2) * ny - rng.normal(0, 6)
        image *= 1 - rng.uniform(0.3, 0.6) * (side > 0)[None]
    image *= rng.uniform(0.7, 1.3) * (0.85 + 0.3 * _smooth_field(rng, 4.0))[None]
    image = _blur(image, rng.uniform(0.3, 0.9))
    image += rng.normal(0, rng.uniform(0.02, 0.06), size=image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def road_markings(count: int = 2400, seed: int = 200_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(MARKING_CLASSES), size=count, p=MARKING_SHARES)
    X = np.stack([marking_crop(rng, int(k)) for k in y])
    flip = rng.random(count) < 0.03
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, len(MARKING_CLASSES), size=flip.sum())) % len(
        MARKING_CLASSES
    )
    return X, y.astype(np.int64)


def main() -> None:
    (HERE / "brew_batches.csv").write_text("\n".join(brew_batches()) + "\n")
    X, y = road_markings()
    np.savez_compressed(HERE / "road_markings28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
