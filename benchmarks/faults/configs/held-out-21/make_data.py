"""The user data of fault-benchmark round held-out-21: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only).

transit_candidates.csv: a transit survey's planet-candidate vetting sheet
------------------------------------------------------------------------
2,400 rows, 23 columns. Each row is one periodic dip found in a star's light curve by a
space photometry survey; the text column `disposition` is the vetting team's verdict:

    planet                  36%   a planet crossing its star: a flat-bottomed, shallow dip
    eclipsing_binary        16%   a companion star: deep, V-shaped, odd and even eclipses
                                  of different depths, often a secondary eclipse
    background_blend        16%   a faint eclipsing binary near the target: the light's
                                  centroid moves in transit, a crowded aperture, a diluted dip
    stellar_variability     16%   spots or pulsation mistaken for a dip: a noisy, active
                                  star, a round dip of the wrong duration for the star
    instrumental_artefact   16%   a systematic: a period near the spacecraft's orbit or
                                  momentum dumps, flagged cadences, few events

Columns (units): mission (text: kepler, k2, tess), pipeline (text: kepler_dv, everest,
k2sff, spoc, qlp), period_days (0.3 to ~400), duration_hours (0.5 to ~20), depth_ppm
(~10 to ~2e5), impact_parameter (0-1.3), snr (~5 to ~1e4), n_transits (1 to ~4,400),
odd_even_sigma, secondary_depth_ppm (may be below 0: measured with noise), v_shape (0-1:
the share of the dip spent in ingress and egress), centroid_offset_arcsec (0 to ~40),
crowding (the share of the aperture's light from the target, 0.2-1), teff_k (3,000-7,500),
stellar_radius_rsun (~0.4 to 10), logg (cgs, 2.8-5.1), stellar_density_gcc (~1e-3 to
~10), magnitude (7-16.5), cdpp_ppm (the hour's noise, 10 to ~1e3), variability_ppm (~10
to ~5e4), bad_cadence_fraction (0-0.6), planet_radius_earth (as the pipeline infers it,
~0.3 to ~100), and the disposition. Values span 1e-3 to 2e5 across columns; no value is
missing.

What separates the classes: combinations, not one column: the depth with the stellar
radius (the inferred radius) together with v_shape, odd_even_sigma and the secondary depth
(binary); the centroid offset measured against the mission's pixel size, with the crowding
(blend); the variability against the noise and the duration against what the star's
density allows at that period (variability); the period against the spacecraft's
systematic periods with the flagged cadences and the number of events (artefact). Giant
stars make real planets look large, TESS's large pixels make every centroid noisy, and the
signatures are weak in a good share of the false positives, so the classes overlap. 4% of
the verdicts are wrong. A logistic regression on the standardised columns reaches about
0.82 test accuracy in scikit-learn, trainwell's healthy ReLU MLP (128, 64) 0.81-0.84; the
majority class alone: 0.36.

leaf_scans28.npz: a herbarium's flatbed scans of single leaves
--------------------------------------------------------------
Arrays `X` (2,400 x 1 x 28 x 28, uint8, channels first, grey levels: 0 dark .. 255 the
scanner's white) and `y` (int64 class ids 0-5); stored compressed:

    0 ovate         17%   egg-shaped, widest below the middle, a smooth margin
    1 lanceolate    17%   long and narrow, tapering to a point
    2 palmate       17%   five pointed lobes spread from the stalk, like a maple's
    3 serrate       16%   elliptic, its margin cut into forward-pointing teeth
    4 cordate       16%   heart-shaped: two rounded lobes either side of the stalk's notch
    5 trifoliate    17%   three leaflets on one stalk, like a clover's

Every scan has a random leaf size, a random tilt from upright (sd ~25 degrees), an off-centre
position, a mirror image half the time, a leaf tone and a midrib with side veins, paper of
uneven brightness, insect holes (the paper shows through), a shadow under a curled edge on
some, lighting, blur and sensor noise. Small serrate leaves lose their teeth to the blur
and look ovate; tilted lanceolate leaves resemble narrow ovate ones. 3% of the labels are
wrong. A small two-block CNN (16, 32 channels, batch norm) reaches about 0.84-0.85 test
accuracy, an MLP on the flattened pixels 0.72-0.77 (the largest class alone: 0.17). The class
names are in this docstring only: `y` holds ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- the table

CLASSES = [
    "planet",
    "eclipsing_binary",
    "background_blend",
    "stellar_variability",
    "instrumental_artefact",
]
SHARES = [0.36, 0.16, 0.16, 0.16, 0.16]
MISSIONS = ["kepler", "k2", "tess"]
MISSION_P = [0.45, 0.15, 0.40]
PIXEL_ARCSEC = np.array([4.0, 4.0, 21.0])
NOISE_FACTOR = np.array([1.0, 2.0, 3.0])  # the same star is noisier in K2 and TESS
SYSTEMATIC_PERIODS = {  # days: the spacecraft's own rhythms
    0: [0.0204 * 49, 3.05, 6.1],  # kepler: 49 long cadences (~a day), reaction-wheel heating
    1: [0.245, 0.49, 1.96],  # k2: thruster firings every ~6 h
    2: [13.7, 6.85, 27.4, 3.125],  # tess: the orbit, half of it, the sector, momentum dumps
}


def transit_candidates(rows: int = 2400, seed: int = 210_001) -> list[str]:
    """The CSV's lines, header first."""
    rng = np.random.Generator(np.random.PCG64(seed))
    n = rows
    y = rng.choice(len(CLASSES), size=n, p=SHARES)
    # how clearly a false positive shows what it is: weak in a good share of them
    strength = np.where(y == 0, 0.0, rng.beta(2.0, 1.4, size=n))
    s = [strength * (y == k) for k in range(5)]

    mission = rng.choice(3, size=n, p=MISSION_P)
    pipeline = np.where(
        mission == 0,
        0,
        np.where(mission == 1, 1 + rng.integers(0, 2, size=n), 3 + (rng.random(n) < 0.4)),
    )
    sectors = 1 + rng.geometric(0.45, size=n)
    baseline = np.where(mission == 0, 1400.0, np.where(mission == 1, 80.0, 27.0 * sectors))

    # the star
    teff = np.clip(rng.normal(5600, 850, size=n), 3000, 7500)
    mass = np.clip((teff / 5772) ** 1.9 * np.exp(rng.normal(0, 0.08, size=n)), 0.12, 2.2)
    radius = (teff / 5772) ** 1.4 * np.exp(rng.normal(0, 0.15, size=n))
    evolved = rng.random(n) < 0.15  # subgiants and giants: much larger at the same mass
    radius = np.where(evolved, radius * np.exp(rng.uniform(0.5, 2.2, size=n)), radius)
    radius = np.clip(radius, 0.15, 10.0)
    logg = np.clip(
        4.438 + np.log10(mass) - 2 * np.log10(radius) + rng.normal(0, 0.08, size=n), 2.8, 5.2
    )
    density = 1.41 * mass / radius**3  # g/cm3
    magnitude = np.where(
        mission == 2, rng.uniform(7.0, 13.5, size=n), rng.uniform(10.0, 16.5, size=n)
    )
    cdpp = 35 * 10 ** (0.2 * (magnitude - 12)) * NOISE_FACTOR[mission]
    cdpp = np.clip(cdpp * np.exp(rng.normal(0, 0.3, size=n)), 10, 5000)
    variability = np.exp(rng.normal(np.log(250), 0.9, size=n) + 0.0004 * (5800 - teff))
    variability *= np.exp(3.2 * s[3] * rng.uniform(0.5, 1.0, size=n))
    variability = np.clip(variability, 10, 1e5)

    # the period: binaries short, artefacts near the spacecraft's rhythms
    longest = np.minimum(400.0, baseline / 1.5)
    period = np.exp(rng.uniform(np.log(0.3), np.log(longest)))
    eb_short = (y == 1) & (rng.random(n) < 0.7)
    period[eb_short] = np.exp(rng.uniform(np.log(0.3), np.log(8.0), size=eb_short.sum()))
    near = (y == 4) & (rng.random(n) < 0.25 + 0.7 * strength)
    for i in np.flatnonzero(near):
        choices = SYSTEMATIC_PERIODS[int(mission[i])]
        period[i] = choices[rng.integers(len(choices))] * np.exp(rng.normal(0, 0.01))
    period = np.clip(period, 0.3, 400.0)
    n_transits = np.maximum(1, np.floor(baseline / period * rng.uniform(0.7, 1.0, size=n)))
    n_transits = np.where(y == 4, np.maximum(1, n_transits * (1 - 0.8 * s[4])), n_transits)

    # the body that eclipses, and the dip it makes
    impact = rng.uniform(0, 0.95, size=n)
    impact = np.where(y == 1, rng.uniform(0.2, 1.3, size=n), impact)
    planet_re = np.exp(rng.normal(np.log(2.6), 0.75, size=n))  # earth radii
    companion_re = rng.uniform(20, 110, size=n)  # a small star, in earth radii
    body = np.where(y == 1, planet_re + s[1] * companion_re, planet_re)
    ratio = body / (109.1 * radius)
    depth = 1e6 * ratio**2 * np.where(impact > 1, np.clip(1.3 - impact, 0.05, 1) * 2, 1.0)
    depth *= np.exp(rng.normal(0, 0.12, size=n))
    # a background binary, diluted by the target's light
    blend_depth = np.exp(rng.uniform(np.log(100), np.log(3e4), size=n))
    depth = np.where(y == 2, (1 - s[2]) * depth + s[2] * blend_depth, depth)
    # a spot or pulsation: the dip scales with the variability
    depth = np.where(
        y == 3, (1 - s[3]) * depth + s[3] * variability * rng.uniform(0.1, 0.6, size=n), depth
    )
    depth = np.where(
        y == 4, (1 - s[4]) * depth + s[4] * cdpp * rng.uniform(0.5, 3.0, size=n), depth
    )
    depth = np.clip(depth, 8, 2e5)

    expected = 13.0 * (period / 365.25) ** (1 / 3) * (density / 1.41) ** (-1 / 3)
    expected *= np.sqrt(np.clip(1 - np.minimum(impact, 0.98) ** 2, 0.04, 1))
    mismatch = (
        rng.normal(0, 0.12, size=n)
        + s[3] * rng.choice([-1, 1], size=n) * rng.uniform(0.5, 1.4, size=n)
        + s[4] * rng.normal(0, 0.9, size=n)
        + s[2] * rng.normal(0, 0.35, size=n)
    )
    duration = np.clip(expected * np.exp(mismatch), 0.5, 20.0)

    snr = depth / cdpp * np.sqrt(n_transits * duration)
    snr = np.clip(snr * np.exp(rng.normal(0, 0.1, size=n)), 5, 1e4)
    odd_even = np.abs(rng.normal(0, 1, size=n)) + s[1] * rng.uniform(0, 25, size=n)
    odd_even += s[2] * rng.uniform(0, 6, size=n)
    secondary_noise = cdpp / np.sqrt(np.maximum(n_transits * duration, 1.0))
    secondary = rng.normal(0, 1, size=n) * secondary_noise
    secondary += s[1] * depth * rng.uniform(0.0, 0.5, size=n) * (rng.random(n) < 0.75)
    hot = (y == 0) & (planet_re > 8) & (period < 5)  # hot Jupiters glow a little
    secondary += hot * rng.uniform(5, 60, size=n)
    v_shape = np.clip(0.08 + 0.25 * impact**2 + rng.normal(0, 0.05, size=n), 0, 1)
    v_shape = np.clip(
        v_shape
        + s[1] * rng.uniform(0.2, 0.7, size=n)
        + s[3] * rng.uniform(0.3, 0.8, size=n)
        + s[4] * rng.uniform(-0.1, 0.6, size=n),
        0,
        1,
    )
    pixel = PIXEL_ARCSEC[mission]
    centroid = np.abs(rng.normal(0, 0.08, size=n)) * pixel * (1 + 30 / snr)
    centroid += s[2] * pixel * rng.uniform(0.3, 2.0, size=n)
    centroid = np.clip(centroid, 0, 60)
    crowding = 1 - rng.beta(1.2, 12, size=n) * np.where(mission == 2, 3.0, 1.0)
    crowding -= s[2] * rng.uniform(0.05, 0.5, size=n)
    crowding = np.clip(crowding, 0.2, 1.0)
    bad = rng.beta(1.0, 25, size=n) + s[4] * rng.uniform(0.05, 0.45, size=n)
    bad = np.clip(bad, 0, 0.6)
    radius_inferred = 109.1 * radius * np.sqrt(depth / 1e6)

    label = y.copy()
    flip = rng.random(n) < 0.04
    label[flip] = (y[flip] + rng.integers(1, len(CLASSES), size=flip.sum())) % len(CLASSES)

    pipelines = ["kepler_dv", "everest", "k2sff", "spoc", "qlp"]
    header = (
        "mission,pipeline,period_days,duration_hours,depth_ppm,impact_parameter,snr,"
        "n_transits,odd_even_sigma,secondary_depth_ppm,v_shape,centroid_offset_arcsec,"
        "crowding,teff_k,stellar_radius_rsun,logg,stellar_density_gcc,magnitude,cdpp_ppm,"
        "variability_ppm,bad_cadence_fraction,planet_radius_earth,disposition"
    )
    lines = [header]
    for i in range(n):
        lines.append(
            f"{MISSIONS[mission[i]]},{pipelines[pipeline[i]]},{period[i]:.5f},"
            f"{duration[i]:.2f},{depth[i]:.0f},{min(impact[i], 1.3):.3f},{snr[i]:.1f},"
            f"{n_transits[i]:.0f},{odd_even[i]:.2f},{secondary[i]:.1f},{v_shape[i]:.3f},"
            f"{centroid[i]:.2f},{crowding[i]:.3f},{teff[i]:.0f},{radius[i]:.3f},{logg[i]:.3f},"
            f"{density[i]:.4f},{magnitude[i]:.2f},{cdpp[i]:.1f},{variability[i]:.0f},"
            f"{bad[i]:.4f},{radius_inferred[i]:.2f},{CLASSES[label[i]]}"
        )
    return lines


# ----------------------------------------------------------------------------- the images

LEAVES = ["ovate", "lanceolate", "palmate", "serrate", "cordate", "trifoliate"]
LEAF_SHARES = [0.17, 0.17, 0.17, 0.16, 0.16, 0.17]
SIDE = 28
YY, XX = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)


def _soft(distance: np.ndarray, edge: float = 0.6) -> np.ndarray:
    """1 inside (distance < 0), 0 outside, antialiased over about a pixel."""
    return np.clip(0.5 - distance / edge, 0, 1)


def _blade(t: np.ndarray, s: np.ndarray, half_width, length: float) -> np.ndarray:
    """Inside a blade along the axis: t from the base (0) to the tip (1), s across it."""
    width = half_width(np.clip(t, 0, 1))
    return _soft(np.maximum(np.abs(s) - width, np.maximum(-t, t - 1) * length))


def _leaf(kind: int, t: np.ndarray, s: np.ndarray, length: float, rng) -> np.ndarray:
    """The blade's coverage in leaf coordinates (pixels along `t * length`, across `s`)."""
    if kind == 0:  # ovate: widest below the middle, entire margin
        w = length * rng.uniform(0.3, 0.4)
        return _blade(t, s, lambda u: w * np.sin(np.pi * u) ** 0.75 * (1.25 - 0.55 * u), length)
    if kind == 1:  # lanceolate: long and narrow, tapering to a point
        w = length * rng.uniform(0.1, 0.15)
        return _blade(t, s, lambda u: w * np.sin(np.pi * u**0.7) ** 0.8, length)
    if kind == 3:  # serrate: elliptic, the margin cut into forward-pointing teeth
        w = length * rng.uniform(0.26, 0.34)
        teeth = rng.uniform(5, 8)
        depth = rng.uniform(0.25, 0.4)
        return _blade(
            t, s, lambda u: w * np.sin(np.pi * u) ** 0.8 * (1 - depth * ((u * teeth) % 1)), length
        )
    if kind == 4:  # cordate: heart-shaped, two rounded lobes either side of a notch
        w = length * rng.uniform(0.36, 0.44)
        blade = _blade(t, s, lambda u: w * np.sin(np.pi * (0.18 + 0.82 * u)) ** 0.7, length)
        notch = _soft(np.abs(s) * 0.9 - (0.22 - t) * length)  # a V cut into the base
        return blade * (1 - notch)
    if kind == 2:  # palmate: five pointed lobes spread from the base of the blade
        r = np.hypot(t * length, s)
        phi = np.arctan2(s, t * length)
        lobes = np.abs(np.cos(2.5 * (phi + rng.normal(0, 0.05))))
        reach = length * (0.45 + 0.55 * lobes ** rng.uniform(2.0, 4.0))
        reach *= np.where(np.abs(phi) > 2.3, 0.3, 1.0)  # the sinus at the stalk
        return _soft(r - reach * 0.75)
    # trifoliate: three ovate leaflets on one stalk
    cover = np.zeros_like(t)
    small = length * 0.6
    for angle in (-rng.uniform(0.8, 1.1), 0.0, rng.uniform(0.8, 1.1)):
        c, d = np.cos(angle), np.sin(angle)
        tt = (t * length * c + s * d) / small
        ss = -t * length * d + s * c
        w = small * rng.uniform(0.28, 0.36)
        leaflet = _blade(
            tt, ss, lambda u, w=w: w * np.sin(np.pi * u) ** 0.8 * (1.1 - 0.3 * u), small
        )
        cover = np.maximum(cover, leaflet)
    return cover


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
    return np.real(np.fft.ifft2(np.fft.fft2(image) * kernel))


def leaf_scan(rng: np.random.Generator, kind: int) -> np.ndarray:
    """One 28x28 grey scan of a leaf on the scanner's glass, values in [0, 1]."""
    length = rng.uniform(16.0, 23.0) * (0.8 if kind in (2, 5) else 1.0)
    angle = np.pi / 2 + rng.normal(0, 0.45)  # roughly upright, tip up, turned a little
    base_x = SIDE / 2 + rng.normal(0, 1.8) - np.cos(angle) * length * 0.5
    base_y = SIDE / 2 + rng.normal(0, 1.8) + np.sin(angle) * length * 0.5
    dx, dy = XX - base_x, base_y - YY  # y up
    t = (dx * np.cos(angle) + dy * np.sin(angle)) / length
    s = -dx * np.sin(angle) + dy * np.cos(angle)
    if rng.random() < 0.5:
        s = -s  # the leaf's left and right
    blade = _leaf(kind, t, s, length, rng)
    stalk_length = rng.uniform(0.1, 0.25)
    reach = 0.2 if kind == 4 else 0.0  # a heart's stalk runs up into its notch
    stalk = _soft(np.maximum(np.abs(s) - 0.55, np.maximum(t - reach, -t - stalk_length) * length))
    veins = _soft(np.abs(s) - 0.35) * (t > 0) * (t < 0.95)  # the midrib
    side = np.abs(((t * length - np.abs(s) * 0.8) / rng.uniform(2.5, 3.5)) % 1 - 0.5) < 0.08
    veins = np.maximum(veins, side * (kind != 1) * 0.6)
    leaf_tone = rng.uniform(0.15, 0.5)
    paper = rng.uniform(0.7, 0.95)
    image = np.full((SIDE, SIDE), paper)
    image = image - 0.06 * _smooth_field(rng, 3.0)  # paper, uneven
    texture = leaf_tone + 0.08 * (_smooth_field(rng, 1.5) - 0.5) + 0.12 * veins
    cover = np.maximum(blade, stalk)
    for _ in range(rng.poisson(0.6)):  # insect holes: the paper shows through
        hx, hy, hr = rng.uniform(4, 24), rng.uniform(4, 24), rng.uniform(0.8, 2.0)
        cover = cover * (1 - _soft(np.hypot(XX - hx, YY - hy) - hr))
    image = image * (1 - cover) + texture * cover
    if rng.random() < 0.4:  # a shadow under a curled edge
        shadow = np.roll(np.roll(cover, 1, axis=0), 1, axis=1) * (1 - cover)
        image = image * (1 - 0.25 * shadow)
    image *= rng.uniform(0.85, 1.1) * (0.9 + 0.2 * _smooth_field(rng, 6.0))
    image = _blur(image, rng.uniform(0.3, 0.7))
    image = image + rng.normal(0, rng.uniform(0.02, 0.05), size=image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def leaf_scans(count: int = 2400, seed: int = 210_002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = rng.choice(len(LEAVES), size=count, p=LEAF_SHARES)
    X = np.stack([leaf_scan(rng, int(k)) for k in y])[:, None]
    flip = rng.random(count) < 0.03
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, len(LEAVES), size=flip.sum())) % len(LEAVES)
    return X, y.astype(np.int64)


def main() -> None:
    (HERE / "transit_candidates.csv").write_text("\n".join(transit_candidates()) + "\n")
    X, y = leaf_scans()
    np.savez_compressed(HERE / "leaf_scans28.npz", X=X, y=y)


if __name__ == "__main__":
    main()
