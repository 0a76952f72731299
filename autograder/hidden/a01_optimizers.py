"""Hidden tests of 01_optimizers (run by the grader, outside the sandbox; see ../README.md)."""

import numpy as np

from optreg.grading.checks import check, close, equal, grades, pure


def uniform(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


@grades("test_sgd_step", points=1)
def test_sgd_step(student):
    for seed, shape, lr in [(1, (4,), 0.1), (2, (2, 3), 0.01), (3, (1,), 1.5)]:
        theta, grad = uniform(seed, shape), uniform(seed + 100, shape)
        got = pure(student.sgd_step, theta, grad, lr)
        close(got, theta - lr * grad, f"sgd_step on shape {shape} with learning_rate={lr}")


@grades("test_momentum_step", points=2)
def test_momentum_step(student):
    for seed, shape, lr, beta in [
        (4, (3,), 0.05, 0.9),
        (5, (2, 2), 0.2, 0.5),
        (6, (5,), 0.01, 0.0),
    ]:
        theta, m = uniform(seed, shape), np.zeros(shape)
        got_theta, got_m = theta.copy(), m.copy()
        for step in range(4):
            grad = uniform(seed * 10 + step, shape)
            out = pure(student.momentum_step, got_theta, grad, got_m, lr, beta)
            check(len(out) == 2, "momentum_step must return a pair (theta, m)")
            got_theta, got_m = out
            m = beta * m - lr * grad
            theta = theta + m
            what = (
                f"momentum_step (shape {shape}, learning_rate={lr}, momentum={beta}) "
                f"step {step + 1}"
            )
            close(got_m, m, what + ": m", rtol=1e-6, atol=1e-9)
            close(got_theta, theta, what + ": theta", rtol=1e-6, atol=1e-9)


@grades("test_nesterov_step", points=2)
def test_nesterov_step(student):
    for seed, shape, lr, beta in [(7, (3,), 0.05, 0.9), (8, (2, 3), 0.1, 0.6)]:
        scale = uniform(seed + 1, shape, 0.5, 3.0)
        calls = []

        def grad_fn(point, scale=scale, calls=calls):  # runs in the grader: called back
            calls.append(np.array(point, dtype=float))
            return scale * calls[-1] ** 3 + calls[-1]

        theta, m = uniform(seed, shape), uniform(seed + 2, shape, -0.1, 0.1)
        got_theta, got_m = theta.copy(), m.copy()
        for step in range(3):
            calls.clear()
            got_theta, got_m = student.nesterov_step(got_theta, grad_fn, got_m, lr, beta)
            equal(len(calls), 1, f"number of grad_fn calls in step {step + 1}")
            ahead = theta + beta * m
            m = beta * m - lr * (scale * ahead**3 + ahead)
            theta = theta + m
            what = f"nesterov_step (shape {shape}) step {step + 1}"
            close(got_m, m, what + ": m", rtol=1e-6, atol=1e-9)
            close(got_theta, theta, what + ": theta", rtol=1e-6, atol=1e-9)


def adaptive_steps(student, name, cases, accumulate):
    """Several steps of AdaGrad or RMSProp, the last with tiny gradients (epsilon matters)."""
    for seed, shape, lr, hyper, eps, scale in cases:
        theta, s = uniform(seed, shape), np.zeros(shape)
        got_theta, got_s = theta.copy(), s.copy()
        for step in range(4):
            g = uniform(seed * 7 + step, shape, -2.0 * scale, 2.0 * scale)
            if step == 3:
                g = g * 1e-4
            got_theta, got_s = pure(getattr(student, name), got_theta, g, got_s, lr, *hyper, eps)
            s = accumulate(s, g, *hyper)
            new = theta - lr * g / np.sqrt(s + eps)  # epsilon inside the root (book, Keras)
            what = f"{name} (shape {shape}, epsilon={eps}) step {step + 1}"
            close(got_s, s, what + ": s", rtol=1e-6, atol=1e-9)
            close(
                np.asarray(got_theta, dtype=float) - theta,
                new - theta,
                what + ": theta - previous theta",
                rtol=1e-5,
                atol=1e-12,
            )
            theta = new


@grades("test_adagrad_step", points=1)
def test_adagrad_step(student):
    adaptive_steps(
        student,
        "adagrad_step",
        [(9, (4,), 0.1, (), 1e-7, 1.0), (10, (2, 2), 0.5, (), 1e-3, 1.0)],
        lambda s, g: s + g * g,
    )


@grades("test_rmsprop_step", points=1)
def test_rmsprop_step(student):
    adaptive_steps(
        student,
        "rmsprop_step",
        [
            (11, (3,), 0.01, (0.9,), 1e-7, 1.0),
            (12, (2, 3), 0.1, (0.5,), 1e-3, 1.0),
            (19, (4,), 0.01, (0.9,), 1e-7, 1e-6),
        ],  # tiny gradients: epsilon placement
        lambda s, g, rho: rho * s + (1 - rho) * g * g,
    )


def adam_reference(theta, g, m, s, t, lr, b1, b2, eps, weight_decay=0.0):
    """The update of the assignment's equations (AdamW when weight_decay > 0)."""
    t = t + 1
    m = b1 * m + (1 - b1) * g
    s = b2 * s + (1 - b2) * g * g
    m_hat, s_hat = m / (1 - b1**t), s / (1 - b2**t)
    return theta - lr * (m_hat / (np.sqrt(s_hat) + eps) + weight_decay * theta), m, s, t


def adam_steps(student):
    """Several Adam steps on each case, each from the state the student's previous step
    returned: yields (what, student's output, reference output, previous theta)."""
    cases = [
        (13, (3,), 0.01, 0.9, 0.999, 1e-7, 6, 1.0),
        (14, (2, 2), 0.1, 0.5, 0.8, 1e-3, 5, 1.0),
        (15, (1,), 0.001, 0.0, 0.99, 1e-7, 3, 1.0),
        (18, (2,), 0.01, 0.9, 0.999, 1e-7, 3, 1e-6),  # tiny gradients: epsilon placement
        (20, (3, 2), 0.01, 0.9, 0.999, 1e-7, 4, 1.0),
    ]
    for seed, shape, lr, b1, b2, eps, steps, scale in cases:
        state = (uniform(seed, shape), np.zeros(shape), np.zeros(shape), 0)
        got = (state[0].copy(), state[1].copy(), state[2].copy(), 0)
        for step in range(steps):
            g = uniform(seed * 11 + step, shape, -3.0 * scale, 3.0 * scale)
            if step == steps - 1:
                g = g * 1e-4
            out = pure(student.adam_step, got[0], g, got[1], got[2], got[3], lr, b1, b2, eps)
            check(
                isinstance(out, list | tuple) and len(out) == 4,
                "adam_step must return (theta, m, s, t)",
            )
            new = adam_reference(*state[:1], g, *state[1:], lr, b1, b2, eps)
            what = f"adam_step (shape {shape}, beta_1={b1}, beta_2={b2}) step {step + 1}"
            yield what, out, new, state[0]
            state, got = new, out


@grades("test_adam_step", points=2)
def test_adam_step(student):
    for what, out, new, previous in adam_steps(student):
        close(
            np.asarray(out[0], dtype=float) - previous,
            new[0] - previous,
            what + ": theta - previous theta",
            rtol=1e-5,
            atol=1e-12,
        )


@grades("test_adam_state", points=1)
def test_adam_state(student):
    for what, out, new, _ in adam_steps(student):
        equal(out[3], new[3], what + ": t")
        close(out[1], new[1], what + ": m", rtol=1e-6, atol=1e-9)
        close(out[2], new[2], what + ": s", rtol=1e-6, atol=1e-9)


@grades("test_adamw_step", points=2)
def test_adamw_step(student):
    for seed, shape, lr, wd in [(16, (3,), 0.01, 0.1), (17, (2, 3), 0.05, 0.004)]:
        state = (uniform(seed, shape, -5.0, 5.0), np.zeros(shape), np.zeros(shape), 0)
        got = (state[0].copy(), state[1].copy(), state[2].copy(), 0)
        for step in range(4):
            g = uniform(seed * 13 + step, shape)
            out = pure(student.adamw_step, got[0], g, got[1], got[2], got[3], lr, wd)
            check(len(out) == 4, "adamw_step must return (theta, m, s, t)")
            new = adam_reference(state[0], g, *state[1:], lr, 0.9, 0.999, 1e-7, weight_decay=wd)
            what = f"adamw_step (shape {shape}, weight_decay={wd}) step {step + 1}"
            equal(out[3], new[3], what + ": t")
            close(out[1], new[1], what + ": m", rtol=1e-6, atol=1e-9)
            close(out[2], new[2], what + ": s", rtol=1e-6, atol=1e-9)
            close(
                np.asarray(out[0], dtype=float) - state[0],
                new[0] - state[0],
                what + ": theta - previous theta",
                rtol=1e-5,
                atol=1e-12,
            )
            state, got = new, out


@grades("test_steps_to_converge", points=2)
def test_steps_to_converge(student):
    for factor, tol, max_steps in [
        (0.5, 1e-6, 100),
        (0.9, 1e-3, 1000),
        (0.5, 1e-6, 10),
        (0.5, 1e-6, 11),
        (1.0, 0.5, 7),
    ]:
        calls = []

        def update(theta, calls=calls, factor=factor):
            calls.append(1)
            return np.asarray(theta, dtype=float) * factor

        got = student.steps_to_converge(update, np.array([1.0, 0.2]), tol, max_steps)
        loss, n = 0.5 * (1.0 + 25.0 * 0.04), 0
        while not loss < tol and n < max_steps:
            loss, n = loss * factor * factor, n + 1
        what = f"steps_to_converge with update theta*{factor}, tol={tol}, max_steps={max_steps}"
        equal(got, n if loss < tol else None, what)
        check(
            len(calls) <= max_steps,
            f"{what}: update called {len(calls)} times, at most {max_steps} allowed",
        )
    # bowl((2, 0)) = 2 and halving divides it by 4 exactly: 2, 0.5, 0.125, 0.03125, ...
    for tol, want in [(0.125, 3), (0.5, 2), (2.0, 1), (0.03125, 4)]:
        got = student.steps_to_converge(
            lambda theta: np.asarray(theta) * 0.5, np.array([2.0, 0.0]), tol, 100
        )
        equal(
            got,
            want,
            f"steps_to_converge from (2, 0) halving theta, tol={tol} (the loss must "
            "be strictly below tol)",
        )
