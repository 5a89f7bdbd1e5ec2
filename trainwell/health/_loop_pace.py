"""When the loop's doctor probes, and when its silent-bug checks look (`Doctor.step`)."""

from __future__ import annotations

from ..findings import Finding
from ._examiner import after_remedy, next_interval, probe_interval
from ._loop_checks import looked_enough, unused_open
from ._repeated_batch import seen_twice
from ._silent import LoopRecord, LoopThresholds

LOOK_FIRST = 3  # probe steps at which the silent-bug checks look, until they saw enough
LOOK_SPARSER = 8  # then at every 8th probe step: they thin out with the probes


class LoopPace:
    """The loop doctor's schedule. Probes every `every` steps in the first epoch, twice that
    in the next, then half as often each healthy epoch down to every 4 x `every`, as the
    Trainer's doctor does; where an epoch is too short for `sustain` probes at `every`, at
    the pace that fits them. The silent-bug checks look at the first probe steps of a
    watch, at once after a problem was found, and else at every `LOOK_SPARSER`-th probe
    step: the bugs are in the code, so they show at the first steps; later looks catch what
    changes with the epochs, and thin out as the probes do (a look costs twice a probe)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.interval = every  # steps between probes; twice that after epoch 0, then more
        self.pace = every  # ... or fewer, where an epoch is too short (`epoch_end`)
        self.hold = 0  # epoch ends left before probes thin out again after a remedy
        self.probe_steps = 0  # probe steps so far (a runaway's probe is not one)
        self.watched_from = 0  # the step the silent-bug checks started looking from
        self.look_again = 0  # looks the silent-bug checks owe a problem just found

    def epoch_end(self, epoch: int, step: int, sustain: int) -> None:
        """Epoch `epoch` ended before step `step`: the next epoch's interval."""
        if epoch == 0:  # the epoch's length is known now
            self.pace = probe_interval(self.every, step, sustain)
        if epoch == 0 and self.pace < self.every:
            # epochs too short for `sustain` probes at `every`: epoch 1 is probed as epoch 0
            # should have been, so that a problem from the start is found in it, not epochs on
            self.interval = self.pace
        else:
            self.interval, self.hold = next_interval(
                self.interval, 2 * self.pace, self.pace, self.hold
            )

    def remedied(self) -> None:
        """A remedy changed the run: probed densely again while epochs judge it."""
        self.interval, self.hold = after_remedy(self.interval, 2 * self.pace)

    def rewatch(self, step: int) -> None:
        """A new watch from `step` on (the model's parameters changed): its first looks are
        from the next look on."""
        self.watched_from = -(-step // self.every) * self.every

    def looking(
        self, step: int, record: LoopRecord, t: LoopThresholds, findings: list[Finding]
    ) -> bool:
        """Whether the silent-bug checks look at this step and the next: at the first
        `LOOK_FIRST` multiples of `every` (probe steps in the first epoch) until `sustain`
        checks saw a backward and an optimizer step (what every check asks for), then at
        every `LOOK_SPARSER`-th probe step. While parameters are reported unused, at every
        probe step: a branch switched on later is seen to learn (`withdraw_unused`)."""
        if step % self.every:
            return False
        if self.first_looks(step, record, t):
            return True
        if self.look_again:  # a problem was found since the last look
            self.look_again -= 1
            return True
        if seen_twice(record, record.epoch):  # ... and this is another epoch: a third?
            return True
        sparser = self.probe_steps % LOOK_SPARSER == 0 or unused_open(findings)
        return step % self.interval == 0 and sparser

    def first_looks(self, step: int, record: LoopRecord, t: LoopThresholds) -> bool:
        """Whether `step` is among the first looks of the current watch (a new one from
        where the model's parameters changed: a replaced layer is watched as a new loop)."""
        return step - self.watched_from < LOOK_FIRST * self.every and not looked_enough(record, t)

    def next_busy(self, step: int, record: LoopRecord, t: LoopThresholds, epoch: int) -> int:
        """The first step from `step` on, in epoch `epoch`, at which the doctor looks,
        probes or arms a probe."""
        first_looks = (
            self.first_looks(step, record, t) or self.look_again or seen_twice(record, epoch)
        )
        grid = self.every if first_looks else self.interval
        next_look = -(-step // grid) * grid  # or a probe
        next_arm = step + (-(step + 1)) % self.interval  # (s + 1) % interval == 0
        return min(next_look, next_arm)
