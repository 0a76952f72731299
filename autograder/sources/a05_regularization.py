"""05_regularization: penalties, inverted dropout, max-norm, clipping, early stopping."""

from nbsrc import locked, md, solution, tests

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
    locked("imports", """
    import numpy as np
    """),
    md(r"""
    ## 1. L1 and L2 penalties (2 points)

    Keras' regularizers add to the loss (note: no factor $\tfrac12$ in the L2 penalty)

    $$\Omega_{L1}(w) = \lambda_1 \sum |w|, \qquad \Omega_{L2}(w) = \lambda_2 \sum w^2$$

    whose gradients are $\lambda_1\,\mathrm{sign}(w)$ (taking $0$ at $w = 0$) and
    $2\lambda_2 w$. L1 pushes weights to exactly zero (sparse models); L2 shrinks all weights
    proportionally.
    """),
    solution("penalties", """
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
    """),
    tests("test_penalties", 2, visible="""
    # tests: penalties and their gradients
    w = np.array([[1.0, -2.0], [0.0, 3.0]])
    assert np.isclose(l1_penalty(w, 0.1), 0.6), l1_penalty(w, 0.1)
    assert np.allclose(l1_gradient(w, 0.1), [[0.1, -0.1], [0.0, 0.1]]), l1_gradient(w, 0.1)
    assert np.isclose(l2_penalty(w, 0.1), 1.4), l2_penalty(w, 0.1)
    assert np.allclose(l2_gradient(w, 0.1), [[0.2, -0.4], [0.0, 0.6]]), l2_gradient(w, 0.1)
    """, hidden="""
    for seed, shape, lam in [(1, [5], 0.01), (2, [3, 4], 0.5), (3, [2, 2, 3], 2.0)]:
        w = _flat(_rand(shape, seed, -2.0, 2.0))
        w[0], w[1] = 0.0, -0.0   # the subgradient of |w| at 0 is taken as 0
        arr = _arr(_reshape(w, _tuple(shape)))
        what = f"on a weight array of shape {_tuple(shape)} with factor {lam}"
        _close("l1_penalty " + what, _call("l1_penalty", l1_penalty, arr, lam),
               lam * _sum([_abs(v) for v in w]), rtol=1e-9)
        _close("l2_penalty " + what, _call("l2_penalty", l2_penalty, arr, lam),
               lam * _sum([v * v for v in w]), rtol=1e-9)
        sign = [1.0 if v > 0 else (-1.0 if v < 0 else 0.0) for v in w]
        _close("l1_gradient " + what, _call("l1_gradient", l1_gradient, arr, lam),
               _reshape([lam * s for s in sign], _tuple(shape)), rtol=1e-9)
        _close("l2_gradient " + what, _call("l2_gradient", l2_gradient, arr, lam),
               _reshape([2 * lam * v for v in w], _tuple(shape)), rtol=1e-9)
    """, uses={"l1_penalty", "l2_penalty", "l1_gradient", "l2_gradient"}),
    md(r"""
    ## 2. Inverted dropout (3 + 1 points)

    During training, dropout zeroes each activation independently with probability `rate`.
    *Inverted* dropout also divides the survivors by the keep probability $1 - \text{rate}$, so
    that the expected value of every activation is unchanged and nothing needs rescaling at
    inference, where dropout does nothing at all.

    `dropout_forward(x, rate, rng, training)` returns `(y, mask)` where `mask` holds `1.0` for
    kept entries and `0.0` for dropped ones: draw it from `rng` (keep an entry when
    `rng.random() >= rate`). In inference mode (`training=False`), or when `rate == 0`, return
    `y` equal to `x` and a mask of ones. `dropout_backward(dy, mask, rate)` returns the gradient
    with respect to `x`.
    """),
    solution("dropout", """
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
    """),
    tests("test_dropout_forward", 3, visible="""
    # tests: dropout_forward
    x = np.ones((100, 100))
    y, mask = dropout_forward(x, 0.3, np.random.default_rng(0), training=True)
    assert set(np.unique(mask)) <= {0.0, 1.0}, "the mask must hold 0.0 and 1.0 only"
    assert abs(mask.mean() - 0.7) < 0.02, f"expected about 70% kept, got {mask.mean():.1%}"
    assert np.allclose(y, mask / 0.7), "kept entries must be divided by 1 - rate"
    y, mask = dropout_forward(x, 0.3, np.random.default_rng(0), training=False)
    assert np.allclose(y, x) and np.allclose(mask, 1), "inference must leave x unchanged"
    """, hidden="""
    for seed, shape, rate in [(4, (120, 150), 0.5), (5, (3, 40, 50), 0.2), (6, (9000,), 0.8)]:
        x = _rand(shape, seed, 0.5, 1.5)
        x_in = _arr(x)
        out = _call("dropout_forward", dropout_forward, x_in, rate,
                    _np.random.default_rng(seed), True)
        _true("dropout_forward must return (y, mask)", _len(out) == 2)
        _true("dropout_forward modified its argument x in place: return a new array",
              _nested(x_in) == x)
        again = _call("dropout_forward", dropout_forward, _arr(x), rate,
                      _np.random.default_rng(seed), True)
        y, mask = _flat(_nested(out[0])), _flat(_nested(out[1]))
        xs = _flat(x)
        what = f"dropout_forward(rate={rate}) on shape {shape}"
        _equal(what + ": shape of y", _shape(_nested(out[0])), shape)
        _equal(what + ": shape of mask", _shape(_nested(out[1])), shape)
        _true(what + ": the mask must hold only 0.0 and 1.0",
              _len([m for m in mask if m != 0.0 and m != 1.0]) == 0)
        _true(what + ": the same rng seed must give the same mask",
              mask == _flat(_nested(again[1])))
        kept = _sum(mask) / _len(mask)
        _true(f"{what}: expected a fraction {1 - rate:.2f} of entries kept, got {kept:.4f}",
              _abs(kept - (1 - rate)) < 0.03)
        _close(what + ": y (kept entries divided by 1 - rate)", y,
               [xs[i] * mask[i] / (1 - rate) for i in _range(_len(xs))], rtol=1e-9)
        mean_ratio = _sum(y) / _sum(xs)
        _true(f"{what}: the expected value must be preserved (sum(y)/sum(x) = {mean_ratio:.3f})",
              _abs(mean_ratio - 1) < 0.1)
        for training, r in [(False, rate), (True, 0.0)]:
            plain = _call("dropout_forward", dropout_forward, _arr(x), r,
                          _np.random.default_rng(seed), training)
            _close(f"dropout_forward(rate={r}, training={training}): y must equal x",
                   plain[0], x, rtol=0.0, atol=0.0)
            _close(f"dropout_forward(rate={r}, training={training}): mask must be ones",
                   plain[1], _reshape([1.0] * _len(xs), shape), rtol=0.0, atol=0.0)
    """, uses={"dropout_forward"}),
    tests("test_dropout_backward", 1, visible="""
    # tests: dropout_backward
    dx = dropout_backward(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 1.0]), 0.5)
    assert np.allclose(dx, [2.0, 0.0, 6.0]), f"expected [2, 0, 6], got {dx}"
    """, hidden="""
    for seed, shape, rate in [(7, (4, 5), 0.25), (8, (7,), 0.6), (9, (2, 3, 2), 0.0)]:
        dy = _flat(_rand(shape, seed))
        mask = [1.0 if v > -0.3 else 0.0 for v in _flat(_rand(shape, seed + 1))]
        got = _call("dropout_backward", dropout_backward, _arr(_reshape(dy, shape)),
                    _arr(_reshape(mask, shape)), rate)
        _close(f"dropout_backward(rate={rate}) on shape {shape}", got,
               _reshape([dy[i] * mask[i] / (1 - rate) for i in _range(_len(dy))], shape),
               rtol=1e-9)
    """, uses={"dropout_backward"}),
    md(r"""
    ## 3. Max-norm constraint (2 points)

    After each training step, max-norm rescales every weight vector whose norm exceeds `r`
    back onto the ball of radius `r`. Keras computes the norms along `axis` (axis 0 of a dense
    kernel = the incoming weights of each unit) and applies

    $$w \leftarrow w \cdot \frac{\min(\lVert w\rVert, r)}{\varepsilon + \lVert w\rVert},
    \qquad \varepsilon = 10^{-7}$$
    """),
    solution("max_norm", """
    def max_norm(w, max_value=2.0, axis=0):
        \"\"\"Project each weight vector along `axis` onto the ball of radius max_value.\"\"\"
        ### BEGIN SOLUTION
        norms = np.sqrt(np.sum(w * w, axis=axis, keepdims=True))
        desired = np.clip(norms, 0, max_value)
        return w * desired / (1e-7 + norms)
        ### END SOLUTION
    """),
    tests("test_max_norm", 2, visible="""
    # tests: max_norm on a kernel with columns of norm 5 and 1
    w = np.array([[3.0, 0.6], [4.0, 0.8]])
    got = max_norm(w, max_value=2.0, axis=0)
    assert np.allclose(got, [[1.2, 0.6], [1.6, 0.8]], atol=1e-6), f"got {got}"
    """, hidden="""
    for seed, rows, cols, r, axis in [(10, 4, 3, 1.0, 0), (11, 3, 5, 0.5, 1), (12, 6, 2, 10.0, 0)]:
        w = _rand([rows, cols], seed, -2.0, 2.0)
        w_in = _arr(w)
        got = _call("max_norm", max_norm, w_in, r, axis)
        _true("max_norm modified its argument w in place: return a new array", _nested(w_in) == w)
        if axis == 0:
            norms = [_sqrt(_sum([w[i][j] ** 2 for i in _range(rows)])) for j in _range(cols)]
            want = [[w[i][j] * (norms[j] if norms[j] < r else r) / (1e-7 + norms[j])
                     for j in _range(cols)] for i in _range(rows)]
        else:
            norms = [_sqrt(_sum([v * v for v in row])) for row in w]
            want = [[w[i][j] * (norms[i] if norms[i] < r else r) / (1e-7 + norms[i])
                     for j in _range(cols)] for i in _range(rows)]
        _close(f"max_norm(max_value={r}, axis={axis}) on a {rows}x{cols} kernel", got, want,
               rtol=1e-7, atol=1e-12)
    # a unit whose incoming weights are all zero (a dead unit) must stay zero, not become nan
    zero = _call("max_norm", max_norm, _arr([[3.0, 0.0], [4.0, 0.0]]), 1.0, 0)
    _close("max_norm(max_value=1, axis=0) on [[3, 0], [4, 0]] (a zero column)", zero,
           [[3.0 / (5.0 + 1e-7), 0.0], [4.0 / (5.0 + 1e-7), 0.0]], rtol=1e-9, atol=0.0)
    """, uses={"max_norm"}),
    md(r"""
    ## 4. Gradient clipping (1 + 1 + 2 points)

    * `clip_by_value(g, clip_value)`: clip every component to $[-c, c]$ — this can change the
      gradient's direction;
    * `clip_by_norm(g, clip_norm)`: if $\lVert g\rVert_2 > c$, rescale $g$ to norm $c$:
      $g \cdot c / \max(\lVert g\rVert_2, c)$ — the direction is kept;
    * `clip_by_global_norm(grads, clip_norm)`: the same with the norm of all gradients together,
      $N = \sqrt{\sum_k \lVert g_k\rVert_2^2}$: every $g_k$ becomes $g_k \cdot c / \max(N, c)$.
      Return `(clipped_list, N)`.
    """),
    solution("clipping", """
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
    """),
    tests("test_clip_by_value", 1, visible="""
    # tests: clip_by_value
    assert np.allclose(clip_by_value(np.array([-3.0, 0.5, 2.0]), 1.0), [-1.0, 0.5, 1.0])
    """, hidden="""
    for seed, shape, c in [(13, (6,), 0.5), (14, (3, 4), 1.5), (15, (2,), 10.0)]:
        g = _flat(_rand(shape, seed, -3.0, 3.0))
        g_in = _arr(_reshape(g, shape))
        got = _call("clip_by_value", clip_by_value, g_in, c)
        _true("clip_by_value modified its argument g in place: return a new array",
              _flat(_nested(g_in)) == g)
        want = [(c if v > c else (-c if v < -c else v)) for v in g]
        _close(f"clip_by_value(clip_value={c}) on shape {shape}", got, _reshape(want, shape),
               rtol=0.0, atol=0.0)
    """, uses={"clip_by_value"}),
    tests("test_clip_by_norm", 1, visible="""
    # tests: clip_by_norm
    assert np.allclose(clip_by_norm(np.array([3.0, 4.0]), 1.0), [0.6, 0.8])
    assert np.allclose(clip_by_norm(np.array([3.0, 4.0]), 10.0), [3.0, 4.0])
    """, hidden="""
    for seed, shape, c in [(16, (5,), 0.5), (17, (3, 3), 100.0), (18, (2, 2), 2.0)]:
        g = _flat(_rand(shape, seed, -3.0, 3.0))
        norm = _sqrt(_sum([v * v for v in g]))
        g_in = _arr(_reshape(g, shape))
        got = _call("clip_by_norm", clip_by_norm, g_in, c)
        _true("clip_by_norm modified its argument g in place: return a new array",
              _flat(_nested(g_in)) == g)
        want = [v * c / (norm if norm > c else c) for v in g]
        _close(f"clip_by_norm(clip_norm={c}) on shape {shape} (norm {norm:.4g})", got,
               _reshape(want, shape), rtol=1e-9)
    exact = _call("clip_by_norm", clip_by_norm, _arr([3.0, 4.0]), 5.0)
    _close("clip_by_norm([3, 4], clip_norm=5) (norm exactly at the threshold)", exact,
           [3.0, 4.0], rtol=1e-12)
    """, uses={"clip_by_norm"}),
    tests("test_clip_by_global_norm", 2, visible="""
    # tests: clip_by_global_norm: global norm of ([3], [4]) is 5
    clipped, norm = clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
    assert np.isclose(norm, 5.0), f"expected global norm 5, got {norm}"
    assert np.allclose(clipped[0], [0.6]) and np.allclose(clipped[1], [0.8]), f"got {clipped}"
    """, hidden="""
    for seed, shapes, c in [(19, [(3,), (2, 2)], 1.0), (20, [(4,), (1,), (2, 3)], 50.0),
                            (21, [(5,)], 0.1)]:
        grads = [_flat(_rand(shapes[k], seed + k, -2.0, 2.0)) for k in _range(_len(shapes))]
        total = _sqrt(_sum([_sum([v * v for v in g]) for g in grads]))
        scale = c / (total if total > c else c)
        g_in = [_arr(_reshape(grads[k], shapes[k])) for k in _range(_len(shapes))]
        got = _call("clip_by_global_norm", clip_by_global_norm, g_in, c)
        _true("clip_by_global_norm must return (clipped_list, global_norm)", _len(got) == 2)
        for k in _range(_len(shapes)):
            _true(f"clip_by_global_norm modified gradient {k} in place: return new arrays",
                  _flat(_nested(g_in[k])) == grads[k])
        what = f"clip_by_global_norm(clip_norm={c}) on shapes {shapes}"
        _close(what + ": global norm", got[1], total, rtol=1e-9)
        _equal(what + ": number of gradients returned", _len(got[0]), _len(shapes))
        for k in _range(_len(shapes)):
            _close(f"{what}: gradient {k}", got[0][k],
                   _reshape([v * scale for v in grads[k]], shapes[k]), rtol=1e-9)
    """, uses={"clip_by_global_norm"}),
    md(r"""
    ## 5. Early stopping (2 points)

    Keras' `EarlyStopping` watches the validation loss after each epoch. An epoch **improves**
    when its loss is below `best - min_delta`; otherwise a counter `wait` grows, and training
    stops at the end of the epoch where `wait` reaches `patience`. With
    `restore_best_weights=True` the model goes back to the best epoch's weights.

    `early_stopping(val_losses, patience, min_delta=0.0)` replays that rule on a list of losses
    (epochs numbered from 0) and returns `(stop_epoch, best_epoch)`: the epoch at whose end
    training stops (the last epoch if it never stops), and the epoch whose weights are restored.
    """),
    solution("early_stopping", """
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
    """),
    tests("test_early_stopping", 2, visible="""
    # tests: early_stopping
    assert tuple(early_stopping([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], patience=3)) == (4, 1)
    assert tuple(early_stopping([1.0, 0.9, 0.8], patience=2)) == (2, 2)
    """, hidden="""
    cases = [([1.0, 0.5, 0.6, 0.4, 0.45, 0.46, 0.47, 0.3], 3, 0.0),
             ([1.0, 0.5, 0.6, 0.4, 0.45, 0.46, 0.47, 0.3], 1, 0.0),
             ([1.0, 0.95, 0.91, 0.9, 0.89, 0.88, 0.5], 2, 0.05),
             ([0.3, 0.3, 0.3, 0.3], 4, 0.0),
             ([2.0, 1.0, 0.5, 0.25, 0.1], 1, 0.0),
             ([0.5], 1, 0.0)]
    for losses, patience, min_delta in cases:
        best, best_epoch, wait, stop = 2.0 ** 100, 0, 0, _len(losses) - 1
        for epoch in _range(_len(losses)):
            if losses[epoch] < best - min_delta:
                best, best_epoch, wait = losses[epoch], epoch, 0
            else:
                wait += 1
                if wait >= patience:
                    stop = epoch
                    break
        got = _call("early_stopping", early_stopping, losses, patience, min_delta)
        _true("early_stopping must return (stop_epoch, best_epoch)", _len(got) == 2)
        _equal(f"early_stopping({losses}, patience={patience}, min_delta={min_delta})",
               [_nested(got[0]), _nested(got[1])], [_float(stop), _float(best_epoch)])
    """, uses={"early_stopping"}),
]
