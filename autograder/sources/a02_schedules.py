"""02_schedules: learning-rate schedules as functions of the step, plateau logic, LR range test."""

from nbsrc import code, locked, md, solution, tests, written

NAME = "02_schedules"

CELLS = [
    md("""
    # Assignment 2 — Learning-rate schedules

    A schedule is a function `schedule(step) -> learning rate`, where `step` counts the updates
    done so far (the first update uses `step = 0`). In this assignment you write the classic
    schedules as plain Python/NumPy functions of the step, the logic of "reduce the rate when the
    validation loss stops improving", and the rule of thumb for reading a learning-rate range
    test.

    Return Python floats (or NumPy scalars). Do not use any deep learning library or `optreg`.
    The grader runs more tests than the visible ones: other steps, other hyper-parameters, and the
    steps right at each boundary.
    """),
    locked(
        "imports",
        """
    import math

    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Power and exponential scheduling (1 point each)

    * power: $\eta(t) = \eta_0 \,/\, (1 + t/s)^c$ — drops fast, then more and more slowly;
    * exponential: $\eta(t) = \eta_0 \cdot 0.1^{\,t/s}$ — divided by 10 every $s$ steps.
    """),
    solution(
        "power_exponential",
        """
    def power_schedule(step, lr0, s, c=1.0):
        \"\"\"Learning rate lr0 / (1 + step / s) ** c.\"\"\"
        ### BEGIN SOLUTION
        return lr0 / (1 + step / s) ** c
        ### END SOLUTION


    def exponential_schedule(step, lr0, s):
        \"\"\"Learning rate lr0 * 0.1 ** (step / s).\"\"\"
        ### BEGIN SOLUTION
        return lr0 * 0.1 ** (step / s)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_power_schedule",
        """
    # tests: power_schedule
    assert math.isclose(power_schedule(0, 0.01, 100), 0.01)
    assert math.isclose(power_schedule(100, 0.01, 100), 0.005), power_schedule(100, 0.01, 100)
    assert math.isclose(power_schedule(300, 0.01, 100, c=2), 0.01 / 16)
    """,
    ),
    tests(
        "test_exponential_schedule",
        """
    # tests: exponential_schedule
    assert math.isclose(exponential_schedule(0, 0.01, 20), 0.01)
    assert math.isclose(exponential_schedule(20, 0.01, 20), 0.001)
    assert math.isclose(exponential_schedule(10, 0.01, 20), 0.01 * 0.1 ** 0.5)
    """,
    ),
    md(r"""
    ## 2. Piecewise-constant scheduling (2 points)

    `boundaries` is an increasing list of steps $b_0 < b_1 < \dots$ and `values` has one more
    element. As in Keras' `PiecewiseConstantDecay`, the rate is `values[0]` while
    `step <= boundaries[0]`, `values[1]` while `boundaries[0] < step <= boundaries[1]`, ..., and
    `values[-1]` after the last boundary. Mind the `<=`: the rate changes on the step *after*
    a boundary.
    """),
    solution(
        "piecewise_constant",
        """
    def piecewise_constant(step, boundaries, values):
        \"\"\"values[i] for boundaries[i-1] < step <= boundaries[i] (Keras' convention).\"\"\"
        ### BEGIN SOLUTION
        for boundary, value in zip(boundaries, values):
            if step <= boundary:
                return value
        return values[-1]
        ### END SOLUTION
    """,
    ),
    tests(
        "test_piecewise_constant",
        """
    # tests: piecewise_constant
    b, v = [5, 15], [0.1, 0.01, 0.001]
    got = [piecewise_constant(step, b, v) for step in [0, 5, 6, 15, 16, 100]]
    assert got == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], f"got {got}"
    """,
    ),
    md(r"""
    ## 3. 1cycle scheduling (3 points)

    1cycle (Smith, 2018) warms up, then cools down, then anneals. With $T$ = `total_steps`,
    $h = \lfloor 0.45\, T \rfloor$ steps per half-cycle, $\eta_{\text{start}}$ = `start_lr`
    (default `max_lr / 10`) and $\eta_{\text{last}}$ = `last_lr` (default
    $\eta_{\text{start}} / 1000$):

    * $0 \le t \le h$: linear from $\eta_{\text{start}}$ (at $t=0$) up to `max_lr` (at $t=h$);
    * $h < t \le 2h$: linear from `max_lr` back down to $\eta_{\text{start}}$ (at $t = 2h$);
    * $2h < t \le T$: linear from $\eta_{\text{start}}$ down to $\eta_{\text{last}}$ (at $t = T$);
    * $t > T$: $\eta_{\text{last}}$.
    """),
    solution(
        "one_cycle",
        """
    def one_cycle(step, total_steps, max_lr, start_lr=None, last_lr=None):
        \"\"\"The 1cycle learning rate at this step (see the formulas above).\"\"\"
        ### BEGIN SOLUTION
        start_lr = max_lr / 10 if start_lr is None else start_lr
        last_lr = start_lr / 1000 if last_lr is None else last_lr
        half = int(0.45 * total_steps)
        if step <= half:
            return start_lr + (max_lr - start_lr) * step / half
        if step <= 2 * half:
            return max_lr - (max_lr - start_lr) * (step - half) / half
        if step <= total_steps:
            return start_lr - (start_lr - last_lr) * (step - 2 * half) / (total_steps - 2 * half)
        return last_lr
        ### END SOLUTION
    """,
    ),
    tests(
        "test_one_cycle",
        """
    # tests: one_cycle with T = 100 (h = 45)
    assert math.isclose(one_cycle(0, 100, 1.0), 0.1)
    assert math.isclose(one_cycle(45, 100, 1.0), 1.0)
    assert math.isclose(one_cycle(90, 100, 1.0), 0.1)
    assert math.isclose(one_cycle(100, 100, 1.0), 1e-4)
    """,
    ),
    md(r"""
    ## 4. Performance scheduling: reduce on plateau (2 points)

    Keras' `ReduceLROnPlateau` multiplies the rate by `factor` when the validation loss has not
    improved for `patience` epochs in a row. Write one epoch of that logic as a pure function of
    a state dictionary `{"lr": ..., "best": ..., "wait": ...}` (start with
    `best = math.inf`, `wait = 0`):

    * the epoch **improves** if `val_loss < best - min_delta`: then `best = val_loss`, `wait = 0`;
    * otherwise `wait += 1`, and when `wait` reaches `patience` the rate becomes
      `max(lr * factor, min_lr)` and `wait` goes back to 0.

    Return a **new** dictionary (do not modify the one you receive).
    """),
    solution(
        "plateau_step",
        """
    def plateau_step(state, val_loss, factor=0.5, patience=2, min_delta=0.0, min_lr=0.0):
        \"\"\"One epoch of reduce-on-plateau; returns the new state dictionary.\"\"\"
        ### BEGIN SOLUTION
        lr, best, wait = state["lr"], state["best"], state["wait"]
        if val_loss < best - min_delta:
            return {"lr": lr, "best": val_loss, "wait": 0}
        wait += 1
        if wait >= patience:
            lr, wait = max(lr * factor, min_lr), 0
        return {"lr": lr, "best": best, "wait": wait}
        ### END SOLUTION
    """,
    ),
    tests(
        "test_plateau_step",
        """
    # tests: plateau_step
    state = {"lr": 0.1, "best": math.inf, "wait": 0}
    lrs = []
    for loss in [1.0, 0.8, 0.9, 0.85, 0.7, 0.75]:
        state = plateau_step(state, loss, factor=0.5, patience=2)
        lrs.append(state["lr"])
    assert lrs == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05], f"got {lrs}"
    """,
    ),
    md(r"""
    ## 5. Reading a learning-rate range test (1 point)

    A range test trains for a few hundred steps while the learning rate grows exponentially and
    records the loss at each rate. The loss first falls, reaches a minimum, then shoots up (and
    may become `inf` or `nan`). A good learning rate is about **ten times smaller** than the
    rate at which the loss was lowest.

    Write `lr_range_suggestion(lrs, losses)`: ignore everything from the first non-finite loss
    on, find the **first** index where the remaining losses reach their minimum, and return that
    rate divided by 10.
    """),
    solution(
        "lr_range_suggestion",
        """
    def lr_range_suggestion(lrs, losses):
        \"\"\"A tenth of the learning rate with the lowest loss before divergence.\"\"\"
        ### BEGIN SOLUTION
        losses = np.asarray(losses, dtype=float)
        finite = np.isfinite(losses)
        end = len(losses) if finite.all() else int(np.argmin(finite))
        best = int(np.argmin(losses[:end]))
        return lrs[best] / 10
        ### END SOLUTION
    """,
    ),
    tests(
        "test_lr_range_suggestion",
        """
    # tests: lr_range_suggestion
    lrs = np.geomspace(1e-5, 10, 7)   # 1e-5, 1e-4, ..., 10
    assert math.isclose(lr_range_suggestion(lrs, [2.3, 2.2, 1.5, 0.9, 1.2, 5.0, 40.0]), 1e-3)
    """,
    ),
    written(
        "explain_range_test",
        r"""
    ### In your own words (2 points, graded by hand)

    Explain why the suggestion is a learning rate about **ten times smaller** than the one at
    the lowest loss, rather than that rate itself, and why one looks at a *smoothed* loss curve
    (as the book does) rather than at the raw losses of single batches. (Three to five
    sentences.)
    """,
        r"""
    During a range test the rate grows at every step, so the loss at a given step reflects the
    rates of the steps just before it; at the minimum the rate is already at the edge of
    instability, where the loss is about to shoot up. Training for many epochs at that rate
    would oscillate or diverge, so one backs off by about an order of magnitude, into the region
    where the loss was still falling fast. The raw per-batch losses are noisy (each batch is a
    different sample), so their minimum may be an outlier batch; an exponentially smoothed curve
    shows the trend, and its minimum is a much more reliable landmark.
    """,
    ),
    md("""
    ## 6. Look at them

    The cell below (not graded) prints your schedules every 100 steps over 1000 steps. Compare
    how quickly each one gives up on large steps, and plot them if you like.
    """),
    code("""
    schedules = {
        "power (s=100)": lambda t: power_schedule(t, 0.01, 100),
        "exponential (s=500)": lambda t: exponential_schedule(t, 0.01, 500),
        "piecewise": lambda t: piecewise_constant(t, [300, 700], [0.01, 0.005, 0.001]),
        "1cycle": lambda t: one_cycle(t, 1000, 0.01),
    }
    print("step   " + "".join(f"{label:>21}" for label in schedules))
    for t in range(0, 1001, 100):
        print(f"{t:>4}   " + "".join(f"{fn(t):>21.6f}" for fn in schedules.values()))
    """),
]
