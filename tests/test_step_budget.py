"""radphi.training.step_budget: a run fitted to a deadline gets the schedule of a run started with
that many steps, stops there, and stops at the deadline if the steps slow down."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from radphi.training.step_budget import cosine_factor, make_step_budget_callback, plan_steps


def test_plan_steps_fits_the_time_left_within_bounds():
    assert plan_steps(25, 0.5, 100.0, upper=10_000, margin=1.0) == 225
    assert plan_steps(25, 0.5, 100.0, upper=10_000) == 205  # 10% kept back for evals and saves
    assert plan_steps(25, 0.5, 100.0, upper=100) == 100
    assert plan_steps(25, 0.5, -5.0, upper=100) == 25  # already late: stop now
    assert plan_steps(25, 0.0, 100.0, upper=100) == 100


def test_cosine_factor_is_transformers_cosine_with_warmup():
    torch = pytest.importorskip("torch")
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=10, num_training_steps=90)
    for step in (0, 3, 10, 11, 50, 89, 90):
        assert cosine_factor(step, 10, 90) == pytest.approx(sched.lr_lambdas[0](step), abs=1e-12)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drive(callback, clock: Clock, sched, opt, *, seconds_per_step, max_steps=10_000, slow_after=None, start=0):
    """The order of transformers' Trainer: optimizer step, scheduler step, on_step_end."""
    state = SimpleNamespace(global_step=start, max_steps=max_steps)
    control = SimpleNamespace(should_training_stop=False)
    lrs = []
    while not control.should_training_stop and state.global_step < max_steps:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        state.global_step += 1
        slow = slow_after is not None and state.global_step > slow_after
        clock.now += seconds_per_step * (10 if slow else 1)
        callback.on_step_end(None, state, control, lr_scheduler=sched, optimizer=opt)
    return state.global_step, lrs


def budgeted_run():
    """A fake clock, a budget callback (deadline 100 s on, 30 warm-up steps, timed over steps
    5-25), and an SGD optimizer at lr 1e-3 with the trainer's 10,000-step cosine schedule."""
    torch = pytest.importorskip("torch")
    from transformers import get_cosine_schedule_with_warmup

    clock = Clock()
    cb = make_step_budget_callback(clock.now + 100.0, warmup=30, calibrate_steps=25, clock=clock)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    return clock, cb, opt, get_cosine_schedule_with_warmup(opt, num_warmup_steps=30, num_training_steps=10_000)


def test_the_run_stops_at_the_plan_with_the_schedule_of_that_many_steps():
    clock, cb, opt, sched = budgeted_run()
    steps, lrs = drive(cb, clock, sched, opt, seconds_per_step=0.5)
    result = cb.result()
    assert result["planned_steps"] == steps == 25 + int(87.5 * 0.9 / 0.5)
    assert result["stopped_by"] == "plan" and result["seconds_per_step"] == pytest.approx(0.5)
    # Every step ran at the rate a fresh cosine over `steps` steps would have given it.
    expected = [1e-3 * cosine_factor(s, 30, steps) for s in range(steps)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    assert lrs[-1] < 1e-6 < max(lrs) == pytest.approx(1e-3, rel=1e-2)


def test_a_run_that_slows_down_stops_at_the_deadline():
    clock, cb, opt, sched = budgeted_run()
    steps, _ = drive(cb, clock, sched, opt, seconds_per_step=0.5, slow_after=60)
    assert cb.result()["stopped_by"] == "deadline"
    assert steps < cb.result()["planned_steps"] and 1100.0 <= clock.now < 1106.0


def test_a_resumed_run_is_timed_and_planned_from_where_it_starts():
    clock, cb, opt, sched = budgeted_run()
    opt.step()
    for _ in range(1000):
        sched.step()
    steps, lrs = drive(cb, clock, sched, opt, seconds_per_step=0.5, start=1000)
    result = cb.result()
    assert result["started_at_step"] == 1000 and result["stopped_by"] == "plan"
    assert steps == result["planned_steps"] == 1025 + int(87.5 * 0.9 / 0.5)
    assert lrs[-1] < 1e-6 and clock.now <= 1100.0


def test_a_diverged_loss_stops_training():
    from radphi.training.sft_model import make_finite_loss_callback

    cb = make_finite_loss_callback()
    control = SimpleNamespace(should_training_stop=False)
    cb.on_log(None, SimpleNamespace(global_step=5), control, logs={"loss": 1.2, "grad_norm": 0.7})
    assert cb.diverged_at is None and not control.should_training_stop
    # transformers' logging_nan_inf_filter logs the loss of a diverged step as a number; the norm tells.
    cb.on_log(None, SimpleNamespace(global_step=10), control, logs={"loss": 0.0, "grad_norm": float("nan")})
    cb.on_log(None, SimpleNamespace(global_step=15), control, logs={"loss": float("inf")})
    assert cb.diverged_at == 10 and control.should_training_stop


def test_sft_with_a_deadline_records_the_steps_it_fitted(tmp_path: Path):
    pytest.importorskip("trl")
    from tests.fixtures.tiny_base import build_plain_tiny_phi
    from tests.fixtures.train_config import QA_SOURCE, write_config
    from radphi.training.sft import load_config, main

    base = build_plain_tiny_phi(tmp_path / "base")
    config = load_config(write_config(tmp_path / "c.toml", model=str(base), output_dir=str(tmp_path / "o"),
                                      finetune="full", sources=[QA_SOURCE], max_steps=100_000, warmup=12,
                                      lr_scheduler="cosine", save_steps=100_000, eval_steps=100_000),
                         [f"deadline={time.time() + 25}"])
    t0 = time.time()
    summary = main(config)
    budget = summary["step_budget"]
    assert 11 <= budget["planned_steps"] < 100_000 and time.time() - t0 < 60
    # On a busy machine the later steps can slow down, and the deadline stops the run first.
    assert (budget["stopped_by"], summary["global_step"]) == ("plan", budget["planned_steps"]) or \
        (budget["stopped_by"] == "deadline" and summary["global_step"] < budget["planned_steps"])
    assert (tmp_path / "o" / "final" / "config.json").is_file()
