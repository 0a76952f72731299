"""Named mistakes of 02_schedules (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared.
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe


def _range_test(seed, n, diverge_at):
    """Learning rates growing geometrically, losses falling then exploding (inf, nan)."""
    rng = np.random.default_rng(seed)
    lrs = [float(v) for v in np.geomspace(1e-5, 1.0, n)]
    losses = list(np.linspace(2.5, 0.8, n) + rng.uniform(0, 0.05, n))
    losses[diverge_at] = 0.01  # a spike down just as it diverges
    losses[diverge_at + 1 :] = [float("inf")] + [float("nan")] * (n - diverge_at - 2)
    return lrs, [float(v) for v in losses]


def _state(best, wait, cooldown_counter=0):
    return {"lr": 0.1, "best": best, "wait": wait, "cooldown_counter": cooldown_counter}


PROBES = {
    "power_schedule": lambda: [probe(step, 0.1, 20.0, 2.0) for step in (0, 7, 40, 200)],
    "exponential_schedule": lambda: [probe(step, 0.05, 30.0) for step in (0, 10, 45, 300)],
    "piecewise_constant": lambda: [
        probe(step, [10, 20], [1.0, 0.5, 0.1]) for step in (0, 10, 11, 20, 21, 50)
    ],
    "one_cycle": lambda: [
        probe(step, total, 0.2) for total in (30, 100) for step in (0, 7, 13, 15, 27, 29, 30, 95)
    ],
    "plateau_step": lambda: [
        probe(_state(1.0, wait), loss, 0.5, patience, min_delta, cooldown)
        for wait, loss, patience, min_delta, cooldown in [
            (0, 1.2, 2, 1e-4, 0),
            (1, 1.2, 2, 1e-4, 0),
            (2, 1.1, 3, 1e-4, 2),
            (1, 0.97, 2, 0.05, 0),  # better, but not by min_delta
            (0, 0.7, 2, 1e-4, 0),
        ]
    ],
    "lr_range_suggestion": lambda: [
        probe(*_range_test(1, 12, 8)),
        probe(*_range_test(2, 9, 5), 0.7),
        probe(*_range_test(3, 30, 24), 0.9),
        probe(  # one lucky batch early on: the raw minimum is noise
            [float(v) for v in np.geomspace(1e-4, 1.0, 13)],
            [2.0, 0.4, 1.9, 1.7, 1.5, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7, 3.0, float("inf")],
            0.5,
        ),
    ],
}

MISTAKES = [
    Mistake(
        "power_without_exponent",
        function="power_schedule",
        title="the exponent c is ignored",
        edits=[
            ("power_exponential", "return lr0 / (1 + step / s) ** c", "return lr0 / (1 + step / s)")
        ],
        explanation="Your power schedule always decays like 1 / (1 + step / s): the power c "
        "that controls how fast it decays is missing.",
        check="that c is used, and try c = 2 by hand for one step.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "exponential_off_by_one",
        function="exponential_schedule",
        title="the decay starts one step early",
        edits=[
            (
                "power_exponential",
                "return lr0 * 0.1 ** (step / s)",
                "return lr0 * 0.1 ** ((step + 1) / s)",
            )
        ],
        explanation="Your schedule is already decayed at step 0. Steps count from 0, and at "
        "step 0 every schedule must give the initial learning rate lr0.",
        check="the value at step 0.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "exponential_natural_base",
        function="exponential_schedule",
        title="decay by a factor e instead of 10 every s steps",
        edits=[
            (
                "power_exponential",
                "return lr0 * 0.1 ** (step / s)",
                "return lr0 * np.exp(-step / s)",
            )
        ],
        explanation="Your learning rate falls by a factor e every s steps; the schedule of the "
        "exercise falls by a factor 10 every s steps.",
        check="the value after exactly s steps: it must be a tenth of lr0.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "piecewise_strict_boundary",
        function="piecewise_constant",
        title="a boundary step gets the next value",
        edits=[("piecewise_constant", "step <= boundary", "step < boundary")],
        explanation="At a step equal to a boundary you switch to the next value already. With "
        "Keras' convention value i holds for boundaries[i-1] < step <= boundaries[i], so the "
        "boundary step still belongs to the earlier piece.",
        check="the value at a step exactly equal to a boundary.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "one_cycle_half_cycle",
        function="one_cycle",
        title="the warm-up and cool-down each take half of the run",
        edits=[
            (
                "one_cycle",
                "half = (total_steps - round(0.1 * total_steps)) // 2",
                "half = total_steps // 2",
            )
        ],
        explanation="Your two phases cover the whole run, so there is no final annihilation "
        "phase. In 1cycle the two phases share about 90% of the steps and the last 10% bring "
        "the rate far below the start.",
        check="the length of each phase, and the value in the last 10% of the steps.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "one_cycle_no_annihilation",
        function="one_cycle",
        title="the last phase stays at the initial rate",
        edits=[
            (
                "one_cycle",
                "return eta0 - (eta0 - final) * (step - 2 * half) / (total_steps - 2 * half)",
                "return eta0",
            )
        ],
        explanation="After the cool-down your rate stays at the initial learning rate. In the "
        "last phase 1cycle keeps decreasing it, linearly, down to the final learning rate (a "
        "thousandth of the initial one by default).",
        check="the value a few steps before the end of the run.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "plateau_late",
        function="plateau_step",
        title="the learning rate is reduced one epoch late",
        edits=[("plateau_step", "wait >= patience", "wait > patience")],
        explanation="You reduce the rate only after patience + 1 epochs without improvement. "
        "The rate must drop as soon as the number of epochs without improvement reaches "
        "patience.",
        check="the comparison of the counter with patience.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "plateau_counter_not_reset",
        function="plateau_step",
        title="the counter is not reset after a reduction",
        edits=[
            (
                "plateau_step",
                "lr, cooling, wait = max(lr * factor, min_lr), cooldown, 0",
                "lr, cooling = max(lr * factor, min_lr), cooldown",
            )
        ],
        explanation="After reducing the rate your counter keeps counting, so the rate is cut "
        "again at every following epoch. A reduction starts a new waiting period.",
        check="the value of wait that you return in the epoch where the rate is reduced.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "plateau_ignores_min_delta",
        function="plateau_step",
        title="any decrease counts as an improvement",
        edits=[("plateau_step", "val_loss < best - min_delta", "val_loss < best")],
        explanation="You count every decrease of the loss as an improvement. An epoch only "
        "improves when the loss falls below the best one by more than min_delta; smaller gains "
        "count as a plateau.",
        check="a loss that is lower than best, but by less than min_delta.",
        section="02_schedules#the-schedules",
    ),
    Mistake(
        "range_test_raw_losses",
        function="lr_range_suggestion",
        title="the raw losses instead of the smoothed curve",
        edits=[
            (
                "lr_range_suggestion",
                "smoothed.append(average / (1 - smoothing ** i))",
                "smoothed.append(loss)",
            )
        ],
        explanation="You take the minimum of the raw per-batch losses. They are noisy (and a "
        "spike down just before divergence is common); the range test reads the minimum of the "
        "smoothed, bias-corrected curve.",
        check="that you compute the exponential average and take its minimum.",
        section="02_schedules#finding-a-good-learning-rate-the-range-test",
    ),
    Mistake(
        "range_test_no_bias_correction",
        function="lr_range_suggestion",
        title="the smoothed curve without bias correction",
        edits=[
            ("lr_range_suggestion", "average / (1 - smoothing ** i)", "average"),
        ],
        explanation="Your exponential average starts at 0, so the first values of the smoothed "
        "curve are far too small and its minimum lands at the first steps. Divide the average "
        "by 1 - smoothing to the power i, as in Adam's bias correction.",
        check="the smoothed value after the first loss: it must equal that loss.",
        section="02_schedules#finding-a-good-learning-rate-the-range-test",
    ),
    Mistake(
        "range_test_no_tenth",
        function="lr_range_suggestion",
        title="the rate at the lowest loss, not a tenth of it",
        edits=[
            (
                "lr_range_suggestion",
                "return lrs[int(np.argmin(smoothed))] / 10",
                "return lrs[int(np.argmin(smoothed))]",
            )
        ],
        explanation="You return the learning rate where the loss was lowest. At that rate "
        "training is already at the edge of diverging; the rule suggests a rate ten times "
        "smaller.",
        check="the factor between the rate at the lowest loss and what you return.",
        section="02_schedules#finding-a-good-learning-rate-the-range-test",
    ),
]
