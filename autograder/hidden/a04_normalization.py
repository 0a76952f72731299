"""Hidden tests of 04_normalization (run by the grader, outside the sandbox; see ../README.md)."""

import numpy as np

from optreg.grading.checks import check, close, grades, pure


def batch(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def normalized(x, axis, eps):
    """(x - mean) / sqrt(var + eps) along ``axis``, and the variance."""
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + eps), var


def training_steps(student):
    """Three training steps on each case, each from the moving statistics the student's
    previous step returned: yields (what, student's output, y, moving_mean, moving_variance)."""
    for seed, n, d, mom, eps in [(1, 6, 3, 0.9, 1e-3), (2, 4, 5, 0.99, 1e-5), (3, 2, 1, 0.5, 0.1)]:
        gamma, beta = batch(seed + 1, d, 0.5, 2.0), batch(seed + 2, d)
        mm, mv = np.zeros(d), np.ones(d)
        got_mm, got_mv = mm.copy(), mv.copy()
        for step in range(3):
            x = batch(seed * 10 + step, (n, d), -3.0, 5.0)
            out = pure(student.batchnorm_forward, x, gamma, beta, got_mm, got_mv, True, mom, eps)
            check(
                isinstance(out, list | tuple) and len(out) == 4,
                "batchnorm_forward must return (y, moving_mean, moving_variance, cache)",
            )
            x_hat, _ = normalized(x, 0, eps)
            mm = mom * mm + (1 - mom) * x.mean(axis=0)
            mv = mom * mv + (1 - mom) * x.var(axis=0)
            what = f"batchnorm_forward(training=True) on a {n}x{d} batch, step {step + 1}"
            yield what, out, gamma * x_hat + beta, mm, mv
            got_mm, got_mv = out[1], out[2]


@grades("test_batchnorm_training_y", points=1)
def test_batchnorm_training_y(student):
    for what, out, y, _, _ in training_steps(student):
        close(out[0], y, what + ": y", rtol=1e-6, atol=1e-9)


@grades("test_batchnorm_training_moving", points=1)
def test_batchnorm_training_moving(student):
    for what, out, _, mm, mv in training_steps(student):
        close(out[1], mm, what + ": moving_mean", rtol=1e-6, atol=1e-9)
        close(out[2], mv, what + ": moving_variance", rtol=1e-6, atol=1e-9)


@grades("test_batchnorm_inference", points=2)
def test_batchnorm_inference(student):
    for seed, n, d, eps in [(4, 5, 3, 1e-3), (5, 1, 4, 1e-5), (6, 3, 2, 0.5)]:
        gamma, beta = batch(seed + 1, d, 0.5, 2.0), batch(seed + 2, d)
        mm, mv = batch(seed + 3, d), batch(seed + 4, d, 0.1, 3.0)
        x = batch(seed, (n, d), -4.0, 4.0)
        out = pure(student.batchnorm_forward, x, gamma, beta, mm, mv, False, 0.9, eps)
        y = gamma * (x - mm) / np.sqrt(mv + eps) + beta
        what = f"batchnorm_forward(training=False) on a {n}x{d} batch"
        close(out[0], y, what + ": y", rtol=1e-6, atol=1e-9)
        close(out[1], mm, what + ": moving_mean (must be unchanged)", rtol=0.0, atol=0.0)
        close(out[2], mv, what + ": moving_variance (must be unchanged)", rtol=0.0, atol=0.0)
        # one example alone must get the same output as inside its batch
        alone = student.batchnorm_forward(x[:1], gamma, beta, mm, mv, False, 0.9, eps)
        close(alone[0], y[:1], what + ": first example predicted alone", rtol=1e-6, atol=1e-9)


def backward_reference(x, dy, gamma, eps, axis):
    """(dx, dgamma, dbeta) of gamma * normalized(x, axis) + beta (axis 0: BN, 1: LN)."""
    x_hat, var = normalized(x, axis, eps)
    g = dy * gamma
    size = x.shape[axis]
    dx = (
        size * g
        - g.sum(axis=axis, keepdims=True)
        - x_hat * (g * x_hat).sum(axis=axis, keepdims=True)
    ) / (size * np.sqrt(var + eps))
    return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)


def backward_cases(student, layer, cases):
    """(what, student's (dx, dgamma, dbeta), reference) of ``layer`` on each case."""
    for seed, n, d, eps in cases:
        x, dy = batch(seed, (n, d), -2.0, 3.0), batch(seed + 1, (n, d))
        gamma, beta = batch(seed + 2, d, 0.5, 2.0), batch(seed + 3, d)
        if layer == "batchnorm":
            out = student.batchnorm_forward(
                x, gamma, beta, np.zeros(d), np.ones(d), True, 0.99, eps
            )
            got = pure(student.batchnorm_backward, dy, out[3])
        else:
            got = pure(
                student.layernorm_backward, dy, student.layernorm_forward(x, gamma, beta, eps)[1]
            )
        what = f"{layer}_backward on a {n}x{d} batch (epsilon={eps})"
        check(
            isinstance(got, list | tuple) and len(got) == 3,
            f"{what} must return (dx, dgamma, dbeta)",
        )
        yield what, got, backward_reference(x, dy, gamma, eps, 0 if layer == "batchnorm" else 1)


BN_CASES = [(7, 6, 3, 1e-3), (8, 3, 4, 1e-5), (9, 2, 2, 0.01)]
LN_CASES = [
    (13, 4, 5, 1e-3),
    (14, 2, 3, 1e-5),
    (15, 3, 2, 0.05),
    (17, 3, 3, 1e-3),
    (18, 1, 4, 1e-3),
]


@grades("test_batchnorm_backward_dx", points=2)
def test_batchnorm_backward_dx(student):
    for what, got, want in backward_cases(student, "batchnorm", BN_CASES):
        close(got[0], want[0], what + ": dx", rtol=1e-5, atol=1e-9)


@grades("test_batchnorm_backward_dgamma", points=1)
def test_batchnorm_backward_dgamma(student):
    for what, got, want in backward_cases(student, "batchnorm", BN_CASES):
        close(got[1], want[1], what + ": dgamma", rtol=1e-6, atol=1e-9)


@grades("test_batchnorm_backward_dbeta", points=1)
def test_batchnorm_backward_dbeta(student):
    for what, got, want in backward_cases(student, "batchnorm", BN_CASES):
        close(got[2], want[2], what + ": dbeta", rtol=1e-6, atol=1e-9)


@grades("test_layernorm_forward", points=1)
def test_layernorm_forward(student):
    for seed, n, d, eps in [
        (10, 4, 5, 1e-3),
        (11, 1, 3, 1e-5),
        (12, 3, 2, 0.2),
        (16, 3, 3, 1e-3),
    ]:  # square: rows and features alike
        x = batch(seed, (n, d), -3.0, 6.0)
        gamma, beta = batch(seed + 1, d, 0.5, 2.0), batch(seed + 2, d)
        out = pure(student.layernorm_forward, x, gamma, beta, eps)
        close(
            out[0],
            gamma * normalized(x, 1, eps)[0] + beta,
            f"layernorm_forward on a {n}x{d} batch (epsilon={eps}): y",
            rtol=1e-6,
            atol=1e-9,
        )


@grades("test_layernorm_backward_dx", points=1)
def test_layernorm_backward_dx(student):
    for what, got, want in backward_cases(student, "layernorm", LN_CASES):
        close(got[0], want[0], what + ": dx", rtol=1e-5, atol=1e-9)


@grades("test_layernorm_backward_dgamma", points=1)
def test_layernorm_backward_dgamma(student):
    for what, got, want in backward_cases(student, "layernorm", LN_CASES):
        close(got[1], want[1], what + ": dgamma", rtol=1e-6, atol=1e-9)


@grades("test_layernorm_backward_dbeta", points=1)
def test_layernorm_backward_dbeta(student):
    for what, got, want in backward_cases(student, "layernorm", LN_CASES):
        close(got[2], want[2], what + ": dbeta", rtol=1e-6, atol=1e-9)


@grades("test_standardize_split", points=2)
def test_standardize_split(student):
    for seed, n_train, n_test, d, constant in [
        (16, 8, 3, 4, 2.5),  # exactly constant: std 0
        (17, 5, 5, 2, 0.1),  # constant up to rounding: std about 1e-17, not 0
        (18, 3, 1, 3, 0.1),
    ]:
        train = batch(seed, (n_train, d), -1.0, 3.0)
        test = batch(seed + 1, (n_test, d), 5.0, 9.0)
        train[:, 0] = constant  # a feature constant in the training set
        got = pure(student.standardize_split, train, test)
        check(
            isinstance(got, list | tuple) and len(got) == 2,
            "standardize_split must return (train, test)",
        )
        mean = train.mean(axis=0)
        sd = np.maximum(train.std(axis=0), 1e-7)  # the book's Standardizer floors s at 1e-7
        what = f"standardize_split with {n_train} training and {n_test} test rows"
        close(
            got[0], (train - mean) / sd, what + ": standardized training set", rtol=1e-7, atol=1e-9
        )
        close(
            got[1],
            (test - mean) / sd,
            what + ": standardized test set (training statistics only)",
            rtol=1e-7,
            atol=1e-9,
        )
