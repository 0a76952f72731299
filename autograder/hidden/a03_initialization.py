"""Hidden tests of 03_initialization (run by the grader, outside the sandbox; see ../README.md)."""

import numpy as np

from optreg.grading.checks import as_array, check, close, equal, grades


def fans_cases(student):
    """(shape, what fans returned, the right (fan_in, fan_out)) of each hidden shape."""
    for shape, want in [
        ((10, 7), (10, 7)),
        ((5, 1, 2), (5, 10)),
        ((2, 3, 4, 5), (24, 30)),
        ((1, 1), (1, 1)),
        ((3, 3, 3, 8, 4), (216, 108)),
    ]:
        got = student.fans(shape)
        check(isinstance(got, list | tuple) and len(got) == 2, f"fans({shape}) must return a pair")
        yield shape, got, want


@grades("test_fan_in", points=1)
def test_fan_in(student):
    for shape, got, want in fans_cases(student):
        equal(got[0], want[0], f"fans({shape}): fan_in")


@grades("test_fan_out", points=1)
def test_fan_out(student):
    for shape, got, want in fans_cases(student):
        equal(got[1], want[1], f"fans({shape}): fan_out")


def sample_checks(student, name, shape, seed):
    """The weights for ``seed`` (shape checked, reproducible from the seed), as a flat array."""
    function = getattr(student, name)
    w = as_array(function(shape, np.random.default_rng(seed)), f"{name}{shape}")
    equal(w.shape, shape, f"{name}{shape}: shape")
    again = as_array(function(shape, np.random.default_rng(seed)), f"{name}{shape}")
    check(
        np.array_equal(w, again),
        f"{name}{shape}: the same rng seed must give the same weights (draw everything from rng)",
    )
    return w.ravel()


@grades("test_glorot_uniform", points=2)
def test_glorot_uniform(student):
    for shape, fan_in, fan_out in [
        ((120, 200), 120, 200),
        ((3, 3, 16, 32), 144, 288),
        ((800, 10), 800, 10),
    ]:
        w = sample_checks(student, "glorot_uniform", shape, 42)
        other = as_array(student.glorot_uniform(shape, np.random.default_rng(7)), "glorot_uniform")
        check(
            not np.array_equal(w, other.ravel()),
            f"glorot_uniform{shape}: different seeds must give different weights",
        )
        want, limit = 2.0 / (fan_in + fan_out), np.sqrt(6.0 / (fan_in + fan_out))
        check(
            abs(w.var() - want) < 0.05 * want,
            f"glorot_uniform{shape}: expected variance {want:.6g}, got {w.var():.6g}",
        )
        check(
            abs(w.mean()) < 5 * np.sqrt(want / w.size),
            f"glorot_uniform{shape}: expected mean 0, got {w.mean():.4g}",
        )
        biggest = np.abs(w).max()
        check(
            0.98 * limit < biggest <= limit,
            f"glorot_uniform{shape}: values must fill "
            f"[-{limit:.5g}, {limit:.5g}], largest |w| is {biggest:.5g}",
        )


@grades("test_he_normal", points=2)
def test_he_normal(student):
    for shape, fan_in in [((300, 60), 300), ((3, 3, 16, 32), 144), ((10, 1500), 10)]:
        w = sample_checks(student, "he_normal", shape, 3)
        want = 2.0 / fan_in
        check(
            abs(w.var() - want) < 0.05 * want,
            f"he_normal{shape}: expected variance {want:.6g}, got {w.var():.6g}",
        )
        check(
            abs(w.mean()) < 5 * np.sqrt(want / w.size),
            f"he_normal{shape}: expected mean 0, got {w.mean():.4g}",
        )
        tail = np.mean(np.abs(w) > 2 * np.sqrt(want))
        check(
            0.03 < tail < 0.065,
            f"he_normal{shape}: a normal distribution puts 4.6% of its "
            f"mass beyond 2 standard deviations, your weights put {100 * tail:.2f}% there",
        )


ACTIVATIONS = {"linear": lambda z: z, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


@grades("test_activation_variances", points=2)
def test_activation_variances(student):
    for seed, batch, widths, name in [
        (1, 12, [6, 8, 5, 4], "tanh"),
        (2, 9, [4, 4, 4], "relu"),
        (3, 5, [3, 7, 2], "linear"),
    ]:
        rng = np.random.default_rng(seed)
        x = rng.uniform(-2, 2, (batch, widths[0]))
        kernels = [rng.uniform(-1, 1, (a, b)) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        a, want = x, []
        for w in kernels:
            a = ACTIVATIONS[name](a @ w)
            want.append(a.var())
        got = student.activation_variances(x, kernels, name)
        close(
            got,
            want,
            f"activation_variances ({name}, widths {widths}, batch {batch})",
            rtol=1e-7,
            atol=1e-12,
        )


def two_layer_cases(student):
    """(what, student's (dW1, dW2), reference (dW1, dW2)) on each case."""
    for seed, n, d, hdim, k in [(5, 5, 3, 4, 2), (6, 7, 2, 3, 1), (7, 1, 4, 2, 3)]:
        rng = np.random.default_rng(seed)
        x, y = rng.uniform(-1, 1, (n, d)), rng.uniform(-1, 1, (n, k))
        w1, w2 = rng.uniform(-1, 1, (d, hdim)), rng.uniform(-1, 1, (hdim, k))
        got = student.two_layer_grads(x, y, w1, w2)
        check(
            isinstance(got, list | tuple) and len(got) == 2,
            "two_layer_grads must return (dW1, dW2)",
        )
        h = np.tanh(x @ w1)
        delta = 2 * (h @ w2 - y) / (n * k)
        what = f"two_layer_grads with x {n}x{d}, W1 {d}x{hdim}, W2 {hdim}x{k}"
        yield what, got, (x.T @ ((delta @ w2.T) * (1 - h**2)), h.T @ delta)


@grades("test_two_layer_grads_dW1", points=1)
def test_two_layer_grads_dW1(student):
    for what, got, want in two_layer_cases(student):
        close(got[0], want[0], what + ": dW1", rtol=1e-7, atol=1e-12)


@grades("test_two_layer_grads_dW2", points=1)
def test_two_layer_grads_dW2(student):
    for what, got, want in two_layer_cases(student):
        close(got[1], want[1], what + ": dW2", rtol=1e-7, atol=1e-12)
