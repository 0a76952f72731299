"""Hidden tests of 05_regularization (run by the grader, outside the sandbox; see ../README.md)."""

import numpy as np

from optreg.grading.checks import as_array, check, close, equal, grades, pure


def uniform(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def penalty_cases():
    for seed, shape, lam in [(1, (5,), 0.01), (2, (3, 4), 0.5), (3, (2, 2, 3), 2.0)]:
        w = uniform(seed, shape, -2.0, 2.0)
        w.flat[0], w.flat[1] = 0.0, -0.0  # the subgradient of |w| at 0 is taken as 0
        yield w, lam, f"on a weight array of shape {shape} with factor {lam}"


@grades("test_l1", points=1)
def test_l1(student):
    for w, lam, what in penalty_cases():
        close(
            pure(student.l1_penalty, w, lam), lam * np.abs(w).sum(), "l1_penalty " + what, rtol=1e-9
        )
        close(pure(student.l1_gradient, w, lam), lam * np.sign(w), "l1_gradient " + what, rtol=1e-9)


@grades("test_l2", points=1)
def test_l2(student):
    for w, lam, what in penalty_cases():
        close(
            pure(student.l2_penalty, w, lam), lam * (w * w).sum(), "l2_penalty " + what, rtol=1e-9
        )
        close(pure(student.l2_gradient, w, lam), 2 * lam * w, "l2_gradient " + what, rtol=1e-9)


def dropout_cases(student):
    """(what, x, y, mask, the mask again with the same seed, rate, seed) of each training case."""
    for seed, shape, rate in [(4, (120, 150), 0.5), (5, (3, 40, 50), 0.2), (6, (9000,), 0.8)]:
        x = uniform(seed + 1000, shape, 0.5, 1.5)  # not the mask's random stream
        out = pure(student.dropout_forward, x, rate, np.random.default_rng(seed), True)
        check(
            isinstance(out, list | tuple) and len(out) == 2, "dropout_forward must return (y, mask)"
        )
        again = student.dropout_forward(x, rate, np.random.default_rng(seed), True)
        what = f"dropout_forward(rate={rate}) on shape {shape}"
        y, mask = as_array(out[0], what + ": y"), as_array(out[1], what + ": mask")
        yield what, x, y, mask, again, rate, seed


def plain_cases(student, x, rate, seed):
    """dropout_forward's outputs in inference mode and with rate 0 (both must be the identity)."""
    for training, r in [(False, rate), (True, 0.0)]:
        yield (
            f"dropout_forward(rate={r}, training={training})",
            student.dropout_forward(x, r, np.random.default_rng(seed), training),
        )


@grades("test_dropout_forward", points=2)
def test_dropout_forward(student):
    for what, x, y, _mask, _, rate, seed in dropout_cases(student):
        equal(y.shape, x.shape, what + ": shape of y")
        kept = y != 0  # x > 0: y is 0 (dropped) or x / (1 - rate), whatever the mask says
        close(
            y * kept, x * kept / (1 - rate), what + ": y (kept entries x / (1 - rate))", rtol=1e-9
        )
        share = kept.mean()
        check(
            abs(share - (1 - rate)) < 0.03,
            f"{what}: expected a fraction {1 - rate:.2f} of y kept, got {share:.4f}",
        )
        ratio = y.sum() / x.sum()
        check(
            abs(ratio - 1) < 0.1,
            f"{what}: the expected value must be preserved (sum(y)/sum(x) = {ratio:.3f})",
        )
        for label, plain in plain_cases(student, x, rate, seed):
            close(plain[0], x, f"{label}: y must equal x", rtol=0.0, atol=0.0)


@grades("test_dropout_mask", points=1)
def test_dropout_mask(student):
    for what, x, y, mask, again, rate, seed in dropout_cases(student):
        equal(mask.shape, x.shape, what + ": shape of mask")
        check(np.isin(mask, [0.0, 1.0]).all(), what + ": the mask must hold only 0.0 and 1.0")
        check(np.array_equal(mask, y != 0), what + ": the mask must be 1.0 exactly where y keeps x")
        check(
            np.array_equal(mask, as_array(again[1], what)),
            what + ": the same rng seed must give the same mask",
        )
        kept = mask.mean()
        check(
            abs(kept - (1 - rate)) < 0.03,
            f"{what}: expected a fraction {1 - rate:.2f} of entries kept, got {kept:.4f}",
        )
        for label, plain in plain_cases(student, x, rate, seed):
            close(plain[1], np.ones(x.shape), f"{label}: mask must be ones", rtol=0.0, atol=0.0)


@grades("test_dropout_backward", points=1)
def test_dropout_backward(student):
    for seed, shape, rate in [(7, (4, 5), 0.25), (8, (7,), 0.6), (9, (2, 3, 2), 0.0)]:
        dy = uniform(seed, shape)
        mask = (uniform(seed + 1, shape) > -0.3).astype(float)
        close(
            student.dropout_backward(dy, mask, rate),
            dy * mask / (1 - rate),
            f"dropout_backward(rate={rate}) on shape {shape}",
            rtol=1e-9,
        )


@grades("test_max_norm", points=2)
def test_max_norm(student):
    for seed, rows, cols, r, axis in [(10, 4, 3, 1.0, 0), (11, 3, 5, 0.5, 1), (12, 6, 2, 10.0, 0)]:
        w = uniform(seed, (rows, cols), -2.0, 2.0)
        norms = np.sqrt((w * w).sum(axis=axis, keepdims=True))
        got = pure(student.max_norm, w, r, axis)
        close(
            got,
            w * np.minimum(norms, r) / (1e-7 + norms),
            f"max_norm(max_value={r}, axis={axis}) on a {rows}x{cols} kernel",
            rtol=1e-7,
            atol=1e-12,
        )
    # a unit whose incoming weights are all zero (a dead unit) must stay zero, not become nan
    zero = student.max_norm(np.array([[3.0, 0.0], [4.0, 0.0]]), 1.0, 0)
    close(
        zero,
        [[3.0 / (5.0 + 1e-7), 0.0], [4.0 / (5.0 + 1e-7), 0.0]],
        "max_norm(max_value=1, axis=0) on [[3, 0], [4, 0]] (a zero column)",
        rtol=1e-9,
        atol=0.0,
    )


@grades("test_clip_by_value", points=1)
def test_clip_by_value(student):
    for seed, shape, c in [(13, (6,), 0.5), (14, (3, 4), 1.5), (15, (2,), 10.0)]:
        g = uniform(seed, shape, -3.0, 3.0)
        close(
            pure(student.clip_by_value, g, c),
            np.clip(g, -c, c),
            f"clip_by_value(clip_value={c}) on shape {shape}",
            rtol=0.0,
            atol=0.0,
        )
    # the lower bound is -clip_value: only negative components are clipped here
    g = np.array([-5.0, -0.25, 0.25])
    close(
        student.clip_by_value(g, 1.0),
        [-1.0, -0.25, 0.25],
        "clip_by_value([-5, -0.25, 0.25], 1)",
        rtol=0.0,
        atol=0.0,
    )


@grades("test_clip_by_norm", points=1)
def test_clip_by_norm(student):
    for seed, shape, c in [(16, (5,), 0.5), (17, (3, 3), 100.0), (18, (2, 2), 2.0)]:
        g = uniform(seed, shape, -3.0, 3.0)
        norm = np.sqrt((g * g).sum())
        close(
            pure(student.clip_by_norm, g, c),
            g * c / max(norm, c),
            f"clip_by_norm(clip_norm={c}) on shape {shape} (norm {norm:.4g})",
            rtol=1e-9,
        )
    close(
        student.clip_by_norm(np.array([3.0, 4.0]), 5.0),
        [3.0, 4.0],
        "clip_by_norm([3, 4], clip_norm=5) (norm exactly at the threshold)",
        rtol=1e-12,
    )


def global_norm_cases(student):
    """(what, the gradients, the right global norm and scale, what the student returned)."""
    for seed, shapes, c in [
        (19, [(3,), (2, 2)], 1.0),
        (20, [(4,), (1,), (2, 3)], 50.0),
        (21, [(5,)], 0.1),
    ]:
        grads = [uniform(seed + k, shape, -2.0, 2.0) for k, shape in enumerate(shapes)]
        total = np.sqrt(sum((g * g).sum() for g in grads))
        got = pure(student.clip_by_global_norm, grads, c)
        check(
            isinstance(got, list | tuple) and len(got) == 2,
            "clip_by_global_norm must return (clipped_list, global_norm)",
        )
        what = f"clip_by_global_norm(clip_norm={c}) on shapes {shapes}"
        yield what, grads, total, c / max(total, c), got


@grades("test_clip_by_global_norm_clipped", points=1)
def test_clip_by_global_norm_clipped(student):
    for what, grads, _total, scale, got in global_norm_cases(student):
        check(isinstance(got[0], list | tuple), what + ": the clipped gradients must be a list")
        equal(len(got[0]), len(grads), what + ": number of gradients returned")
        for k, g in enumerate(grads):
            close(got[0][k], g * scale, f"{what}: gradient {k}", rtol=1e-9)


@grades("test_clip_by_global_norm_norm", points=1)
def test_clip_by_global_norm_norm(student):
    for what, _grads, total, _scale, got in global_norm_cases(student):
        close(got[1], total, what + ": global norm", rtol=1e-9)


def early_stopping_cases(student):
    """(what, what the student returned, the right (stop_epoch, best_epoch)) of each case."""
    cases = [
        ([1.0, 0.5, 0.6, 0.4, 0.45, 0.46, 0.47, 0.3], 3, 0.0),
        ([1.0, 0.5, 0.6, 0.4, 0.45, 0.46, 0.47, 0.3], 1, 0.0),
        ([1.0, 0.95, 0.91, 0.9, 0.89, 0.88, 0.5], 2, 0.05),
        ([0.3, 0.3, 0.3, 0.3], 4, 0.0),
        ([2.0, 1.0, 0.5, 0.25, 0.1], 1, 0.0),
        ([0.5], 1, 0.0),
        # the counter starts at 0: a first epoch that diverged does not improve on +inf
        ([np.inf, 0.5, 0.6], 2, 0.0),
        ([np.inf, np.inf, 0.5, 0.4], 3, 0.0),
    ]
    for losses, patience, min_delta in cases:
        best, best_epoch, wait, stop = np.inf, 0, 0, len(losses) - 1
        for epoch, loss in enumerate(losses):
            if loss < best - min_delta:
                best, best_epoch, wait = loss, epoch, 0
            else:
                wait += 1
                if wait >= patience:
                    stop = epoch
                    break
        got = pure(student.early_stopping, list(losses), patience, min_delta)
        check(
            isinstance(got, list | tuple) and len(got) == 2,
            "early_stopping must return (stop_epoch, best_epoch)",
        )
        what = f"early_stopping({losses}, patience={patience}, min_delta={min_delta})"
        yield what, got, (stop, best_epoch)


@grades("test_early_stopping_stop", points=1)
def test_early_stopping_stop(student):
    for what, got, want in early_stopping_cases(student):
        equal(got[0], want[0], what + ": stop_epoch")


@grades("test_early_stopping_best", points=1)
def test_early_stopping_best(student):
    for what, got, want in early_stopping_cases(student):
        equal(got[1], want[1], what + ": best_epoch")
