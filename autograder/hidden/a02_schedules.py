"""Hidden tests of 02_schedules (run by the grader, outside the sandbox; see ../README.md)."""

import math

import numpy as np

from optreg.grading.checks import check, close, equal, grades
from optreg.schedules import OneCycle, suggest_learning_rate


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
        (2, 1.0, None, None),  # no annihilation steps: 2h == T
        (3, 0.4, 0.1, None),
        (25, 1.0, None, None),  # A = round(2.5) = 2 (halves to even)
        (15, 1.0, None, None),  # A = round(1.5) = 2
        (31, 0.3, None, None),  # floor(0.45 T) = 13, the book's h = 14
        (70, 1.0, 0.05, None),
    ]:
        book = OneCycle(total, max_lr, start, last)  # the book's reference implementation
        h = book.half_cycle_steps
        steps = {0, 1, h - 1, h, h + 1, 2 * h - 1, 2 * h, 2 * h + 1, total - 1, total, total + 1}
        for step in sorted(t for t in steps | {total * 3} if t >= 0):
            got = student.one_cycle(step, total, max_lr, start, last)
            close(
                got,
                book(step),
                f"one_cycle(step={step}, total_steps={total}, max_learning_rate={max_lr}, "
                f"initial_learning_rate={start}, final_learning_rate={last})",
                rtol=1e-9,
            )


def plateau_reference(losses, factor, patience, min_delta, cooldown, min_lr):
    """The state after each epoch, in Keras' order (see the assignment)."""
    lr, best, wait, cooling = 0.1, math.inf, 0, 0
    for loss in losses:
        if cooling > 0:
            cooling, wait = cooling - 1, 0
        if loss < best - min_delta:
            best, wait = loss, 0
        elif cooling == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, cooling, wait = max(lr * factor, min_lr), cooldown, 0
        yield {"lr": lr, "best": best, "wait": wait, "cooldown_counter": cooling}


@grades("test_plateau_step", points=2)
def test_plateau_step(student):
    cases = [
        ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.5, 2, 0.0, 0, 0.0),
        ([1.0, 0.99, 0.985, 0.98, 0.5, 0.6, 0.7, 0.8], 0.1, 3, 0.01, 0, 0.0),
        ([2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0], 0.2, 1, 0.0, 0, 0.003),
        ([5.0, 4.0, 3.0, 2.0, 1.0], 0.5, 1, 0.0, 0, 0.0),
        ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.5, 1, 1e-4, 3, 0.0),
        ([1.0, 0.99995, 0.9999, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9], 0.1, 2, 1e-4, 1, 1e-3),
        ([3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5], 0.1, 10, 1e-4, 0, 0.0),
    ]
    for losses, factor, patience, min_delta, cooldown, min_lr in cases:
        state = {"lr": 0.1, "best": math.inf, "wait": 0, "cooldown_counter": 0}
        reference = plateau_reference(losses, factor, patience, min_delta, cooldown, min_lr)
        for epoch, (loss, want) in enumerate(zip(losses, reference, strict=True)):
            given = dict(state)
            new = student.plateau_step(state, loss, factor, patience, min_delta, cooldown, min_lr)
            equal(state, given, "plateau_step must not modify the state it receives")
            check(
                isinstance(new, dict) and set(want) <= set(new),
                "plateau_step must return a dict with keys lr, best, wait, cooldown_counter, "
                f"got {new!r}"[:200],
            )
            what = (
                f"plateau_step after epoch {epoch + 1} of losses {losses} (factor={factor}, "
                f"patience={patience}, min_delta={min_delta}, cooldown={cooldown}, "
                f"min_lr={min_lr})"
            )
            close(new["lr"], want["lr"], what + ": lr", rtol=1e-12)
            close(new["best"], want["best"], what + ": best", rtol=0.0)
            equal(new["wait"], want["wait"], what + ": wait")
            equal(new["cooldown_counter"], want["cooldown_counter"], what + ": cooldown_counter")
            state = new


@grades("test_lr_range_suggestion", points=1)
def test_lr_range_suggestion(student):
    lrs = 10.0 ** (np.arange(12) / 2 - 6)
    inf, nan = math.inf, math.nan
    cases = [
        ([3.0, 2.0, 1.0, 0.5, 0.4, 0.6, 2.0, 9.0, inf, inf, inf, inf], 0.98),
        ([3.0, 2.0, 1.0, 0.5, 0.5, 0.6, 2.0, 9.0, 20.0, 30.0, 40.0, 50.0], 0.5),
        ([3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1, 2.0, 1.9], 0.98),
        ([1.0, 2.0, 3.0, nan, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 0.9),
        ([4.0, 3.0, inf, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01], 0.3),
        ([2.0, 1.0, 0.5, 0.2, 0.1, 0.3, 0.9, 3.0, 9.0, 27.0, 81.0, 243.0], 0.0),
        ([nan, 1.0, 0.5, 0.2, 0.1, 0.3, 0.9, 3.0, 9.0, 27.0, 81.0, 243.0], 0.98),
        ([inf] * 12, 0.98),  # no finite loss: the first rate / 10, as the book
    ]
    for losses, smoothing in cases:
        want = suggest_learning_rate(lrs, losses, smoothing)  # the book's reference
        got = student.lr_range_suggestion(lrs.copy(), np.array(losses), smoothing)
        close(
            got,
            want,
            f"lr_range_suggestion(smoothing={smoothing}) for losses {losses}",
            rtol=1e-12,
        )
