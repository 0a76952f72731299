"""Named mistakes of 03_initialization (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared.
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe


def _net(seed, n, d, h, k):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, k))
    return x, y, rng.normal(0, 0.7, (d, h)), rng.normal(0, 0.7, (h, k))


PROBES = {
    "fans": lambda: [probe((30, 20)), probe((3, 3, 8, 16)), probe((5, 4, 6))],
    "glorot_uniform": lambda: [
        probe(shape, np.random.default_rng(seed))
        for seed, shape in [(1, (30, 20)), (2, (3, 3, 8, 16))]
    ],
    "he_normal": lambda: [
        probe(shape, np.random.default_rng(seed))
        for seed, shape in [(3, (30, 20)), (4, (3, 3, 8, 16))]
    ],
    "activation_variances": lambda: [
        probe(
            np.random.default_rng(5).normal(size=(40, 6)),
            [np.random.default_rng(6 + i).normal(0, 0.8, (6, 6)) for i in range(3)],
            activation,
        )
        for activation in ("tanh", "relu")
    ],
    "two_layer_grads": lambda: [probe(*_net(7, 6, 3, 4, 2)), probe(*_net(8, 5, 2, 3, 3))],
}

MISTAKES = [
    Mistake(
        "fans_without_receptive_field",
        function="fans",
        title="a convolution kernel's receptive field is left out",
        edits=[
            (
                "fans",
                "shape[-2] * receptive, shape[-1] * receptive",
                "shape[-2], shape[-1]",
            )
        ],
        explanation="For a convolution kernel each output sees every input channel at every "
        "position of the window, so both fans are multiplied by the window size (the product "
        "of all dimensions but the last two). Yours count channels only.",
        check="a kernel of shape (3, 3, 8, 16): which fans does it have?",
        section="03_initialization#small-random-then-calibrated-random",
    ),
    Mistake(
        "fans_swapped",
        function="fans",
        title="fan-in and fan-out swapped",
        edits=[
            (
                "fans",
                "return shape[-2] * receptive, shape[-1] * receptive",
                "return shape[-1] * receptive, shape[-2] * receptive",
            )
        ],
        explanation="Your fans come out in the wrong order. A Keras kernel has shape (inputs, "
        "outputs): fan-in is the second-to-last dimension, fan-out the last.",
        check="which dimension of a dense kernel of shape (30, 20) is the number of inputs.",
        section="03_initialization#small-random-then-calibrated-random",
    ),
    Mistake(
        "glorot_fan_in_only",
        function="glorot_uniform",
        title="Glorot's limit computed from the fan-in only",
        edits=[("glorot_he", "6.0 / (fan_in + fan_out)", "6.0 / fan_in")],
        explanation="Your limit uses only the number of inputs. Glorot balances the forward "
        "and the backward signal, so its variance uses the average of fan-in and fan-out.",
        check="the limit's formula: both fans belong in it.",
        section="03_initialization#small-random-then-calibrated-random",
    ),
    Mistake(
        "he_variance_one_over_fan_in",
        function="he_normal",
        title="LeCun's variance 1 / fan-in instead of He's 2 / fan-in",
        edits=[("glorot_he", "2.0 / fan_in", "1.0 / fan_in")],
        explanation="Your weights have variance 1 / fan-in (LeCun initialization). ReLU zeroes "
        "half of its inputs, so He initialization doubles the variance to keep the signal's "
        "scale through the layers.",
        check="the variance of your weights for a dense kernel: it should be 2 / fan-in.",
        section="03_initialization#small-random-then-calibrated-random",
    ),
    Mistake(
        "he_variance_as_std",
        function="he_normal",
        title="the variance is used as the standard deviation",
        edits=[("glorot_he", "np.sqrt(2.0 / fan_in)", "2.0 / fan_in")],
        explanation="You pass 2 / fan-in as the scale of the normal distribution, but that is "
        "the variance: the standard deviation is its square root.",
        check="what the scale argument of rng.normal means.",
        section="03_initialization#small-random-then-calibrated-random",
    ),
    Mistake(
        "variances_before_activation",
        function="activation_variances",
        title="variances of the pre-activations",
        edits=[
            (
                "activation_variances",
                "a = f(a @ w)\n        variances.append(float(a.var()))",
                "z = a @ w\n        a = f(z)\n        variances.append(float(z.var()))",
            )
        ],
        explanation="You record the variance of a @ W before the activation function. The "
        "exercise asks for the activations a = f(a @ W) after each layer, which is what the next "
        "layer receives.",
        check="which array's variance you append, for tanh and relu.",
        section="03_initialization#activation-statistics-through-a-deep-network",
    ),
    Mistake(
        "grads_without_tanh_derivative",
        function="two_layer_grads",
        title="the derivative of tanh is missing",
        edits=[("two_layer_grads", " * (1 - h ** 2)", "")],
        explanation="Your dW2 is right but dW1 skips the hidden layer's activation: by the "
        "chain rule the gradient flowing back through tanh is multiplied by its derivative "
        "1 - tanh(z)^2.",
        check="the chain rule from the hidden layer's output back to x @ W1.",
        section="03_initialization#activation-functions",
    ),
    Mistake(
        "grads_mean_over_rows_only",
        function="two_layer_grads",
        title="the mean taken over the examples only",
        edits=[("two_layer_grads", "/ y.size", "/ len(y)")],
        explanation="Your gradients are the mean over examples but not over the output "
        "columns. The loss is the mean of all squared errors, so it divides by the number of "
        "entries of y; the two agree only when y has one column.",
        check="the divisor with a y of shape (n, 2).",
        section="03_initialization#the-all-zero-pitfall-symmetry",
    ),
    Mistake(
        "grads_missing_factor_2",
        function="two_layer_grads",
        title="the factor 2 of the squared error is missing",
        edits=[("two_layer_grads", "delta = 2 * (h @ W2 - y)", "delta = (h @ W2 - y)")],
        explanation="Your gradients are half of the right ones: the derivative of a squared "
        "error (p - y)^2 is 2 (p - y).",
        check="the derivative of the loss with respect to the prediction.",
        section="03_initialization#the-all-zero-pitfall-symmetry",
    ),
]
