"""Named mistakes of 04_normalization (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared;
the caches are the implementation's own (each backward pass runs on its own forward's cache),
and only the documented outputs are compared, never a cache.
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe, scenario


def _batch(seed, n, d):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 3.0, (n, d))
    gamma, beta = rng.uniform(0.5, 2.0, d), rng.uniform(-1.0, 1.0, d)
    moving_mean, moving_var = rng.uniform(-0.5, 0.5, d), rng.uniform(0.5, 2.0, d)
    return x, gamma, beta, moving_mean, moving_var, rng.uniform(-1.0, 1.0, (n, d))


def _bn_forward(seed, n, d, training):
    def run(f):
        x, gamma, beta, mean, var, _ = _batch(seed, n, d)
        return f.batchnorm_forward(x, gamma, beta, mean, var, training, 0.9, 1e-3)[:3]

    return scenario(run)


def _backward(seed, n, d, norm):
    def run(f):
        x, gamma, beta, mean, var, dy = _batch(seed, n, d)
        if norm == "batch":
            out = f.batchnorm_forward(x, gamma, beta, mean, var, True, 0.9, 1e-3)
            return f.batchnorm_backward(dy, out[3])
        out = f.layernorm_forward(x, gamma, beta, 1e-3)
        return f.layernorm_backward(dy, out[1])

    return scenario(run)


def _ln_forward(seed, n, d):
    def run(f):
        x, gamma, beta, _, _, _ = _batch(seed, n, d)
        return f.layernorm_forward(x, gamma, beta, 1e-3)[0]

    return scenario(run)


def _split(seed, n_train, n_test, d):
    rng = np.random.default_rng(seed)
    return probe(rng.uniform(-1.0, 3.0, (n_train, d)), rng.uniform(0.0, 5.0, (n_test, d)))


PROBES = {
    "batchnorm_forward": lambda: [
        _bn_forward(1, 5, 3, True),
        _bn_forward(2, 4, 2, False),
        _bn_forward(3, 3, 4, True),
    ],
    "batchnorm_backward": lambda: [_backward(4, 5, 3, "batch"), _backward(5, 3, 4, "batch")],
    "layernorm_forward": lambda: [_ln_forward(6, 4, 5), _ln_forward(7, 3, 2)],
    "layernorm_backward": lambda: [_backward(8, 4, 5, "layer"), _backward(9, 3, 2, "layer")],
    "standardize_split": lambda: [_split(10, 6, 3, 4), _split(11, 5, 2, 2)],
}

MISTAKES = [
    Mistake(
        "bn_batch_stats_at_inference",
        function="batchnorm_forward",
        title="batch statistics at inference",
        edits=[
            (
                "batchnorm_forward",
                "x_hat = (x - moving_mean) / np.sqrt(moving_variance + epsilon)",
                "x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)",
            )
        ],
        explanation="In inference mode you normalize with the mean and variance of the batch "
        "you are given. At inference a prediction must not depend on the other examples: "
        "BatchNorm then uses the moving averages collected during training.",
        check="which statistics you use when training is False.",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "bn_momentum_swapped",
        function="batchnorm_forward",
        title="the moving averages weight the new batch by momentum",
        edits=[
            (
                "batchnorm_forward",
                "momentum * moving_mean + (1 - momentum) * mean",
                "(1 - momentum) * moving_mean + momentum * mean",
            )
        ],
        explanation="Your moving mean gives weight momentum to the current batch. In Keras' "
        "convention momentum (0.99 by default) is the weight of the old moving value, and only "
        "1 - momentum goes to the new batch statistic.",
        check="which term momentum multiplies in the moving-average updates.",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "bn_unbiased_variance",
        function="batchnorm_forward",
        title="the unbiased (n - 1) batch variance",
        edits=[
            (
                "batchnorm_forward",
                "x.mean(axis=0), x.var(axis=0)",
                "x.mean(axis=0), x.var(axis=0, ddof=1)",
            )
        ],
        explanation="You divide the batch variance by n - 1. BatchNorm normalizes with the "
        "biased batch variance (divided by n), as Keras does.",
        check="the divisor of your batch variance.",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "bn_epsilon_outside_sqrt",
        function="batchnorm_forward",
        title="epsilon added after the square root",
        edits=[
            (
                "batchnorm_forward",
                "x_hat = (x - mean) / np.sqrt(var + epsilon)",
                "x_hat = (x - mean) / (np.sqrt(var) + epsilon)",
            )
        ],
        explanation="You add epsilon to the standard deviation. BatchNorm adds it to the "
        "variance, under the square root.",
        check="where epsilon goes when you normalize in training mode.",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "bn_backward_no_mean_term",
        function="batchnorm_backward",
        title="the gradient through the batch mean is missing",
        edits=[("batchnorm_backward", "dy - dbeta - x_hat", "dy - x_hat")],
        explanation="Your dx treats the batch mean as a constant. Every example moves the "
        "mean, so dx has a term for the gradient flowing through the mean (it makes dx sum to "
        "zero over the batch), as well as one through the variance.",
        check="that your dx sums to zero over the batch axis.",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "bn_backward_dgamma_scalar",
        function="batchnorm_backward",
        title="dgamma summed to a single number",
        edits=[
            (
                "batchnorm_backward",
                "dgamma = (dy * x_hat).sum(axis=0)",
                "dgamma = (dy * x_hat).sum()",
            )
        ],
        explanation="You sum dgamma over everything. gamma has one value per feature, so its "
        "gradient has one entry per feature too: sum over the batch axis only.",
        check="the shape of dgamma (and that of dbeta).",
        section="04_normalization#internal-covariate-shift-and-batch-normalization",
    ),
    Mistake(
        "ln_over_batch_axis",
        function="layernorm_forward",
        title="statistics over the batch axis",
        edits=[
            ("layernorm", "x.mean(axis=1, keepdims=True)", "x.mean(axis=0, keepdims=True)"),
            ("layernorm", "x.var(axis=1, keepdims=True)", "x.var(axis=0, keepdims=True)"),
        ],
        explanation="You compute the mean and variance over the batch, which is BatchNorm. "
        "LayerNorm normalizes each example over its own features.",
        check="the axis of your mean and variance.",
        section="04_normalization#layer-normalization",
    ),
    Mistake(
        "ln_backward_params_over_features",
        function="layernorm_backward",
        title="dgamma and dbeta summed over the features",
        edits=[
            (
                "layernorm",
                "(dy * x_hat).sum(axis=0), dy.sum(axis=0)",
                "(dy * x_hat).sum(axis=1), dy.sum(axis=1)",
            )
        ],
        explanation="Your dgamma and dbeta have one entry per example. gamma and beta have one "
        "value per feature and are shared by all examples, so their gradients are sums over "
        "the batch axis.",
        check="the shapes of dgamma and dbeta on a batch that is not square.",
        section="04_normalization#layer-normalization",
    ),
    Mistake(
        "standardize_leaks_test_set",
        function="standardize_split",
        title="test data in the standardization statistics",
        edits=[
            (
                "standardize_split",
                "mean = x_train.mean(axis=0)",
                "mean = np.concatenate([x_train, x_test]).mean(axis=0)",
            )
        ],
        explanation="Your mean is computed from training and test data together: information "
        "about the test set leaks into the preprocessing. Statistics come from the training "
        "set only and are then applied unchanged to the test set.",
        check="which arrays your mean and scale are computed from.",
        section="04_normalization#data-preprocessing-scale-and-standardization",
    ),
    Mistake(
        "standardize_test_own_statistics",
        function="standardize_split",
        title="the test set standardized with its own statistics",
        edits=[
            (
                "standardize_split",
                "(x_test - mean) / scale",
                "(x_test - x_test.mean(axis=0)) / x_test.std(axis=0)",
            )
        ],
        explanation="You standardize the test set with its own mean and standard deviation, so "
        "the same input value is mapped differently in training and testing. Reuse the training "
        "statistics for the test set.",
        check="which mean and scale you apply to x_test.",
        section="04_normalization#data-preprocessing-scale-and-standardization",
    ),
]
