"""The user data of fault-benchmark round held-out-43: two files written beside this script.

`python make_data.py` rewrites both, byte for byte the same (numpy PCG64 generators with
fixed seeds; no other randomness; numpy only; numbers written with fixed decimals; the .npz
is zipped with a fixed time stamp, not the clock's).

fish_auction.csv: a harbour fish auction's inspection sheet, one box of fish per row
-------------------------------------------------------------------------------------
3,000 rows, 29 columns. Each row is one box of fish put up at a harbour auction: the
species and the port it was landed at (two text columns: `species` cod, haddock, hake,
mackerel or sardine; `port` northgate, saltbay, kelport or eastharbour), how long and how
cold it was kept, the box, and the inspector's readings. 26 numeric columns in their own
units and scales: trip length (days), hours since catch, hours before gutting (pelagic
fish are landed whole: all of them), fish-hold temperature (deg C), ice-to-fish ratio,
air temperature at landing (deg C), core temperature at the auction (deg C), box weight
(kg), fish count, mean length (cm), fat (%, fatmeter), K value (% of ATP broken down),
TVB-N and TMA (mg/100 g), histamine (ppm), flesh pH, three sensory demerit scores (eyes
0-3, gills 0-3, skin 0-2), firmness (N), anisakid larvae found in the sample fillets and
the sample's weight (kg), vessel length (m), auction hour, bids and crate tare (kg).
Vessel length, hour, bids and tare do not bear on the grade. Spoilage runs at (T + 10)^2
(the square-root model) on the fish's mean temperature, which rises where ice runs short
on a warm day; most readings follow the ice-days that come out of it. `grade`, the
auction's rules in this order:

    rejected     13%   histamine over 100 ppm (mackerel and sardine held warm: it grows
                       with the degree-hours above 4 deg C), or TVB-N over the species'
                       limit (35 mg/100 g for whitefish, 30 for mackerel and sardine)
    parasitised  13%   3 or more larvae per kg of sample fillet (larvae found / sample kg):
                       the ground's load moves from the gut into the flesh the longer and
                       warmer the fish lies ungutted
    industrial    9%   undersized: mean fish weight (box weight / fish count) below the
                       species' marketing minimum
    extra        17%   sensory demerits (eyes + gills + skin) at most 1, K value below 22%
                       and firmness above 70% of the species' fresh firmness
    grade_a      29%   demerits at most 3 and K value below 40%
    grade_b      18%   otherwise

No grade is one column: the size rule is a ratio of two columns with a species-specific
limit, the larvae rule a ratio, the freshness grades a sum of three scores combined with
the K value and a species-relative firmness. 3% of the grades are wrong (a random other
grade). In scikit-learn (5-fold, standardised columns, text one-hot) a logistic
regression reaches about 0.79 accuracy, a random forest (300 trees) about 0.83; the
commonest grade alone 0.29.

screw_heads28.npz: a sorting line's top camera, one loose screw or bolt head per image
---------------------------------------------------------------------------------------
2,400 grayscale images (uint8, 1 x 28 x 28, `X`) of single screw and bolt heads seen from
above on a sorting belt: a metal head, lit from a random side (a brighter half and a
specular spot), at a random position, size (head radius 6.5-10.5 px), rotation and
brightness, on a belt with a faint weave and a gradient, dust specks, now and then a
bright scratch, and pixel noise. Labels `y` (int64), 6 kinds, 400 each:

    0 slotted       a round head crossed by one dark slot from rim to rim
    1 phillips      a round head with a dark cross recess
    2 torx          a round head with a six-lobed star recess
    3 hex_socket    a round head with a hexagonal recess
    4 square_drive  a round head with a square (Robertson) recess
    5 hex_bolt      no recess: a hexagonal head whose six flat facets are lit
                    differently, with a faint washer ring

Classes 2-4 differ only in the outline of a dark recess 3-6 px across (six lobes, six
corners or four), so only shape tells them apart; the mean brightness differs little
between kinds. On the raw pixels a logistic regression reaches about 0.24 and a random
forest about 0.50 (3-fold); the healthy CNN of this round about 0.87.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECIES = ("cod", "haddock", "hake", "mackerel", "sardine")
PORTS = ("northgate", "saltbay", "kelport", "eastharbour")
GRADES = ("rejected", "parasitised", "industrial", "extra", "grade_a", "grade_b")
COLUMNS = (
    ("species", None),
    ("port", None),
    ("trip_days", 1),
    ("hours_since_catch", 1),
    ("gutting_delay_h", 1),
    ("hold_temp_c", 1),
    ("ice_ratio", 2),
    ("air_temp_c", 1),
    ("core_temp_c", 1),
    ("box_weight_kg", 2),
    ("fish_count", 0),
    ("mean_length_cm", 1),
    ("fat_pct", 1),
    ("k_value_pct", 1),
    ("tvbn_mg100g", 1),
    ("tma_mg100g", 2),
    ("histamine_ppm", 1),
    ("flesh_ph", 2),
    ("eye_score", 0),
    ("gill_score", 0),
    ("skin_score", 0),
    ("firmness_n", 2),
    ("nematodes_found", 0),
    ("sample_fillet_kg", 2),
    ("vessel_length_m", 1),
    ("auction_hour", 0),
    ("bids", 0),
    ("crate_tare_kg", 2),
    ("grade", None),
)
SIZE = 28
KINDS = ("slotted", "phillips", "torx", "hex_socket", "square_drive", "hex_bolt")


def rng_for(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --- fish_auction.csv ---------------------------------------------------------------------


def fish_auction(n: int = 3000, seed: int = 43001) -> tuple[list[str], list[list[str]]]:
    rng = rng_for(seed)
    species = rng.choice(5, size=n, p=[0.27, 0.2, 0.16, 0.22, 0.15])
    port = rng.choice(4, size=n, p=[0.3, 0.25, 0.25, 0.2])
    pelagic = species >= 3  # mackerel and sardine: landed whole, oily, histidine-rich
    trip_days = (rng.gamma(2.0, np.array([1.6, 0.8, 2.4, 1.2])[port]) + 0.3).clip(0.3, 14)
    landing_h = rng.uniform(2, 16, size=n)  # from landing to the auction floor
    hours = trip_days * 24 * rng.uniform(0.1, 1.3, size=n) + landing_h
    gutting = np.where(pelagic, hours, rng.gamma(1.6, 1.3, size=n))
    hold_temp = rng.normal(1.0, 1.4, size=n) + np.array([0.0, 0.8, -0.3, 0.5])[port]
    hold_temp = hold_temp + (rng.random(n) < 0.1) * rng.uniform(3, 9, size=n)  # a warm hold
    ice = rng.uniform(0.15, 1.2, size=n)
    air = rng.normal(15, 6, size=n).clip(-2, 32)
    # the fish's mean temperature since the catch: the hold's, lifted where ice runs short
    mean_temp = hold_temp + 4.0 * (0.5 - ice).clip(0) ** 1.2 * (air / 15).clip(0.2)
    core_temp = mean_temp + 0.08 * (air - 15) + rng.normal(0, 0.7, size=n)
    # spoilage runs at (T + 10)^2 (the square-root model): ice-days at 0 deg C equivalent
    rate = ((mean_temp + 10) / 10).clip(0.3) ** 2 * np.where(pelagic, 1.45, 1.0)
    ice_days = hours / 24 * rate * rng.lognormal(0, 0.15, size=n)
    weight_mu = np.array([0.6, 0.38, 0.38, 0.24, 0.056])[species]
    fish_kg = weight_mu * rng.lognormal(0, 0.45, size=n)
    box = rng.uniform(18, 42, size=n)
    count = np.maximum(1, np.round(box / fish_kg))
    # length from weight (W = a L^3, grams and cm), the box's mean fish
    a = np.array([0.0095, 0.009, 0.007, 0.0065, 0.008])[species]
    length = (fish_kg * 1000 / a) ** (1 / 3) * rng.normal(1.0, 0.03, size=n)
    fat = np.array([0.8, 0.7, 1.6, 14.0, 9.0])[species] * rng.lognormal(0, 0.3, size=n)
    k_value = (100 * (1 - np.exp(-ice_days / 9)) + rng.normal(0, 3.5, size=n)).clip(1, 99)
    tvbn = (
        np.array([12.0, 12.0, 13.0, 14.0, 15.0])[species]
        + 1.6 * np.exp(ice_days / 3.6) * rng.lognormal(0, 0.25, size=n)
    ).clip(0, 250)
    tma = (0.3 * np.exp(ice_days / 3.2) * rng.lognormal(0, 0.4, size=n)).clip(0, 80)
    abuse = hours * (mean_temp - 4).clip(0)  # degree-hours above 4 deg C
    histamine = np.where(
        pelagic,
        np.exp(0.8 + 0.022 * abuse + rng.normal(0, 0.9, size=n)),
        rng.gamma(1.0, 1.5, size=n),
    ).clip(0, 3000)
    ph = 6.55 + 0.025 * ice_days - 0.004 * fat + rng.normal(0, 0.08, size=n)

    def demerit(scale: float, top: int) -> np.ndarray:
        return np.round((ice_days / scale + rng.normal(0, 0.55, size=n)).clip(0, top))

    eyes, gills, skin = demerit(4.5, 3), demerit(4.0, 3), demerit(5.5, 2)
    fresh_firmness = np.array([9.0, 8.0, 6.5, 7.5, 5.0])[species]  # N, on the day of catch
    firmness = fresh_firmness * np.exp(-ice_days / 12) * rng.lognormal(0, 0.12, size=n)
    # anisakid larvae: the fishing ground's load, moved from the gut into the fillets the
    # longer the fish lay ungutted, the faster the warmer
    load = (
        np.array([1.0, 0.9, 2.6, 1.5])[port]
        * np.array([2.2, 0.8, 2.8, 0.7, 0.25])[species]
        * rng.gamma(2.0, 2.0, size=n)
    )
    migrated = 1 - np.exp(-gutting * (mean_temp + 3).clip(0.5) / 90)
    sample_kg = rng.uniform(0.8, 3.0, size=n)
    nematodes = rng.poisson(load * migrated * sample_kg)
    vessel = rng.lognormal(2.9, 0.35, size=n)
    hour = rng.integers(4, 12, size=n)
    bids = rng.poisson(6, size=n)
    tare = rng.normal(1.8, 0.12, size=n)

    min_kg = np.array([0.35, 0.22, 0.22, 0.14, 0.033])[species]  # marketing size minimum
    tvbn_limit = np.array([35.0, 35.0, 35.0, 30.0, 30.0])[species]
    qim = eyes + gills + skin
    grade = np.full(n, 5)
    grade[(qim <= 3) & (k_value < 40)] = 4
    grade[(qim <= 1) & (k_value < 22) & (firmness > 0.7 * fresh_firmness)] = 3
    grade[box / count < min_kg] = 2
    grade[nematodes / sample_kg >= 3] = 1
    grade[(histamine > 100) | (tvbn > tvbn_limit)] = 0
    flip = rng.random(n) < 0.03
    grade[flip] = (grade[flip] + rng.integers(1, 6, size=int(flip.sum()))) % 6

    values = {
        "species": [SPECIES[i] for i in species],
        "port": [PORTS[i] for i in port],
        "trip_days": trip_days,
        "hours_since_catch": hours,
        "gutting_delay_h": gutting,
        "hold_temp_c": hold_temp,
        "ice_ratio": ice,
        "air_temp_c": air,
        "core_temp_c": core_temp,
        "box_weight_kg": box,
        "fish_count": count,
        "mean_length_cm": length,
        "fat_pct": fat,
        "k_value_pct": k_value,
        "tvbn_mg100g": tvbn,
        "tma_mg100g": tma,
        "histamine_ppm": histamine,
        "flesh_ph": ph,
        "eye_score": eyes,
        "gill_score": gills,
        "skin_score": skin,
        "firmness_n": firmness,
        "nematodes_found": nematodes,
        "sample_fillet_kg": sample_kg,
        "vessel_length_m": vessel,
        "auction_hour": hour,
        "bids": bids,
        "crate_tare_kg": tare,
        "grade": [GRADES[i] for i in grade],
    }
    header = [name for name, _ in COLUMNS]
    columns = [
        values[name] if digits is None else [f"{v:.{digits}f}" for v in values[name]]
        for name, digits in COLUMNS
    ]
    return header, [list(row) for row in zip(*columns, strict=True)]


# --- screw_heads28.npz --------------------------------------------------------------------

_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)


def inside(distance: np.ndarray, width: float = 0.9) -> np.ndarray:
    """1 inside a signed distance (negative inside), antialiased over `width` px."""
    return np.clip(0.5 - distance / width, 0, 1)


def polygon(u: np.ndarray, v: np.ndarray, sides: int, radius: float) -> np.ndarray:
    """Signed distance (roughly) to a regular polygon of circumradius `radius`."""
    angles = np.arange(sides) * 2 * np.pi / sides
    apothem = radius * np.cos(np.pi / sides)
    return np.max([u * np.cos(a) + v * np.sin(a) for a in angles], axis=0) - apothem


def bar(u: np.ndarray, v: np.ndarray, half_length: float, half_width: float) -> np.ndarray:
    return np.maximum(np.abs(u) - half_length, np.abs(v) - half_width)


def head(rng: np.random.Generator, kind: int) -> np.ndarray:
    """Brightness of one head seen from above, lit from a random side, 0 where no metal."""
    cy, cx = rng.uniform(10, 18, size=2)
    radius = rng.uniform(6.5, 10.5)
    angle = rng.uniform(0, 2 * np.pi)
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    r, theta = np.hypot(u, v), np.arctan2(v, u)
    light = rng.uniform(0, 2 * np.pi)
    lx, ly = np.cos(light), np.sin(light)
    if kind == 5:  # a hex bolt: a hexagonal head, each flat facet lit differently
        outline = polygon(u, v, 6, radius)
        metal = inside(outline)
        facet = np.round(theta / (np.pi / 3)) * np.pi / 3
        shade = 0.55 + 0.28 * np.cos(facet - light) * (r > radius * 0.55)
        washer = np.clip(0.9 - np.abs(r - radius * 0.55), 0, 1) * 0.2
        return metal * (shade - washer)
    # a domed pan head: brighter toward the light, a specular spot
    metal = inside(r - radius)
    dome = 0.55 + 0.25 * (u * lx + v * ly) / radius
    spot = 0.35 * np.exp(-((u - 0.45 * radius * lx) ** 2 + (v - 0.45 * radius * ly) ** 2) / 4)
    rim = np.clip(1.0 - np.abs(r - radius + 0.6), 0, 1) * 0.25
    ink = metal * (dome + spot - rim)
    size = radius * rng.uniform(0.42, 0.55)
    if kind == 0:  # slotted: one slot across the whole head
        recess = bar(u, v, radius * 1.05, rng.uniform(0.8, 1.2))
    elif kind == 1:  # phillips: a cross
        half = rng.uniform(0.75, 1.05)
        recess = np.minimum(bar(u, v, size * 1.3, half), bar(v, u, size * 1.3, half))
    elif kind == 2:  # torx: a six-lobed star
        recess = r - size * (1.0 + 0.3 * np.cos(6 * theta))
    elif kind == 3:  # hex socket
        recess = polygon(u, v, 6, size * 1.05)
    else:  # square drive (Robertson)
        recess = polygon(u, v, 4, size * 1.05)
    hole = inside(recess) * metal
    return ink * (1 - hole) + hole * 0.08


def photo(rng: np.random.Generator, kind: int) -> np.ndarray:
    metal = head(rng, kind) * rng.uniform(0.6, 1.0)
    # a belt with a faint weave and a gradient, dust specks and now and then a scratch
    belt = 0.22 + 0.04 * np.sin(_GRID[1] * rng.uniform(0.8, 1.6) + rng.uniform(0, 6))
    belt = belt + 0.08 * (_GRID[0] - 14) / 28 * rng.normal()
    for _ in range(int(rng.integers(0, 4))):
        py, px = rng.uniform(0, SIZE, size=2)
        speck = np.exp(-((_GRID[0] - py) ** 2 + (_GRID[1] - px) ** 2) / (2 * rng.uniform(0.3, 0.9)))
        belt = belt + speck * rng.uniform(0.2, 0.5)
    if rng.random() < 0.3:
        a = rng.uniform(0, np.pi)
        py, px = rng.uniform(4, 24, size=2)
        across = -(_GRID[1] - px) * np.sin(a) + (_GRID[0] - py) * np.cos(a)
        along = (_GRID[1] - px) * np.cos(a) + (_GRID[0] - py) * np.sin(a)
        metal = metal + np.clip(0.7 - np.abs(across), 0, 1) * (np.abs(along) < 6) * 0.3
    image = np.where(metal > 0.01, metal, belt) + rng.normal(0, 0.07, size=metal.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def screw_heads(n: int = 2400, seed: int = 43002) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed)
    y = rng.permutation(np.arange(n) % len(KINDS))
    X = np.stack([photo(rng, int(kind)) for kind in y])[:, None]
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
    write_csv(HERE / "fish_auction.csv", *fish_auction())
    X, y = screw_heads()
    write_npz(HERE / "screw_heads28.npz", {"X": X, "y": y})


if __name__ == "__main__":
    main()
