"""Two user data files for the held-out-14 round of the fault benchmark, written beside this
script. Deterministic: numpy PCG64 generators with fixed seeds, so a rerun writes the same
files (`python make_data.py`).

cheese_assays.csv: 2,800 rows, 21 columns + `target` (a CSV table)
    A dairy testing laboratory's assay sheet for cheese samples, with the family each
    sample was graded into by a reference panel. 6 classes (`target`, text): cheddar 25%,
    gouda 21%, brie 16%, parmesan 13%, feta 13%, blue 12%.
    19 numeric columns in their own units and scales: moisture_pct (18-70),
    fat_in_dry_matter_pct (20-70), protein_pct (8-45), salt_pct (0.3-7), ph (4.1-7.6),
    calcium_mg_100g (150-1,500), water_activity (0.80-1.0), hardness_n (texture-analyser
    peak force, 1-400 N, log-normal), proteolysis_mg_g (soluble nitrogen, 0.2-80),
    ammonia_ppm (1-3,000, log-normal), free_fatty_acids_mmol_kg (0.2-120),
    lactate_g_100g (0-3), color_b_star (CIELAB yellowness, -2-40), wheel_weight_kg
    (0.05-80, log-normal), ripening_temp_c (2-24), ripening_humidity_pct (55-100),
    openings_per_dm2 (eyes, cracks or piercings counted on a cut face, 0-30), age_days
    (2-1,100) and batch_litres (milk in the vat, 50-60,000, unrelated to the family);
    2 text columns: milk_species (cow, goat, sheep, buffalo; feta is mostly sheep or goat,
    blue often sheep, the rest mostly cow) and testing_lab (north, south, central: the
    south lab's oven reads moisture 1.5 points high, the central lab's probe reads
    hardness 20% high and its pH meter 0.08 low).
    What separates them: parmesan is the driest, hardest, most mineral- and protein-rich,
    oldest and heaviest; gouda is wetter, less acid, yellower and has more eyes than
    cheddar; brie (surface mould) is moist and soft with a pH that rises towards 7 and
    much ammonia as it ripens, in small wheels kept humid; blue shares the rising pH and
    ammonia but adds strong lipolysis (free fatty acids), salt and piercings; feta
    (brined) is salty, acid, white, moist and lactate-rich. Goat and sheep milk make a
    whiter, more lipolysed cheese in any family. Every sample's own recipe and ripening
    (drier makes, older than usual) shift several measures together and scatter is wide,
    so cheddar/gouda/parmesan and brie/blue/feta overlap, and 8% of the labels are
    changed to a family the panels confuse it with. A logistic regression, a
    gradient-boosted tree or a standardised two-layer MLP all reach about 0.86-0.89 test
    accuracy (chance: 0.25, the share of the largest class).

pawprints32.npz: 2,520 images, X uint8 (2520, 1, 32, 32), y int64 (2520,)
    Grayscale photographs from a wildlife survey's mud track plots, cropped around one
    detected footprint each, lit from a low angle at the upper left so that every hollow
    has a shaded near wall and a lit far wall. 7 classes, 360 images each: 0 deer (the
    two pointed halves of a cloven hoof converging forward, sometimes two dewclaw dots
    behind), 1 dog (a heel pad, four oval toes in an X pattern, a claw mark ahead of each
    toe), 2 cat (a wide three-lobed heel pad, four round toes in an uneven arc, no claw
    marks), 3 heron (three long thin toes forward and a short one back from one point),
    4 horse (a U of hoof wall open at the heel, the frog's V inside it), 5 raccoon (a
    hand: a palm and five long spread fingers tipped with round pads), 6 rabbit (two long
    hind feet side by side, two small round forefeet behind them in line). Every print
    sits at a random place (+-4 px each way), heading (+-34 degrees), size (0.9-1.2),
    depth and blur, pressed unevenly into textured mud; 45% of the crops hold part of a
    neighbouring print of any animal at an edge, and twigs, grass stems and pebbles
    (raised, with their shadows) lie across many, with sensor noise on top. What
    separates the classes is local shape (claw marks, toe shape and count, a hoof wall,
    thin bird toes) wherever the print sits and whichever way it points: a small CNN
    (three conv blocks) reaches about 0.94-0.95 test accuracy and a small ResNet
    0.93-0.96, an MLP on the pixels about 0.65 and a linear model about 0.49 (chance:
    0.14).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

# --- cheese_assays.csv -------------------------------------------------------------------

# (name, share): the cheese family a grader's reference panel assigned the sample to
CHEESES = (
    ("cheddar", 0.24),
    ("gouda", 0.20),
    ("parmesan", 0.13),
    ("brie", 0.16),
    ("feta", 0.13),
    ("blue", 0.14),
)
# panels' usual disagreements: a flipped label goes to one of these
CONFUSED = {0: (1, 2), 1: (0,), 2: (0, 1), 3: (5, 4), 4: (3,), 5: (3,)}
SPECIES = ("cow", "goat", "sheep", "buffalo")
SPECIES_SHARE = (
    (0.93, 0.04, 0.02, 0.01),  # cheddar
    (0.85, 0.12, 0.02, 0.01),  # gouda
    (0.97, 0.00, 0.02, 0.01),  # parmesan
    (0.82, 0.14, 0.02, 0.02),  # brie
    (0.12, 0.30, 0.55, 0.03),  # feta
    (0.62, 0.06, 0.30, 0.02),  # blue
)
LABS = ("north", "south", "central")


def cheese_assays(rows: int = 2800, seed: int = 1401, noise: float = 0.08) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    share = np.array([p for _, p in CHEESES])
    y = rng.choice(len(CHEESES), size=rows, p=share / share.sum())
    n = rows

    def per_class(values: tuple[float, ...]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[y]

    def normal(mean: tuple[float, ...], sd: tuple[float, ...] | float) -> np.ndarray:
        scale = per_class(sd) if isinstance(sd, tuple) else sd
        return per_class(mean) + scale * rng.standard_normal(n)

    def lognormal(median: tuple[float, ...], sigma: float) -> np.ndarray:
        return per_class(median) * np.exp(sigma * rng.standard_normal(n))

    species = np.array([rng.choice(len(SPECIES), p=SPECIES_SHARE[k]) for k in y])
    small_ruminant = (species == 1) | (species == 2)
    lab = rng.integers(0, len(LABS), n)
    # every sample's own recipe and ripening: shared drift across the measures
    age = np.clip(lognormal((150, 120, 420, 40, 60, 80), 0.6), 2, 1100)
    ripe = np.log(age / per_class((150, 120, 420, 40, 60, 80)))  # older than its kind: >0
    dryness = rng.normal(0, 1, n)  # a drier make of the same kind

    moisture = normal((37.5, 41, 31, 50, 54, 44), (3.2, 3.2, 3.0, 4.0, 4.0, 4.0))
    moisture += -2.2 * dryness - 1.2 * ripe + np.where(lab == 1, 1.5, 0.0)  # south: oven bias
    fdm = normal((51, 49, 39, 54, 47, 53), 5.0) + 2.5 * small_ruminant
    protein = (100 - moisture) * normal((0.40, 0.41, 0.50, 0.38, 0.34, 0.38), 0.04)
    salt = lognormal((1.8, 2.1, 1.7, 1.6, 3.0, 2.9), 0.28)
    ph = normal((5.2, 5.45, 5.35, 6.1, 4.6, 5.8), (0.18, 0.18, 0.18, 0.45, 0.18, 0.45))
    ph += 0.12 * ripe * per_class((0.3, 0.3, 0.3, 1.5, 0.1, 1.2)) - np.where(lab == 2, 0.08, 0)
    calcium = normal((720, 760, 1100, 430, 480, 530), (90, 90, 110, 80, 80, 80))
    calcium += 12 * (100 - moisture - 60)  # drier curd, more minerals per 100 g
    aw = 0.995 - 0.0055 * salt / moisture * 100 - 0.00003 * age + rng.normal(0, 0.006, n)
    hardness = 75 * np.exp(-0.075 * (moisture - 40)) * np.exp(0.3 * rng.standard_normal(n))
    hardness *= np.where(lab == 2, 1.2, 1.0)  # central: a stiffer probe
    proteolysis = per_class((1.0, 1.0, 1.0, 2.2, 0.6, 2.6)) * (2 + 0.035 * age)
    proteolysis *= np.exp(0.35 * rng.standard_normal(n))
    ammonia = lognormal((18, 14, 25, 160, 8, 240), 0.85)
    ffa = lognormal((2.0, 1.6, 7.5, 3.5, 4.0, 14.0), 0.55) * np.where(small_ruminant, 1.5, 1.0)
    lactate = np.clip(normal((1.35, 1.15, 0.85, 0.45, 1.5, 0.6), 0.32) - 0.1 * ripe, 0.02, 3)
    yellow = normal((22, 24, 19, 13, 8, 11), 3.5) - 7 * small_ruminant + 4 * (species == 0)
    weight = lognormal((18, 9, 36, 1.5, 0.6, 2.4), 0.85)
    temp = normal((8, 12, 15, 11, 14, 9), 2.8)
    humidity = np.clip(normal((85, 83, 82, 93, 90, 94), 4.5), 55, 100)
    openings = rng.poisson(per_class((0.8, 2.2, 0.2, 0.1, 1.0, 3.5)) * rng.uniform(0.2, 1.8, n))
    batch_litres = np.round(rng.lognormal(np.log(2500), 0.9, n), -1)  # unrelated to the kind

    flip = rng.random(n) < noise
    labels = y.copy()
    for i in np.flatnonzero(flip):
        labels[i] = rng.choice(CONFUSED[int(y[i])])

    return pd.DataFrame(
        {
            "moisture_pct": np.round(np.clip(moisture, 18, 70), 1),
            "fat_in_dry_matter_pct": np.round(np.clip(fdm, 20, 70), 1),
            "protein_pct": np.round(np.clip(protein, 8, 45), 1),
            "salt_pct": np.round(np.clip(salt, 0.3, 7), 2),
            "ph": np.round(np.clip(ph, 4.1, 7.6), 2),
            "calcium_mg_100g": np.round(np.clip(calcium, 150, 1500)).astype(np.int64),
            "water_activity": np.round(np.clip(aw, 0.80, 1.0), 3),
            "hardness_n": np.round(np.clip(hardness, 1, 400), 1),
            "proteolysis_mg_g": np.round(np.clip(proteolysis, 0.2, 80), 2),
            "ammonia_ppm": np.round(np.clip(ammonia, 1, 3000)).astype(np.int64),
            "free_fatty_acids_mmol_kg": np.round(np.clip(ffa, 0.2, 120), 2),
            "lactate_g_100g": np.round(lactate, 2),
            "color_b_star": np.round(np.clip(yellow, -2, 40), 1),
            "wheel_weight_kg": np.round(np.clip(weight, 0.05, 80), 2),
            "ripening_temp_c": np.round(np.clip(temp, 2, 24), 1),
            "ripening_humidity_pct": np.round(humidity, 1),
            "openings_per_dm2": np.clip(openings, 0, 30).astype(np.int64),
            "age_days": np.round(age).astype(np.int64),
            "batch_litres": np.clip(batch_litres, 50, 60000).astype(np.int64),
            "milk_species": [SPECIES[k] for k in species],
            "testing_lab": [LABS[k] for k in lab],
            "target": [CHEESES[k][0] for k in labels],
        }
    )


# --- pawprints32.npz ---------------------------------------------------------------------

SIZE = 32
ANIMALS = ("deer", "dog", "cat", "heron", "horse", "raccoon", "rabbit")
_R, _C = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def _soft(distance: np.ndarray, width: float = 0.0, edge: float = 0.5) -> np.ndarray:
    """Coverage 0..1 of the points within `width` of a shape, with a soft edge."""
    return 1 / (1 + np.exp(np.clip((distance - width) / edge, -50, 50)))


class _Frame:
    """A print's own coordinates: u points the way the animal walked, v to its right."""

    def __init__(self, cy: float, cx: float, angle: float, scale: float):
        c, s = np.cos(angle), np.sin(angle)
        dy, dx = _R - cy, _C - cx
        self.u = (-c * dy + s * dx) / scale
        self.v = (s * dy + c * dx) / scale
        self.scale = scale

    def blob(self, u0: float, v0: float, ru: float, rv: float, taper: float = 0.0) -> np.ndarray:
        """An ellipse centred (u0, v0) with half-axes ru, rv; taper > 0 narrows it forward."""
        du = (self.u - u0) / ru
        width = rv * np.clip(1 - taper * du, 0.15, 2)
        d = np.sqrt(du**2 + ((self.v - v0) / width) ** 2)
        return _soft((d - 1) * min(ru, rv) * self.scale, 0, 0.45)

    def stroke(self, u0: float, v0: float, u1: float, v1: float, width: float) -> np.ndarray:
        du, dv = u1 - u0, v1 - v0
        t = np.clip(((self.u - u0) * du + (self.v - v0) * dv) / max(du * du + dv * dv, 1e-9), 0, 1)
        d = np.hypot(self.u - u0 - t * du, self.v - v0 - t * dv)
        return _soft(d * self.scale, width * self.scale, 0.45)


def _print(kind: int, f: _Frame, rng: np.random.Generator) -> np.ndarray:
    """The depth (0..1) of one footprint pressed into the mud, in the frame `f`."""
    j = lambda s=0.4: rng.normal(0, s)  # noqa: E731  small irregularities of each print
    parts: list[np.ndarray] = []
    if kind == 0:  # deer: two pointed halves of a cloven hoof, converging forward
        spread = rng.uniform(2.0, 2.8)
        for side in (-1, 1):
            parts.append(f.blob(j(), side * spread + j(0.2), 7.0 + j(), 2.2 + j(0.15), 0.55))
        if rng.random() < 0.4:  # dewclaws: two dots behind
            for side in (-1, 1):
                parts.append(0.6 * f.blob(-10.5 + j(), side * 3.5, 1.0, 1.0))
    elif kind == 1:  # dog: a heel pad, four toes in an X pattern, a claw mark ahead of each
        parts.append(f.blob(-4.5 + j(), j(0.2), 3.0, 3.4, -0.35))
        toes = ((3.6, -1.7), (3.6, 1.7), (0.6, -4.9), (0.6, 4.9))
        for u, v in toes:
            u, v = u + j(0.3), v + j(0.3)
            parts.append(f.blob(u, v, 2.3, 1.4))
            if rng.random() < 0.95:
                parts.append(f.blob(u + 3.8, v * 1.15, 1.1, 0.7))
    elif kind == 2:  # cat: a wide three-lobed heel pad, four round toes in an uneven arc
        for dv in (-2.6, 0.0, 2.6):
            parts.append(f.blob(-4.6 + j(0.2), dv + j(0.2), 2.4, 2.0))
        parts.append(f.blob(-3.0 + j(0.2), j(0.2), 2.8, 5.2))
        lead = rng.choice((-1, 1))
        toes = ((3.6, 0.8 * lead), (2.8, -2.9 * lead), (0.9, 5.0), (0.9, -5.0))
        for u, v in toes:
            parts.append(f.blob(u + j(0.3), v + j(0.3), 1.6, 1.6))
    elif kind == 3:  # heron: three long thin toes forward, one back, from a single point
        u0 = -3.0 + j()
        spread = rng.uniform(0.55, 0.8)
        for a in (-spread, 0.0, spread):
            length = rng.uniform(9, 12)
            a += j(0.06)
            parts.append(f.stroke(u0, 0, u0 + length * np.cos(a), length * np.sin(a), 0.85))
        parts.append(f.stroke(u0, 0, u0 - rng.uniform(3.5, 5.5), j(0.6), 0.85))
    elif kind == 4:  # horse: a hoof wall ring open at the heel, the frog's V inside
        ru, rv = 8.0 + j(), 7.0 + j()
        ring = np.sqrt((f.u / ru) ** 2 + (f.v / rv) ** 2)
        wall = _soft(np.abs(ring - 1) * rv * f.scale, 1.5 * f.scale, 0.45) * _soft(-3 - f.u, 0)
        parts.append(wall)
        for side in (-1, 1):
            parts.append(0.7 * f.stroke(-6.0, side * 2.4, 1.5 + j(), 0, 0.8))
    elif kind == 5:  # raccoon: a hand: a wide palm and five long spread fingers
        parts.append(f.blob(-1.5 + j(0.2), j(0.2), 2.4, 4.6, 0.1))
        for a in np.linspace(-1.2, 1.2, 5) + rng.normal(0, 0.08, 5):
            u0, v0 = -0.5 + 2.0 * np.cos(a), 3.0 * np.sin(a)
            length = rng.uniform(4.5, 6.5)
            tip_u, tip_v = u0 + length * np.cos(a), v0 + length * np.sin(a)
            parts.append(f.stroke(u0, v0, tip_u, tip_v, 0.75))
            parts.append(f.blob(tip_u, tip_v, 1.1, 1.1))
    else:  # rabbit: two long hind feet side by side, two small forefeet behind in line
        gap = rng.uniform(2.4, 3.4)
        for side in (-1, 1):
            parts.append(f.blob(3.0 + j(), side * gap + j(0.2), 6.0 + j(0.5), 1.8, 0.15))
        parts.append(f.blob(-6.8 + j(), -1.0 + j(0.4), 2.0, 1.7))
        parts.append(f.blob(-11.0 + j(), 0.9 + j(0.4), 2.0, 1.7))
    return np.clip(np.max(parts, axis=0), 0, 1)


def _smooth_noise(rng: np.random.Generator, cells: int, amplitude: float) -> np.ndarray:
    """Low-frequency texture: a coarse random grid, bilinearly upsampled."""
    grid = rng.normal(0, amplitude, (cells + 1, cells + 1))
    pos = np.linspace(0, cells, SIZE)
    i = np.minimum(pos.astype(int), cells - 1)
    t = pos - i
    rows = grid[i] * (1 - t)[:, None] + grid[i + 1] * t[:, None]
    return rows[:, i] * (1 - t) + rows[:, i + 1] * t


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    radius = 2
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(img, radius, mode="edge")
    rows = sum(k[i] * padded[i : i + SIZE, :] for i in range(2 * radius + 1))
    return sum(k[i] * rows[:, i : i + SIZE] for i in range(2 * radius + 1))


def _clutter(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(depth, raised): part of another print at an edge, twigs, pebbles."""
    depth = np.zeros((SIZE, SIZE))
    raised = np.zeros((SIZE, SIZE))
    if rng.random() < 0.45:  # the edge of a neighbouring print, any animal
        side = rng.integers(0, 4)
        along, out = rng.uniform(4, 28), rng.choice((-9.0, 40.0)) + rng.normal(0, 2)
        cy, cx = (along, out) if side < 2 else (out, along)
        f = _Frame(cy, cx, rng.uniform(-np.pi, np.pi), rng.uniform(0.7, 1.0))
        depth = 0.7 * _print(int(rng.integers(0, len(ANIMALS))), f, rng)
    for _ in range(rng.integers(0, 3)):  # twigs and grass stems lying on the mud
        y0, x0 = rng.uniform(0, SIZE, 2)
        a, length = rng.uniform(0, np.pi), rng.uniform(5, 14)
        f = _Frame(y0, x0, a, 1.0)
        raised = np.maximum(raised, f.stroke(0, 0, length, 0, rng.uniform(0.3, 0.6)))
    for _ in range(rng.integers(0, 5)):  # pebbles
        f = _Frame(*rng.uniform(0, SIZE, 2), rng.uniform(0, np.pi), 1.0)
        raised = np.maximum(raised, f.blob(0, 0, rng.uniform(0.6, 1.6), rng.uniform(0.6, 1.3)))
    return depth, raised


def pawprints32(per_class: int = 360, seed: int = 1402) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    y = np.repeat(np.arange(len(ANIMALS)), per_class)
    y = y[rng.permutation(len(y))]
    X = np.empty((len(y), 1, SIZE, SIZE), np.uint8)
    for i, kind in enumerate(y):
        cy, cx = 15.5 + rng.uniform(-4, 4), 15.5 + rng.uniform(-4, 4)
        f = _Frame(cy, cx, rng.uniform(-0.6, 0.6), rng.uniform(0.9, 1.2))
        depth = _print(int(kind), f, rng) * rng.uniform(0.7, 1.0)
        clutter, raised = _clutter(rng)
        depth = np.maximum(depth, clutter) * (1 + _smooth_noise(rng, 4, 0.25))
        depth = _blur(depth, rng.uniform(0.4, 0.8))
        # light from the upper left: the far wall of each hollow is lit, the near one shaded
        light = rng.uniform(0.2, 0.35)
        shade = depth - np.roll(np.roll(depth, 1, 0), 1, 1)
        mud = rng.uniform(0.42, 0.62) + _smooth_noise(rng, 5, 0.06)
        img = mud - rng.uniform(0.3, 0.42) * depth + light * shade
        img += 0.22 * raised - 0.1 * np.roll(np.roll(raised, -1, 0), -1, 1)  # their shadow
        img += rng.normal(0, rng.uniform(0.015, 0.04), (SIZE, SIZE))  # grain, sensor noise
        X[i, 0] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return X, y.astype(np.int64)


def main() -> None:
    cheese_assays().to_csv(HERE / "cheese_assays.csv", index=False)
    X, y = pawprints32()
    np.savez_compressed(HERE / "pawprints32.npz", X=X, y=y)


if __name__ == "__main__":
    main()
