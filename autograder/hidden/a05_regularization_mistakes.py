"""Named mistakes of 05_regularization (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared.
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe


def uniform(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


PROBES = {
    "l2_penalty": lambda: [probe(uniform(1, (3, 2)), 0.1), probe(uniform(2, (4,)), 0.01)],
    "l2_gradient": lambda: [probe(uniform(3, (3, 2)), 0.1), probe(uniform(4, (4,)), 0.01)],
    "dropout_forward": lambda: [
        probe(uniform(5, (4, 6)), rate, np.random.default_rng(seed), training)
        for seed, rate, training in [(6, 0.25, True), (7, 0.5, True), (8, 0.4, False)]
    ],
    "dropout_backward": lambda: [
        probe(uniform(9, (3, 4)), (uniform(10, (3, 4)) > 0).astype(float), 0.3),
    ],
    "max_norm": lambda: [
        probe(uniform(11, (3, 4), -3.0, 3.0), 1.5, 0),
        probe(uniform(12, (3, 4), -3.0, 3.0), 1.5, 1),
    ],
    "clip_by_value": lambda: [probe(uniform(13, (2, 5), -3.0, 3.0), 1.0)],
    "clip_by_norm": lambda: [
        probe(uniform(14, (2, 3), -3.0, 3.0), 1.0),
        probe(uniform(15, (4,), -0.1, 0.1), 1.0),
    ],
    "clip_by_global_norm": lambda: [
        probe([uniform(16, (2, 2), -2.0, 2.0), uniform(17, (3,), -0.2, 0.2)], 1.0),
        probe([uniform(18, (3,), -0.1, 0.1), uniform(19, (2,), -0.1, 0.1)], 5.0),
    ],
    "early_stopping": lambda: [
        probe([1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77], 2),
        probe([1.0, 0.9, 0.95, 0.96, 0.97, 0.98], 3),
        probe([0.5, 0.6, 0.4, 0.3, 0.35], 1),
        probe([float("inf"), 0.9, 0.95, 0.97], 2),  # a first epoch that does not improve
    ],
}

MISTAKES = [
    Mistake(
        "l2_penalty_half",
        function="l2_penalty",
        title="the penalty has an extra factor 1/2",
        edits=[("penalties", "return l2 * np.sum(w * w)", "return 0.5 * l2 * np.sum(w * w)")],
        explanation="Your penalty is half of Keras' L2 regularizer: some textbooks write "
        "lambda/2 times the squared norm, but here (as in Keras) it is l2 times the sum of the "
        "squared weights.",
        check="the penalty of a single weight w = 1 with l2 = 0.1: it should be 0.1.",
        section="05_regularization#l1-l2-and-elastic-net-penalties",
    ),
    Mistake(
        "l2_gradient_missing_factor_2",
        function="l2_gradient",
        title="the factor 2 of the derivative is missing",
        edits=[("penalties", "return 2 * l2 * w", "return l2 * w")],
        explanation="Your gradient is half of the derivative of l2 times the sum of squared "
        "weights: the derivative of w squared is 2 w.",
        check="the gradient against a finite difference of your own l2_penalty.",
        section="05_regularization#l1-l2-and-elastic-net-penalties",
    ),
    Mistake(
        "dropout_without_rescaling",
        function="dropout_forward",
        title="dropout without rescaling (not inverted)",
        edits=[("dropout", "x * mask / (1 - rate), mask", "x * mask, mask")],
        explanation="You zero the dropped units but do not scale up the kept ones, so in "
        "training the layer's output is on average (1 - rate) times smaller than at inference. "
        "Inverted dropout divides the kept values by 1 - rate.",
        check="the mean of your output against the mean of x, in training mode.",
        section="05_regularization#dropout",
    ),
    Mistake(
        "dropout_at_inference",
        function="dropout_forward",
        title="units are dropped at inference too",
        edits=[("dropout", "if not training or rate == 0:", "if rate == 0:")],
        explanation="You drop units even when training is False. At inference dropout does "
        "nothing: the output is the input, and the mask keeps everything.",
        check="what you return when training is False.",
        section="05_regularization#dropout",
    ),
    Mistake(
        "dropout_keeps_with_probability_rate",
        function="dropout_forward",
        title="units kept with probability rate instead of dropped",
        edits=[("dropout", "rng.random(x.shape) >= rate", "rng.random(x.shape) < rate")],
        explanation="Your mask keeps a unit with probability rate. In Keras rate is the "
        "fraction of units that are dropped, so each unit is kept with probability 1 - rate.",
        check="the fraction of ones in your mask for rate = 0.25.",
        section="05_regularization#dropout",
    ),
    Mistake(
        "dropout_backward_without_rescaling",
        function="dropout_backward",
        title="the backward pass forgets the scaling",
        edits=[("dropout", "return dy * mask / (1 - rate)", "return dy * mask")],
        explanation="The forward pass multiplies the kept units by 1 / (1 - rate), so the "
        "gradient flowing back through them is scaled by the same factor; yours only masks it.",
        check="the derivative of the forward pass's output with respect to a kept input.",
        section="05_regularization#dropout",
    ),
    Mistake(
        "max_norm_ignores_axis",
        function="max_norm",
        title="the norms are always taken along axis 0",
        edits=[("max_norm", "axis=axis", "axis=0")],
        explanation="You ignore the axis argument. Which vectors are constrained depends on "
        "it: axis = 0 constrains each column (the weights into one unit of a dense layer), "
        "axis = 1 each row.",
        check="the norms of your result along the requested axis.",
        section="05_regularization#max-norm-regularization",
    ),
    Mistake(
        "clip_without_lower_bound",
        function="clip_by_value",
        title="only the upper bound is applied",
        edits=[
            (
                "clipping",
                "return np.clip(g, -clip_value, clip_value)",
                "return np.minimum(g, clip_value)",
            )
        ],
        explanation="Large negative gradients are not clipped. Clipping by value keeps every "
        "entry within [-clip_value, clip_value].",
        check="what happens to an entry of -3 with clip_value = 1.",
        section="05_regularization#gradient-clipping",
    ),
    Mistake(
        "clip_by_norm_always_rescales",
        function="clip_by_norm",
        title="small gradients are scaled up to the clip norm",
        edits=[("clipping", "max(norm, clip_norm)", "norm")],
        explanation="You rescale every gradient to norm clip_norm, also the small ones. "
        "Clipping only shrinks: a gradient whose norm is already at most clip_norm is returned "
        "unchanged.",
        check="a gradient with norm below clip_norm.",
        section="05_regularization#gradient-clipping",
    ),
    Mistake(
        "clip_global_norm_per_tensor",
        function="clip_by_global_norm",
        title="each tensor clipped by its own norm",
        edits=[
            (
                "clipping",
                "return [g * scale for g in grads], global_norm",
                "return [g * clip_norm / max(float(np.sqrt(np.sum(g * g))), clip_norm)"
                " for g in grads], global_norm",
            )
        ],
        explanation="You clip each gradient by its own norm, which changes the direction of "
        "the whole update. Clipping by global norm scales all gradients by the same factor, "
        "computed from the norm of all of them together.",
        check="that every tensor is multiplied by the same factor.",
        section="05_regularization#gradient-clipping",
    ),
    Mistake(
        "early_stopping_one_epoch_late",
        function="early_stopping",
        title="training stops one epoch late",
        edits=[("early_stopping", "wait >= patience", "wait > patience")],
        explanation="You stop after patience + 1 epochs without improvement. Training stops "
        "at the epoch where the number of epochs without improvement reaches patience.",
        check="the comparison of the counter with patience (patience = 1 stops right after "
        "the first epoch without improvement).",
        section="05_regularization#early-stopping",
    ),
    Mistake(
        "early_stopping_counter_starts_at_one",
        function="early_stopping",
        title="the patience counter starts at 1",
        edits=[
            (
                "early_stopping",
                "best, best_epoch, wait = np.inf, 0, 0",
                "best, best_epoch, wait = np.inf, 0, 1",
            )
        ],
        explanation="Your counter of epochs without improvement starts at 1 before any epoch, "
        "so training can stop one epoch early if the first epochs do not improve.",
        check="the initial value of your counter.",
        section="05_regularization#early-stopping",
    ),
]
