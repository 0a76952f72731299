"""Hidden tests of 02_schedules (run by the grader, outside the sandbox; see ../README.md)."""

import math

import numpy as np

from optreg.grading.checks import check, close, equal, grades


@grades("test_power_schedule", points=1)
def test_power_schedule(student):
    for lr0, s, c in [(0.1, 10, 1.0), (0.02, 250, 0.5), (1.0, 3, 2.0)]:
        for step in [0, 1, 2, 9, 10, 11, 57, 1000]:
            close(
                student.power_schedule(step, lr0, s, c),
                lr0 / (1 + step / s) ** c,
                f"power_schedule(step={step}, lr0={lr0}, s={s}, c={c})",
                rtol=1e-9,
            )


@grades("test_exponential_schedule", points=1)
def test_exponential_schedule(student):
    for lr0, s in [(0.1, 10), (0.003, 7), (2.0, 1000)]:
        for step in [0, 1, 6, 7, 10, 33, 999, 1000, 2500]:
            close(
                student.exponential_schedule(step, lr0, s),
                lr0 * 0.1 ** (step / s),
                f"exponential_schedule(step={step}, lr0={lr0}, s={s})",
                rtol=1e-9,
            )


@grades("test_piecewise_constant", points=2)
def test_piecewise_constant(student):
    for boundaries, values in [
        ([0], [1.0, 2.0]),
        ([3, 4, 10], [0.4, 0.3, 0.2, 0.1]),
        ([100], [0.5, 0.05]),
    ]:
        for step in [0, 1, 2, 3, 4, 5, 9, 10, 11, 99, 100, 101, 5000]:
            index = int(np.searchsorted(boundaries, step, side="left"))  # first b with step <= b
            got = student.piecewise_constant(step, boundaries, values)
            close(
                got,
                values[index],
                f"piecewise_constant(step={step}, boundaries={boundaries}, values={values})",
                rtol=0.0,
                atol=0.0,
            )


@grades("test_one_cycle", points=3)
def test_one_cycle(student):
    for total, max_lr, start, last in [
        (100, 1.0, None, None),
        (21, 0.5, 0.01, 0.001),
        (1000, 0.02, None, 1e-6),
        (7, 3.0, 1.0, 0.5),
        (30, 0.3, None, None),
        (70, 1.0, 0.05, None),
    ]:
        # 0.45 * 30 = 13.5 and 0.45 * 70 = 31.5: h is rounded down, not to the nearest
        s = max_lr / 10 if start is None else start
        e = s / 1000 if last is None else last
        h = (total * 45) // 100
        for step in [
            0,
            1,
            h - 1,
            h,
            h + 1,
            2 * h - 1,
            2 * h,
            2 * h + 1,
            total - 1,
            total,
            total + 1,
            total * 3,
        ]:
            want = np.interp(step, [0, h, 2 * h, total], [s, max_lr, s, e])
            got = student.one_cycle(step, total, max_lr, start, last)
            close(
                got,
                want,
                f"one_cycle(step={step}, total_steps={total}, max_lr={max_lr}, "
                f"start_lr={start}, last_lr={last})",
                rtol=1e-9,
            )


@grades("test_plateau_step", points=2)
def test_plateau_step(student):
    cases = [
        ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.5, 2, 0.0, 0.0),
        ([1.0, 0.99, 0.985, 0.98, 0.5, 0.6, 0.7, 0.8], 0.1, 3, 0.01, 0.0),
        ([2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0], 0.2, 1, 0.0, 0.003),
        ([5.0, 4.0, 3.0, 2.0, 1.0], 0.5, 1, 0.0, 0.0),
    ]
    for losses, factor, patience, min_delta, min_lr in cases:
        lr, best, wait = 0.1, math.inf, 0
        state = {"lr": 0.1, "best": math.inf, "wait": 0}
        for epoch, loss in enumerate(losses):
            given = dict(state)
            new = student.plateau_step(state, loss, factor, patience, min_delta, min_lr)
            equal(state, given, "plateau_step must not modify the state it receives")
            check(
                isinstance(new, dict) and {"lr", "best", "wait"} <= set(new),
                f"plateau_step must return a dict with keys lr, best, wait, got {new!r}"[:200],
            )
            if loss < best - min_delta:
                best, wait = loss, 0
            else:
                wait += 1
                if wait >= patience:
                    lr, wait = max(lr * factor, min_lr), 0
            what = (
                f"plateau_step after epoch {epoch + 1} of losses {losses} (factor={factor}, "
                f"patience={patience}, min_delta={min_delta}, min_lr={min_lr})"
            )
            close(new["lr"], lr, what + ": lr", rtol=1e-12)
            close(new["best"], best, what + ": best", rtol=0.0)
            equal(new["wait"], wait, what + ": wait")
            state = new


@grades("test_lr_range_suggestion", points=1)
def test_lr_range_suggestion(student):
    lrs = 10.0 ** (np.arange(12) / 2 - 6)
    inf, nan = math.inf, math.nan
    cases = [
        [3.0, 2.0, 1.0, 0.5, 0.4, 0.6, 2.0, 9.0, inf, inf, inf, inf],
        [3.0, 2.0, 1.0, 0.5, 0.5, 0.6, 2.0, 9.0, 20.0, 30.0, 40.0, 50.0],
        [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1, 2.0, 1.9],
        [1.0, 2.0, 3.0, nan, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
        [4.0, 3.0, inf, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
    ]
    for losses in cases:
        finite = np.isfinite(losses)
        end = len(losses) if finite.all() else int(np.argmin(finite))
        best = int(np.argmin(losses[:end]))  # the first minimum
        got = student.lr_range_suggestion(lrs.copy(), np.array(losses))
        close(got, lrs[best] / 10, f"lr_range_suggestion for losses {losses}", rtol=1e-12)
