"""Fit a training run to a wall-clock deadline without truncating its learning-rate schedule.

A lent GPU comes with a fixed amount of time, and how many steps fit in it is only known
once the model runs there. `StepBudget` times a stretch of early steps (late in the
warm-up: the very first steps are slow), fixes the step count N that ends before the
deadline, re-plans the cosine schedule for N steps and stops at N. The run
then has exactly the schedule of a run started with `max_steps = N`, so it can be
reproduced anywhere (on a CPU too) with `--max-steps N`; the callback's `result()` says
what N was. If the steps slow down later, a hard stop at the deadline keeps the run inside
its lease (the result then says `stopped_by: deadline`).

transformers has `max_steps` and a time limit for hyperparameter search only; nothing in
transformers, trl or accelerate plans a schedule from a deadline, hence this callback.
"""

from __future__ import annotations

import math
import time
from typing import Any

from radphi.training.sft_model import trainer_callback_base


def plan_steps(step: int, seconds_per_step: float, seconds_left: float, *, upper: int, margin: float = 0.9) -> int:
    """The last step that should end before the deadline, between STEP and UPPER: the steps
    still to run take SECONDS_PER_STEP each, and MARGIN leaves room for evaluations and saves."""
    if seconds_per_step <= 0:
        return upper
    more = int(max(seconds_left, 0.0) * margin / seconds_per_step)
    return max(step, min(upper, step + more))


def cosine_factor(step: int, warmup: int, total: int) -> float:
    """transformers' cosine-with-warmup multiplier at STEP (the same formula as
    get_cosine_schedule_with_warmup, half a cycle)."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def make_step_budget_callback(deadline: float, *, warmup: int = 0, calibrate_from: int | None = None,
                              calibrate_steps: int | None = None, clock: Any = time.time) -> Any:
    """A TrainerCallback that ends training by DEADLINE (a `clock()` time, epoch seconds by
    default). It times steps CALIBRATE_FROM..CALIBRATE_STEPS, then fixes the total and the
    cosine schedule (WARMUP steps of warm-up, as the trainer's own) for it.

    By default the steps are timed late in the warm-up (up to step 190): the very first
    steps are slow (the longest batch comes first, kernels warm up), and a re-plan inside
    the warm-up changes no step already run."""
    if calibrate_steps is None:
        calibrate_steps = max(6, min(190, warmup - 5))
    if calibrate_from is None:
        calibrate_from = max(1, calibrate_steps // 4)

    class StepBudget(trainer_callback_base()):  # type: ignore[misc]
        def __init__(self) -> None:
            self.planned: int | None = None
            self.seconds_per_step: float | None = None
            self.stopped_by: str | None = None
            self.marks: dict[int, float] = {}
            self.first: int | None = None  # the step this process started from (a resumed run's is > 0)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            step, now = state.global_step, clock()
            if self.first is None:
                self.first = step - 1
            # Steps are counted from where this process started, so that a resumed run is
            # timed and planned too; its re-plan then bends the schedule from there on.
            begin, end = self.first + calibrate_from, self.first + calibrate_steps
            if step in (begin, end):
                self.marks[step] = now
            if self.planned is None and step >= end and begin in self.marks:
                self.seconds_per_step = (now - self.marks[begin]) / max(1, step - begin)
                self.planned = plan_steps(step, self.seconds_per_step, deadline - now, upper=state.max_steps)
                self._replan(kw.get("lr_scheduler"))
            if self.planned is not None and step >= self.planned:
                control.should_training_stop, self.stopped_by = True, "plan"
            elif now >= deadline:
                control.should_training_stop, self.stopped_by = True, "deadline"

        def _replan(self, scheduler: Any) -> None:
            """Point the trainer's LambdaLR at a cosine over the planned steps, and set the
            learning rate of the next step from it (the trainer already stepped the old one)."""
            inner = getattr(scheduler, "scheduler", scheduler)  # accelerate wraps it
            if inner is None or not hasattr(inner, "lr_lambdas"):
                return
            total = self.planned

            def factor(s: int) -> float:
                return cosine_factor(s, warmup, total)

            inner.lr_lambdas = [factor] * len(inner.lr_lambdas)
            for group, base in zip(inner.optimizer.param_groups, inner.base_lrs):
                group["lr"] = base * factor(inner.last_epoch)

        def result(self) -> dict[str, Any]:
            return {"planned_steps": self.planned, "seconds_per_step": self.seconds_per_step,
                    "stopped_by": self.stopped_by, "deadline": deadline, "started_at_step": self.first}

    return StepBudget()
