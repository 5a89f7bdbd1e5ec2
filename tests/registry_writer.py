"""A writer process of the registry's concurrency test, in its own small module: a spawned
process imports this, not the test module and torch."""

from __future__ import annotations

import random
from typing import Any

from trainwell import InputError, registry


def promote_and_roll_back(home: str, seed: int, moves: int, done: Any) -> None:
    """`moves` random promotions and rollbacks; puts how many became events."""
    rng = random.Random(seed)
    count = 0
    for _ in range(moves):
        try:
            if rng.random() < 0.6:
                registry.promote("people", rng.randint(1, 3), reason=f"w{seed}", home=home)
            else:
                registry.rollback("people", reason=f"w{seed}", home=home)
            count += 1
        except InputError:  # nothing to roll back: a refusal, not an event
            pass
    done.put(count)
