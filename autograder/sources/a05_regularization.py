"""05_regularization: penalties, inverted dropout, max-norm, clipping, early stopping."""

from nbsrc import locked, md, solution, tests, written

NAME = "05_regularization"

CELLS = [
    md("""
    # Assignment 5 — Regularization

    Regularization trades a little training accuracy for better generalization. You will write
    the pieces that Keras offers as regularizers, layers, constraints, optimizer options and
    callbacks, as plain NumPy functions: weight penalties and their gradients, inverted dropout,
    the max-norm constraint, gradient clipping, and the early-stopping rule.

    NumPy only; return new arrays and never modify your inputs. The grader tests other shapes,
    several rates, the edge cases (a rate of 0, a zero weight, a norm exactly at the threshold)
    and the statistics of random masks.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. L1 and L2 penalties (1 + 1 points)

    Keras' regularizers add to the loss (note: no factor $\tfrac12$ in the L2 penalty)

    $$\Omega_{L1}(w) = \lambda_1 \sum |w|, \qquad \Omega_{L2}(w) = \lambda_2 \sum w^2$$

    whose gradients are $\lambda_1\,\mathrm{sign}(w)$ (taking $0$ at $w = 0$) and
    $2\lambda_2 w$. L1 pushes weights to exactly zero (sparse models); L2 shrinks all weights
    proportionally. L1 (1 point) and L2 (1 point) are graded separately.

    *The grader also checks:* vectors, matrices and 3-D arrays with zeros (`0.0` and `-0.0`),
    several factors, the penalties as numbers, and that `w` is not modified.
    """),
    solution(
        "penalties",
        """
    def l1_penalty(w, l1=0.01):
        ### BEGIN SOLUTION
        return l1 * np.sum(np.abs(w))
        ### END SOLUTION


    def l1_gradient(w, l1=0.01):
        ### BEGIN SOLUTION
        return l1 * np.sign(w)
        ### END SOLUTION


    def l2_penalty(w, l2=0.01):
        ### BEGIN SOLUTION
        return l2 * np.sum(w * w)
        ### END SOLUTION


    def l2_gradient(w, l2=0.01):
        ### BEGIN SOLUTION
        return 2 * l2 * w
        ### END SOLUTION
    """,
    ),
    tests(
        "test_l1",
        """
    # tests: l1_penalty and l1_gradient on a 2x3 kernel (one weight exactly 0)
    w = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -1.5]])
    given = w.copy()
    got = l1_penalty(w, 0.1)
    assert np.ndim(got) == 0 and np.isclose(got, 0.8), f"l1_penalty: expected the number 0.8, got {got}"
    got = l1_gradient(w, 0.1)
    want = [[0.1, -0.1, 0.0], [0.1, 0.1, -0.1]]
    assert np.shape(got) == (2, 3) and np.allclose(got, want), f"l1_gradient: expected {want}, got {got}"
    assert np.array_equal(w, given), "the L1 functions must not modify w"
    """,
    ),
    tests(
        "test_l2",
        """
    # tests: l2_penalty and l2_gradient on a 2x3 kernel
    w = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -1.5]])
    given = w.copy()
    got = l2_penalty(w, 0.1)
    assert np.ndim(got) == 0 and np.isclose(got, 1.65), f"l2_penalty: expected the number 1.65, got {got}"
    got = l2_gradient(w, 0.1)
    want = [[0.2, -0.4, 0.0], [0.1, 0.6, -0.3]]
    assert np.shape(got) == (2, 3) and np.allclose(got, want), f"l2_gradient: expected {want}, got {got}"
    assert np.array_equal(w, given), "the L2 functions must not modify w"
    """,
    ),
    md(r"""
    ## 2. Inverted dropout (2 + 1 + 1 points)

    During training, dropout zeroes each activation independently with probability `rate`.
    *Inverted* dropout also divides the survivors by the keep probability $1 - \text{rate}$, so
    that the expected value of every activation is unchanged and nothing needs rescaling at
    inference, where dropout does nothing at all.

    `dropout_forward(x, rate, rng, training)` returns `(y, mask)` where `mask` holds `1.0` for
    kept entries and `0.0` for dropped ones: draw it from `rng` (keep an entry when
    `rng.random() >= rate`). In inference mode (`training=False`), or when `rate == 0`, return
    `y` equal to `x` and a mask of ones. `dropout_backward(dy, mask, rate)` returns the gradient
    with respect to `x`.

    *The grader also checks:* other shapes (1-D to 3-D) and rates (0.2 to 0.8), the mask's
    values, fraction and reproducibility, `y` exactly `x * mask / (1 - rate)`, the expected
    value preserved, inference and `rate == 0`, `dropout_backward` with `rate == 0`, and that
    `x` is not modified. `y` (2 points) and the mask (1 point) are graded in separate cells.
    """),
    solution(
        "dropout",
        """
    def dropout_forward(x, rate, rng, training):
        \"\"\"Inverted dropout; returns (y, mask).\"\"\"
        ### BEGIN SOLUTION
        if not training or rate == 0:
            return x.copy(), np.ones_like(x)
        mask = (rng.random(x.shape) >= rate).astype(x.dtype)
        return x * mask / (1 - rate), mask
        ### END SOLUTION


    def dropout_backward(dy, mask, rate):
        \"\"\"Gradient of the loss with respect to dropout_forward's input.\"\"\"
        ### BEGIN SOLUTION
        return dy * mask / (1 - rate)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_dropout_forward",
        """
    # tests: dropout_forward: y, on a 100x150 batch
    x = np.random.default_rng(1).uniform(0.5, 1.5, (100, 150))
    given = x.copy()
    y, mask = dropout_forward(x, 0.3, np.random.default_rng(0), training=True)
    assert np.shape(y) == (100, 150), f"y: expected shape (100, 150), got {np.shape(y)}"
    kept = y != 0   # x > 0: an entry of y is 0 (dropped) or x / (1 - rate) (kept)
    assert np.allclose(y[kept], x[kept] / 0.7), "y: kept entries must be divided by 1 - rate"
    assert abs(kept.mean() - 0.7) < 0.02, f"y: expected about 70% of entries kept, got {kept.mean():.1%}"
    assert abs(y.sum() / x.sum() - 1) < 0.05, "y: the expected value of the activations must be kept"
    assert np.array_equal(x, given), "dropout_forward modified x: return a new array"
    for rate, training in [(0.3, False), (0.0, True)]:
        y, _ = dropout_forward(x, rate, np.random.default_rng(0), training=training)
        assert np.array_equal(y, x), f"rate={rate}, training={training}: y must equal x"
    """,
    ),
    tests(
        "test_dropout_mask",
        """
    # tests: dropout_forward: the mask, on a 100x150 batch
    x = np.random.default_rng(1).uniform(0.5, 1.5, (100, 150))
    y, mask = dropout_forward(x, 0.3, np.random.default_rng(0), training=True)
    assert np.shape(mask) == (100, 150), f"mask: expected shape (100, 150), got {np.shape(mask)}"
    assert set(np.unique(mask)) <= {0.0, 1.0}, "the mask must hold 0.0 and 1.0 only"
    assert abs(mask.mean() - 0.7) < 0.02, f"expected about 70% kept, got {mask.mean():.1%}"
    assert np.array_equal(mask, y != 0), "the mask must be 1.0 exactly where y keeps x"
    _, again = dropout_forward(x, 0.3, np.random.default_rng(0), training=True)
    assert np.array_equal(mask, again), "the same rng seed must give the same mask"
    for rate, training in [(0.3, False), (0.0, True)]:
        _, mask = dropout_forward(x, rate, np.random.default_rng(0), training=training)
        assert np.array_equal(mask, np.ones_like(x)), f"rate={rate}, training={training}: mask of ones"
    """,
    ),
    tests(
        "test_dropout_backward",
        """
    # tests: dropout_backward on a 2x3 gradient
    dy = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    dx = dropout_backward(dy, mask, 0.5)
    want = [[2.0, 0.0, 6.0], [0.0, 1.0, 8.0]]
    assert np.shape(dx) == (2, 3) and np.allclose(dx, want), f"expected {want}, got {dx}"
    """,
    ),
    md(r"""
    ## 3. Max-norm constraint (2 points)

    After each training step, max-norm rescales every weight vector whose norm exceeds `r`
    back onto the ball of radius `r`. Keras computes the norms along `axis` (axis 0 of a dense
    kernel = the incoming weights of each unit) and applies

    $$w \leftarrow w \cdot \frac{\min(\lVert w\rVert, r)}{\varepsilon + \lVert w\rVert},
    \qquad \varepsilon = 10^{-7}$$

    *The grader also checks:* other kernel shapes, `axis` 0 and 1, radii that clip some, all or
    none of the vectors, a zero vector (it must stay zero, not become `nan`), and that `w` is
    not modified.
    """),
    solution(
        "max_norm",
        """
    def max_norm(w, max_value=2.0, axis=0):
        \"\"\"Project each weight vector along `axis` onto the ball of radius max_value.\"\"\"
        ### BEGIN SOLUTION
        norms = np.sqrt(np.sum(w * w, axis=axis, keepdims=True))
        desired = np.clip(norms, 0, max_value)
        return w * desired / (1e-7 + norms)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_max_norm",
        """
    # tests: max_norm on a 2x3 kernel: columns of norm 5, 1 and 2.5 (axis 0), rows (axis 1)
    w = np.array([[3.0, 0.6, 1.5], [4.0, 0.8, 2.0]])
    given = w.copy()
    got = max_norm(w, max_value=2.0, axis=0)
    want = [[1.2, 0.6, 1.2], [1.6, 0.8, 1.6]]
    assert np.shape(got) == (2, 3) and np.allclose(got, want, atol=1e-6), f"axis=0: expected {want}, got {got}"
    got = max_norm(w, max_value=2.0, axis=1)   # row norms sqrt(11.61) and sqrt(20.64)
    want = w * 2.0 / np.sqrt((w * w).sum(axis=1, keepdims=True))
    assert np.allclose(got, want, atol=1e-6), f"axis=1: expected {want}, got {got}"
    assert np.array_equal(w, given), "max_norm modified w: return a new array"
    """,
    ),
    md(r"""
    ## 4. Gradient clipping (1 + 1 + 1 + 1 points)

    * `clip_by_value(g, clip_value)`: clip every component to $[-c, c]$ — this can change the
      gradient's direction;
    * `clip_by_norm(g, clip_norm)`: if $\lVert g\rVert_2 > c$, rescale $g$ to norm $c$:
      $g \cdot c / \max(\lVert g\rVert_2, c)$ — the direction is kept;
    * `clip_by_global_norm(grads, clip_norm)`: the same with the norm of all gradients together,
      $N = \sqrt{\sum_k \lVert g_k\rVert_2^2}$: every $g_k$ becomes $g_k \cdot c / \max(N, c)$.
      Return `(clipped_list, N)` (a list of new arrays and a number).

    *The grader also checks:* other shapes and thresholds (norms below, above and exactly at
    the threshold, only negative components clipped), every returned array and the norm, and
    that no input is modified. `clip_by_global_norm`'s list (1 point) and norm (1 point) are
    graded in separate cells.
    """),
    solution(
        "clipping",
        """
    def clip_by_value(g, clip_value):
        ### BEGIN SOLUTION
        return np.clip(g, -clip_value, clip_value)
        ### END SOLUTION


    def clip_by_norm(g, clip_norm):
        ### BEGIN SOLUTION
        norm = np.sqrt(np.sum(g * g))
        return g * clip_norm / max(norm, clip_norm)
        ### END SOLUTION


    def clip_by_global_norm(grads, clip_norm):
        ### BEGIN SOLUTION
        global_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        scale = clip_norm / max(global_norm, clip_norm)
        return [g * scale for g in grads], global_norm
        ### END SOLUTION
    """,
    ),
    tests(
        "test_clip_by_value",
        """
    # tests: clip_by_value on a 2x3 gradient
    g = np.array([[-3.0, 0.5, 2.0], [1.0, -0.25, -1.5]])
    given = g.copy()
    got = clip_by_value(g, 1.0)
    want = [[-1.0, 0.5, 1.0], [1.0, -0.25, -1.0]]
    assert np.shape(got) == (2, 3) and np.allclose(got, want), f"expected {want}, got {got}"
    assert np.array_equal(g, given), "clip_by_value modified g: return a new array"
    """,
    ),
    tests(
        "test_clip_by_norm",
        """
    # tests: clip_by_norm on a 2x3 gradient of norm 5
    g = np.array([[3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    given = g.copy()
    got = clip_by_norm(g, 1.0)
    assert np.shape(got) == (2, 3) and np.allclose(got, g / 5), f"expected {g / 5}, got {got}"
    assert np.allclose(clip_by_norm(g, 10.0), g), "a norm below clip_norm leaves g unchanged"
    assert np.allclose(clip_by_norm(g, 5.0), g), "a norm exactly at clip_norm leaves g unchanged"
    assert np.array_equal(g, given), "clip_by_norm modified g: return a new array"
    """,
    ),
    tests(
        "test_clip_by_global_norm_clipped",
        """
    # tests: clip_by_global_norm: the clipped list; a 2x3 gradient (norm 3) and a vector (norm 4), N = 5
    grads = [np.array([[1.0, 2.0, 0.0], [0.0, 2.0, 0.0]]), np.array([0.0, 4.0])]
    given = [g.copy() for g in grads]
    clipped, _ = clip_by_global_norm(grads, 1.0)
    assert isinstance(clipped, list) and len(clipped) == 2, f"expected a list of 2 arrays, got {clipped}"
    assert np.allclose(clipped[0], grads[0] / 5) and np.allclose(clipped[1], [0.0, 0.8]), f"got {clipped}"
    assert all(np.array_equal(a, b) for a, b in zip(grads, given)), "clip_by_global_norm modified its inputs"
    """,
    ),
    tests(
        "test_clip_by_global_norm_norm",
        """
    # tests: clip_by_global_norm: the global norm of a 2x3 gradient (norm 3) and a vector (norm 4) is 5
    grads = [np.array([[1.0, 2.0, 0.0], [0.0, 2.0, 0.0]]), np.array([0.0, 4.0])]
    _, norm = clip_by_global_norm(grads, 1.0)
    assert np.ndim(norm) == 0 and np.isclose(norm, 5.0), f"expected global norm 5, got {norm}"
    """,
    ),
    md(r"""
    ## 5. Early stopping (1 + 1 points)

    Keras' `EarlyStopping` watches the validation loss after each epoch. An epoch **improves**
    when its loss is below `best - min_delta`; otherwise a counter `wait` grows, and training
    stops at the end of the epoch where `wait` reaches `patience`. With
    `restore_best_weights=True` the model goes back to the best epoch's weights.

    `early_stopping(val_losses, patience, min_delta=0.0)` replays that rule on a list of losses
    (epochs numbered from 0) and returns `(stop_epoch, best_epoch)`: the epoch at whose end
    training stops (the last epoch if it never stops), and the epoch whose weights are restored.

    *The grader also checks:* other patiences (1 included) and `min_delta`, a single epoch,
    constant losses, a first loss that is `inf`, both returned epochs, and that the list is
    not modified. `stop_epoch` (1 point) and `best_epoch` (1 point) are graded in separate cells.
    """),
    solution(
        "early_stopping",
        """
    def early_stopping(val_losses, patience, min_delta=0.0):
        \"\"\"(epoch where training stops, epoch of the best weights), epochs counted from 0.\"\"\"
        ### BEGIN SOLUTION
        best, best_epoch, wait = np.inf, 0, 0
        for epoch, loss in enumerate(val_losses):
            if loss < best - min_delta:
                best, best_epoch, wait = loss, epoch, 0
            else:
                wait += 1
                if wait >= patience:
                    return epoch, best_epoch
        return len(val_losses) - 1, best_epoch
        ### END SOLUTION
    """,
    ),
    tests(
        "test_early_stopping_stop",
        """
    # tests: early_stopping: stop_epoch
    losses = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7]
    stop, _ = early_stopping(losses, patience=3)
    assert stop == 4, f"expected stop_epoch 4, got {stop}"
    assert losses == [1.0, 0.8, 0.9, 0.85, 0.95, 0.7], "early_stopping modified the list of losses"
    stop, _ = early_stopping([1.0, 0.9, 0.8], patience=2)
    assert stop == 2, f"never stops: expected the last epoch 2, got {stop}"
    stop, _ = early_stopping([1.0, 0.97, 0.96, 0.9], patience=2, min_delta=0.05)
    assert stop == 2, f"0.97 and 0.96 do not improve on 1.0 by more than 0.05: expected stop_epoch 2, got {stop}"
    """,
    ),
    tests(
        "test_early_stopping_best",
        """
    # tests: early_stopping: best_epoch
    _, best = early_stopping([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], patience=3)
    assert best == 1, f"expected best_epoch 1, got {best}"
    _, best = early_stopping([1.0, 0.9, 0.8], patience=2)
    assert best == 2, f"never stops: expected best_epoch 2, got {best}"
    _, best = early_stopping([1.0, 0.97, 0.96, 0.9], patience=2, min_delta=0.05)
    assert best == 0, f"0.97 and 0.96 do not improve on 1.0 by more than 0.05: expected best_epoch 0, got {best}"
    """,
    ),
    written(
        "explain_inverted_dropout",
        r"""
    ## 6. In your own words (2 points, graded by hand)

    Explain why inverted dropout divides the kept activations by $1 - \text{rate}$ during
    training, and what would go wrong at inference if a network trained with dropout that does
    *not* rescale were used without any correction. Why is this rescaling done in training rather
    than at inference? (Three to five sentences.)
    """,
        r"""
    Each activation is kept with probability $1 - \text{rate}$, so without rescaling its expected
    value in training is $(1 - \text{rate})$ times its value; the next layer's weights adapt to
    that smaller scale. At inference nothing is dropped, so every activation would be
    $1 / (1 - \text{rate})$ times larger than what the next layer saw in training, which shifts
    all pre-activations and degrades the predictions. Dividing the survivors by
    $1 - \text{rate}$ keeps the expected value equal to the value at inference, so inference is
    the plain network with no special case: no rescaling code in deployment, and the same model
    can be exported as is.
    """,
    ),
]
