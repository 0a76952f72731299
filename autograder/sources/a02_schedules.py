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

    *The grader also checks:* other `lr0`, `s` and `c` (including `c` below 1), steps from 0 to
    far beyond `s`, to a relative precision of $10^{-9}$.
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

    *The grader also checks:* one, two and three boundaries (a boundary at step 0 included) and
    every step just before, at and just after each boundary; the value must be exactly the
    element of `values`.
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

    1cycle (Smith, 2018) warms up, then cools down, then anneals. This is the book's
    `optreg.schedules.OneCycle` (same arguments, same values at every step), without its
    momentum cycle. With $T$ = `total_steps` ($T \ge 2$),
    $\eta_0$ = `initial_learning_rate` (default `max_learning_rate / 10`),
    $\eta_{\text{final}}$ = `final_learning_rate` (default $\eta_0 / 1000$), the last 10% of
    the steps for the annihilation, $A = \operatorname{round}(0.1\, T)$ (Python's `round`, which
    rounds halves to even: `round(2.5) == 2`), and a half-cycle of $h = \lfloor (T - A) / 2 \rfloor$
    steps:

    * $0 \le t < h$: linear from $\eta_0$ (at $t = 0$) up to `max_learning_rate` (reached at
      $t = h$);
    * $h \le t < 2h$: linear from `max_learning_rate` back down to $\eta_0$ (reached at $t = 2h$);
    * $2h \le t < T$: linear from $\eta_0$ down to $\eta_{\text{final}}$ (reached at $t = T$);
    * $t \ge T$: $\eta_{\text{final}}$.

    With $T = 2$ the annihilation phase is empty ($h = 1$, $2h = T$): the rate goes from
    $\eta_0$ to the peak at step 1 and is $\eta_{\text{final}}$ from step 2 on; with these
    half-open intervals no division by zero can occur.

    *The grader also checks:* many `total_steps` (2, 3 and values where the rounding of $A$
    or of $h$ matters), given and default `initial_learning_rate` and `final_learning_rate`,
    and the steps around each of $h$, $2h$, $T$ and beyond $T$, to a relative precision of
    $10^{-9}$.
    """),
    solution(
        "one_cycle",
        """
    def one_cycle(step, total_steps, max_learning_rate, initial_learning_rate=None,
                  final_learning_rate=None):
        \"\"\"The 1cycle learning rate at this step (the book's OneCycle, see above).\"\"\"
        ### BEGIN SOLUTION
        eta0 = max_learning_rate / 10 if initial_learning_rate is None else initial_learning_rate
        final = eta0 / 1000 if final_learning_rate is None else final_learning_rate
        half = (total_steps - round(0.1 * total_steps)) // 2
        if step < half:
            return eta0 + (max_learning_rate - eta0) * step / half
        if step < 2 * half:
            return max_learning_rate - (max_learning_rate - eta0) * (step - half) / half
        if step < total_steps:
            return eta0 - (eta0 - final) * (step - 2 * half) / (total_steps - 2 * half)
        return final
        ### END SOLUTION
    """,
    ),
    tests(
        "test_one_cycle",
        """
    # tests: one_cycle with T = 100 (A = 10, h = 45), T = 25 (A = round(2.5) = 2, h = 11), T = 2
    assert math.isclose(one_cycle(0, 100, 1.0), 0.1), one_cycle(0, 100, 1.0)
    assert math.isclose(one_cycle(45, 100, 1.0), 1.0), one_cycle(45, 100, 1.0)
    assert math.isclose(one_cycle(90, 100, 1.0), 0.1), one_cycle(90, 100, 1.0)
    assert math.isclose(one_cycle(95, 100, 1.0), (0.1 + 1e-4) / 2), one_cycle(95, 100, 1.0)
    assert math.isclose(one_cycle(100, 100, 1.0), 1e-4), one_cycle(100, 100, 1.0)
    assert math.isclose(one_cycle(11, 25, 1.0), 1.0), one_cycle(11, 25, 1.0)
    assert math.isclose(one_cycle(22, 25, 1.0), 0.1), one_cycle(22, 25, 1.0)
    assert math.isclose(one_cycle(5, 25, 2.0, 0.5, 0.01), 0.5 + 1.5 * 5 / 11), one_cycle(5, 25, 2.0, 0.5, 0.01)
    assert [one_cycle(t, 2, 1.0) for t in range(4)] == [0.1, 1.0, 1e-4, 1e-4], [one_cycle(t, 2, 1.0) for t in range(4)]
    """,
    ),
    md(r"""
    ## 4. Performance scheduling: reduce on plateau (2 points)

    Keras' `ReduceLROnPlateau` (and the book's `optreg.schedules.ReduceLROnPlateau`) multiplies
    the rate by `factor` when the validation loss has not improved for `patience` epochs in a
    row. Write one epoch of that logic as a function of a state dictionary
    `{"lr": ..., "best": ..., "wait": ..., "cooldown_counter": ...}` (start with
    `best = math.inf`, `wait = 0`, `cooldown_counter = 0`), with Keras' defaults
    `factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0`, in Keras' order:

    1. if `cooldown_counter > 0` (in cooldown): `cooldown_counter -= 1` and `wait = 0`;
    2. the epoch **improves** if `val_loss < best - min_delta`: then `best = val_loss`,
       `wait = 0`;
    3. otherwise, only if not in cooldown (after step 1: `cooldown_counter == 0`): `wait += 1`,
       and when `wait >= patience` **and** `lr > min_lr`, the rate becomes
       `max(lr * factor, min_lr)`, `cooldown_counter = cooldown` and `wait = 0`. At `min_lr`
       nothing changes and `wait` keeps growing.

    Return a **new** dictionary (do not modify the one you receive). This differs from Keras
    in one way only: the state is passed in and returned instead of kept in a callback object.

    *The grader also checks:* long runs of epochs with other `factor`, `patience` (1 included),
    `min_delta` (0 included), `cooldown` and `min_lr` (a floor that is reached), every key of
    the state after every epoch, and that the state you receive is not modified.
    """),
    solution(
        "plateau_step",
        """
    def plateau_step(state, val_loss, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                     min_lr=0.0):
        \"\"\"One epoch of reduce-on-plateau; returns the new state dictionary.\"\"\"
        ### BEGIN SOLUTION
        lr, best, wait, cooling = state["lr"], state["best"], state["wait"], state["cooldown_counter"]
        if cooling > 0:
            cooling, wait = cooling - 1, 0
        if val_loss < best - min_delta:
            best, wait = val_loss, 0
        elif cooling == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, cooling, wait = max(lr * factor, min_lr), cooldown, 0
        return {"lr": lr, "best": best, "wait": wait, "cooldown_counter": cooling}
        ### END SOLUTION
    """,
    ),
    tests(
        "test_plateau_step",
        """
    # tests: plateau_step
    state = {"lr": 0.1, "best": math.inf, "wait": 0, "cooldown_counter": 0}
    history = []
    for loss in [1.0, 0.8, 0.9, 0.85, 0.7, 0.75]:   # min_delta=1e-4, cooldown=0 by default
        state = plateau_step(state, loss, factor=0.5, patience=2)
        history.append(dict(state))
    assert [h["lr"] for h in history] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05], f"lr: got {history}"
    assert [h["best"] for h in history] == [1.0, 0.8, 0.8, 0.8, 0.7, 0.7], f"best: got {history}"
    assert [h["wait"] for h in history] == [0, 0, 1, 0, 0, 1], f"wait: got {history}"
    # cooldown, min_lr and min_delta: 0.97 and 0.96 do not improve on 1.0 by more than 0.05
    state, history = {"lr": 0.1, "best": math.inf, "wait": 0, "cooldown_counter": 0}, []
    for loss in [1.0, 0.97, 0.96, 0.96, 0.96, 0.96]:
        given = dict(state)
        new = plateau_step(state, loss, factor=0.5, patience=1, min_delta=0.05, cooldown=2,
                           min_lr=0.03)
        assert state == given, "plateau_step modified the state it received: return a new dict"
        state = new
        history.append((state["lr"], state["wait"], state["cooldown_counter"]))
    assert [h[0] for h in history] == [0.1, 0.05, 0.05, 0.03, 0.03, 0.03], f"lr: got {history}"
    assert [h[1] for h in history] == [0, 0, 0, 0, 0, 1], f"wait: got {history}"
    assert [h[2] for h in history] == [0, 2, 1, 2, 1, 0], f"cooldown_counter: got {history}"
    """,
    ),
    md(r"""
    ## 5. Reading a learning-rate range test (1 point)

    A range test trains for a few hundred steps while the learning rate grows exponentially and
    records the loss at each rate. The loss first falls, reaches a minimum, then shoots up (and
    may become `inf` or `nan`). Single-batch losses are noisy, so, like the book's
    `optreg.schedules.suggest_learning_rate`, read the curve **smoothed** by a bias-corrected
    exponential moving average (Adam's $\hat m$, with $a_0 = 0$):

    $$a_i = \beta\, a_{i-1} + (1 - \beta)\,\ell_i,\qquad \bar\ell_i = a_i / (1 - \beta^{\,i})
    \qquad (i = 1, 2, \dots;\ \beta = \texttt{smoothing} = 0.98)$$

    A good learning rate is about **ten times smaller** than the rate at which the smoothed loss
    is lowest. Write `lr_range_suggestion(lrs, losses, smoothing=0.98)`: treat every smoothed
    value that is not finite as $+\infty$ (once a loss is `inf` or `nan`, every later smoothed
    value is too, so the steps after the divergence are ignored), find the **first** index of
    the minimum and return that rate divided by 10. If no smoothed loss is finite (the first
    loss already is not), that first index is 0: return `lrs[0] / 10`, as the book does.

    *The grader also checks:* other curves (a minimum reached twice, a loss that only falls,
    divergence to `inf` and to `nan`, low losses after a divergence, no finite loss at all) and
    other `smoothing`, against the book's `suggest_learning_rate`.
    """),
    solution(
        "lr_range_suggestion",
        """
    def lr_range_suggestion(lrs, losses, smoothing=0.98):
        \"\"\"A tenth of the learning rate at the minimum of the smoothed loss curve.\"\"\"
        ### BEGIN SOLUTION
        smoothed, average = [], 0.0
        for i, loss in enumerate(losses, 1):  # i = 1, 2, ... as in the equation
            average = smoothing * average + (1 - smoothing) * loss
            smoothed.append(average / (1 - smoothing ** i))
        smoothed = np.array(smoothed, dtype=float)
        smoothed = np.where(np.isfinite(smoothed), smoothed, np.inf)  # NaN never wins
        return lrs[int(np.argmin(smoothed))] / 10
        ### END SOLUTION
    """,
    ),
    tests(
        "test_lr_range_suggestion",
        """
    # tests: lr_range_suggestion
    lrs = np.geomspace(1e-5, 10, 7)   # 1e-5, 1e-4, ..., 10
    losses = [2.3, 2.2, 1.5, 0.9, 1.2, 5.0, 40.0]
    # smoothing 0.5: smoothed 2.3, 2.233, 1.814, 1.327, 1.261, 3.160, 21.7 (the raw minimum is at 0.9)
    got = lr_range_suggestion(lrs, losses, smoothing=0.5)
    assert math.isclose(got, 1e-2), f"expected 1e-2 (smoothed minimum at lr 1e-1), got {got}"
    got = lr_range_suggestion(lrs, losses)   # smoothing 0.98: the minimum is also at lr 1e-1
    assert math.isclose(got, 1e-2), f"expected 1e-2 with the default smoothing, got {got}"
    got = lr_range_suggestion(lrs, [3.0, 2.0, 1.0, math.inf, 0.1, 0.1, 0.1], smoothing=0.5)
    assert math.isclose(got, 1e-4), f"expected 1e-4 (nothing counts after the divergence), got {got}"
    got = lr_range_suggestion(lrs, [math.nan] * 7)
    assert math.isclose(got, 1e-6), f"no finite loss: expected lrs[0] / 10 = 1e-6, got {got}"
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
