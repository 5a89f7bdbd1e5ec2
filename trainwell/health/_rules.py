"""The doctor's rules, in the order it applies them.

Each rule is a small pure function `(history, thresholds) -> Finding | None` of the recorded
history: it documents its criterion and where its thresholds come from, and never touches the
model. Probe rules (`_probe_rules.py`, `_unit_rules.py`, `_divergence_rules.py`) run after
every probe, curve rules (`_curve_rules.py`, `_val_rules.py`, `_jump_rules.py`,
`_slow_rules.py`, `_underfit_rules.py`, `_bar_rules.py`) after every epoch; what they share
is in `_rule_base.py`.
"""

from __future__ import annotations

from ._bar_rules import short_of_the_bar
from ._curve_base import bottleneck
from ._curve_rules import oscillating_loss
from ._divergence_rules import divergence, flown_off, runaway_weights
from ._history import LARGE_STEP
from ._jump_rules import jumping_val_loss
from ._probe_rules import exploding_gradient, vanishing_gradient
from ._rule_base import (
    COLLAPSED_GAIN,
    LARGE_GAIN,
    NEGATIVE_BIAS,
    SMALL_GAIN,
    UNSCALED_RMS,
    VANISHED_SIGNAL,
    Rule,
    Thresholds,
    stalled,
)
from ._slow_rules import slow_convergence
from ._underfit_rules import (
    guessing_beside_terms,
    learned_nothing,
    narrow_layer,
    one_class,
    penalised,
    pulled_to_zero,
    underfitting,
)
from ._unit_rules import (
    dying_relu,
    killed_units,
    saturated_activation,
    units_dying,
    units_lost,
)
from ._val_rules import overfitting

__all__ = [
    "COLLAPSED_GAIN",
    "CURVE_CODES",
    "CURVE_RULES",
    "FALLBACK_RULES",
    "LARGE_GAIN",
    "LARGE_STEP",
    "NEGATIVE_BIAS",
    "PROBE_RULES",
    "RUNAWAY_RULES",
    "SMALL_GAIN",
    "UNSCALED_RMS",
    "VANISHED_SIGNAL",
    "Thresholds",
    "bottleneck",
    "flown_off",
    "killed_units",
    "stalled",
    "units_dying",
    "units_lost",
]

# In the order of what causes what, as the doctor treats them: dead or saturated units cut
# the backward path, so gradients vanish behind them; found on the same probe, the cause is
# reported first. Runaway weights come last: they add the cause (steps too large) to dead or
# saturated units found on the same probe, and name it alone where nothing else shows.
PROBE_RULES: tuple[Rule, ...] = (
    divergence,
    exploding_gradient,
    dying_relu,
    saturated_activation,
    vanishing_gradient,
    runaway_weights,
)
# A probe taken between the probe steps because the loss ran away: the units it kills and
# the gradients it blows up are the runaway's doing; it speaks only to the divergence.
RUNAWAY_RULES: tuple[Rule, ...] = (divergence,)
CURVE_CODES = frozenset(
    ("oscillating_loss", "slow_convergence", "overfitting", "underfitting")
)  # judged on epoch curves only
LEARNING_CODES = (  # problems that can keep a network from learning at all
    "vanishing_gradient",
    "dying_relu",
    "saturated_activation",
    "slow_convergence",
    "underfitting",
)
# divergence is judged at epoch ends too: a loss that ran away between probes shows in the
# epoch's mean before the next probe, and before the epoch's state is kept as healthy.
CURVE_RULES: tuple[Rule, ...] = (
    divergence,
    narrow_layer,
    penalised,
    pulled_to_zero,
    oscillating_loss,
    jumping_val_loss,
    slow_convergence,
    overfitting,
    underfitting,
    short_of_the_bar,
    learned_nothing,
    one_class,
    guessing_beside_terms,
)
# only while no problem has been found
FALLBACK_RULES: tuple[Rule, ...] = (
    short_of_the_bar,
    learned_nothing,
    one_class,
    guessing_beside_terms,
)
