"""Named mistakes of 01_optimizers (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared.
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe


def uniform(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def halve(theta):
    return np.asarray(theta, dtype=float) * 0.5


def cubic(point):  # a gradient whose value depends on where it is taken
    point = np.asarray(point, dtype=float)
    return point**3 + point


def _adam_state(seed, shape, t):
    theta, grad = uniform(seed, shape), uniform(seed + 1, shape, -2.0, 2.0)
    m = np.zeros(shape) if t == 0 else uniform(seed + 2, shape, -0.5, 0.5)
    s = np.zeros(shape) if t == 0 else uniform(seed + 3, shape, 0.01, 0.5)
    return theta, grad, m, s, t


PROBES = {
    "momentum_step": lambda: [
        probe(uniform(1, (3,)), uniform(2, (3,)), uniform(3, (3,), -0.2, 0.2), 0.1, 0.9),
        probe(uniform(4, (2, 2)), uniform(5, (2, 2)), np.zeros((2, 2)), 0.05, 0.5),
    ],
    "nesterov_step": lambda: [
        probe(uniform(6, (3,)), cubic, uniform(7, (3,), -0.3, 0.3), 0.1, 0.9),
        probe(uniform(8, (2, 2), 0.5, 2.0), cubic, uniform(9, (2, 2), -0.5, 0.5), 0.05, 0.6),
    ],
    "adagrad_step": lambda: [
        probe(uniform(10, (3,)), uniform(11, (3,)), uniform(12, (3,), 0.0, 0.01), 0.1, 1e-2),
        probe(uniform(13, (2, 2)), uniform(14, (2, 2)), np.zeros((2, 2)), 0.5, 1e-3),
    ],
    "rmsprop_step": lambda: [
        probe(uniform(15, (3,)), uniform(16, (3,)), uniform(17, (3,), 0.0, 0.01), 0.1, 0.9, 1e-2),
        probe(uniform(18, (2, 2)), uniform(19, (2, 2)), np.zeros((2, 2)), 0.05, 0.5, 1e-3),
    ],
    "adam_step": lambda: [
        probe(*_adam_state(20, (3,), 0), 0.01, 0.9, 0.999, 1e-2),
        probe(*_adam_state(24, (2, 2), 2), 0.1, 0.5, 0.8, 1e-3),
        probe(*_adam_state(28, (4,), 5), 0.05, 0.9, 0.99, 1e-2),
    ],
    "adamw_step": lambda: [
        probe(*_adam_state(32, (3,), 0), 0.01, 0.1),
        probe(*_adam_state(36, (2, 2), 3), 0.05, 0.02),
    ],
    "steps_to_converge": lambda: [
        probe(halve, np.array([2.0, 0.0]), 0.125, 100),  # loss exactly tol after 2 steps
        probe(halve, np.array([2.0, 0.0]), 0.1, 100),
        probe(halve, np.array([1.0, 0.2]), 1e-3, 100),
    ],
}

MISTAKES = [
    Mistake(
        "momentum_wrong_sign",
        function="momentum_step",
        title="the gradient enters the velocity with the wrong sign",
        edits=[("momentum_step", "- learning_rate * grad", "+ learning_rate * grad")],
        explanation="Your velocity moves uphill: the learning-rate term is added to m, so the "
        "parameters follow the gradient instead of going against it.",
        check="the sign of the learning-rate term in the velocity update: m must point "
        "downhill, and theta then moves by +m.",
        section="01_optimizers#momentum-inertia-and-friction",
    ),
    Mistake(
        "nesterov_no_lookahead",
        function="nesterov_step",
        title="the gradient is taken at theta, not at the look-ahead point",
        edits=[("nesterov_step", "grad_fn(theta + momentum * m)", "grad_fn(theta)")],
        explanation="Your update is plain momentum. Nesterov's idea is to evaluate the "
        "gradient where the velocity is about to carry the parameters, not where they are now.",
        check="the point you pass to grad_fn: it should include the momentum times the "
        "current velocity.",
        section="01_optimizers#nesterov-accelerated-gradient",
    ),
    Mistake(
        "adagrad_epsilon_outside_sqrt",
        function="adagrad_step",
        title="epsilon outside the square root",
        edits=[("adagrad_rmsprop", "np.sqrt(s + epsilon)", "(np.sqrt(s) + epsilon)")],
        explanation="You add epsilon after taking the root. The two agree for large s but not "
        "when the accumulated squared gradients are tiny: the step size then differs a lot.",
        check="where epsilon goes in the denominator: here, as in the book and Keras' Adagrad, "
        "it is added to s inside the square root.",
        section="01_optimizers#adagrad-a-learning-rate-per-parameter",
    ),
    Mistake(
        "rmsprop_epsilon_outside_sqrt",
        function="rmsprop_step",
        title="epsilon outside the square root",
        edits=[
            (
                "adagrad_rmsprop",
                "s = rho * s + (1 - rho) * grad * grad\n"
                "    return theta - learning_rate * grad / np.sqrt(s + epsilon), s",
                "s = rho * s + (1 - rho) * grad * grad\n"
                "    return theta - learning_rate * grad / (np.sqrt(s) + epsilon), s",
            )
        ],
        explanation="You add epsilon after taking the root. The two agree for large s but not "
        "when the average of squared gradients is tiny: the step size then differs a lot.",
        check="where epsilon goes in the denominator: here, as in the book and Keras' RMSprop, "
        "it is added to s inside the square root.",
        section="01_optimizers#rmsprop-and-adadelta-forgetting-old-gradients",
    ),
    Mistake(
        "rmsprop_no_one_minus_rho",
        function="rmsprop_step",
        title="the new squared gradient is not weighted by (1 - rho)",
        edits=[
            (
                "adagrad_rmsprop",
                "s = rho * s + (1 - rho) * grad * grad",
                "s = rho * s + grad * grad",
            )
        ],
        explanation="Your s is not an average: the new squared gradient gets weight 1 instead "
        "of 1 - rho, so s grows about 1 / (1 - rho) times too large and the steps are too small.",
        check="the weights of the two terms in the update of s: they must add up to 1.",
        section="01_optimizers#rmsprop-and-adadelta-forgetting-old-gradients",
    ),
    Mistake(
        "adam_no_bias_correction",
        function="adam_step",
        title="Adam without bias correction",
        edits=[
            ("adam_step", "m / (1 - beta_1 ** t)", "m"),
            ("adam_step", "s / (1 - beta_2 ** t)", "s"),
        ],
        explanation="Your step uses m and s as they are. Both start at zero, so during the "
        "first steps they are biased towards zero (after one step m is only (1 - beta_1) times "
        "the gradient); Adam divides each by one minus its beta to the power t before the step.",
        check="that the step is computed from the bias-corrected m-hat and s-hat, with t the "
        "step count after this step (t = 1 on the first call).",
        section="01_optimizers#adam-and-bias-correction",
    ),
    Mistake(
        "adam_off_by_one_t",
        function="adam_step",
        title="bias correction with the old step count",
        edits=[
            ("adam_step", "    t = t + 1\n", ""),
            ("adam_step", ", m, s, t\n", ", m, s, t + 1\n"),
        ],
        explanation="Your bias correction uses the step count from before this step. The "
        "correction must use the count including this step: 1 on the first call, where the "
        "old count 0 would divide by zero.",
        check="when t is incremented relative to the bias correction, and that the t you "
        "return is the one you used.",
        section="01_optimizers#adam-and-bias-correction",
    ),
    Mistake(
        "adam_epsilon_inside_sqrt",
        function="adam_step",
        title="epsilon inside the square root",
        edits=[("adam_step", "(np.sqrt(s_hat) + epsilon)", "np.sqrt(s_hat + epsilon)")],
        explanation="You add epsilon to s-hat before taking the root. The two agree for large "
        "gradients but not for tiny ones, where epsilon then dominates the denominator.",
        check="where epsilon goes in the denominator: the equation adds it after the square "
        "root of s-hat.",
        section="01_optimizers#adam-and-bias-correction",
    ),
    Mistake(
        "adamw_coupled_decay",
        function="adamw_step",
        title="L2 penalty in the gradient instead of decoupled weight decay",
        edits=[
            (
                "adamw_step",
                "decayed = theta - learning_rate * weight_decay * theta",
                "decayed, grad = theta, grad + weight_decay * theta",
            )
        ],
        explanation="You add the decay to the gradient (an L2 penalty), so it passes through "
        "Adam's moments and gets divided by the root of s-hat like the rest. AdamW shrinks the "
        "weights directly, outside the adaptive step.",
        check="that the weight-decay term acts on theta itself and never enters m or s.",
        section="05_regularization#weight-decay-versus-l2-with-adam",
    ),
    Mistake(
        "steps_off_by_one",
        function="steps_to_converge",
        title="one step too many counted",
        edits=[("steps_to_converge", "return step\n", "return step + 1\n")],
        explanation="Your count is one too high: it should be the number of update calls made "
        "before the loss first went below tol (0 if the starting point already does).",
        check="what you return when the starting point already satisfies the tolerance.",
        section="01_optimizers#gradient-descent-and-its-trouble",
    ),
    Mistake(
        "steps_loss_at_most_tol",
        function="steps_to_converge",
        title="stopping when the loss equals tol",
        edits=[("steps_to_converge", "if bowl(theta) < tol:", "if bowl(theta) <= tol:")],
        explanation="You stop as soon as the loss is at most tol; the rule is strictly below "
        "tol, which matters when a step lands exactly on it.",
        check="the comparison of the loss with tol.",
        section="01_optimizers#gradient-descent-and-its-trouble",
    ),
]
