"""03_initialization: Glorot and He, activation variance through depth, the symmetry problem."""

from nbsrc import code, locked, md, solution, tests, written

NAME = "03_initialization"

CELLS = [
    md("""
    # Assignment 3 — Weight initialization

    Training a deep network starts from random weights, and *how* random matters: if the scale is
    wrong, the signal shrinks or explodes as it goes through the layers, and so do the gradients
    on the way back. Glorot (Xavier) and He initialization pick the scale so that the variance of
    the activations stays roughly constant from layer to layer.

    Write everything with NumPy only. Random functions receive a NumPy `Generator` (`rng`) and
    must draw **all** their randomness from it, so that the same seed gives the same weights.
    The grader checks the statistics of your samples on several shapes, with tolerances far
    wider than sampling noise.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Fan-in and fan-out (1 + 1 points)

    For a dense kernel of shape `(inputs, outputs)`, `fan_in = inputs`, `fan_out = outputs`.
    A convolution kernel has shape `(*window, inputs, outputs)`, e.g. `(3, 3, 16, 32)`: each
    output sees `3 * 3 * 16` inputs, so with `receptive = product(window)`:
    `fan_in = inputs * receptive` and `fan_out = outputs * receptive`. Return integers.

    *The grader also checks:* 2-D, 3-D, 4-D and 5-D kernel shapes, including `(1, 1)`.
    `fan_in` (1 point) and `fan_out` (1 point) are graded in separate cells.
    """),
    solution(
        "fans",
        """
    def fans(shape):
        \"\"\"(fan_in, fan_out) of a dense (2-D) or convolution (N-D) kernel shape.\"\"\"
        ### BEGIN SOLUTION
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        return shape[-2] * receptive, shape[-1] * receptive
        ### END SOLUTION
    """,
    ),
    tests(
        "test_fan_in",
        """
    # tests: fans: fan_in of a dense, a 2-D and a 1-D convolution kernel
    for shape, want in [((784, 300), 784), ((3, 3, 16, 32), 144), ((5, 16, 8), 80)]:
        fan_in = fans(shape)[0]
        assert fan_in == want, f"fans({shape}): expected fan_in {want}, got {fan_in}"
        assert isinstance(fan_in, int), f"fans({shape}): fan_in must be a Python integer"
    """,
    ),
    tests(
        "test_fan_out",
        """
    # tests: fans: fan_out of a dense, a 2-D and a 1-D convolution kernel
    for shape, want in [((784, 300), 300), ((3, 3, 16, 32), 288), ((5, 16, 8), 40)]:
        fan_out = fans(shape)[1]
        assert fan_out == want, f"fans({shape}): expected fan_out {want}, got {fan_out}"
        assert isinstance(fan_out, int), f"fans({shape}): fan_out must be a Python integer"
    """,
    ),
    md(r"""
    ## 2. Glorot uniform and He normal (2 points each)

    * **Glorot uniform** (for tanh, sigmoid, softmax): $\mathcal U(-r, r)$ with
      $r = \sqrt{6 / (\text{fan}_\text{in} + \text{fan}_\text{out})}$, which gives variance
      $\sigma^2 = 2 / (\text{fan}_\text{in} + \text{fan}_\text{out})$.
    * **He normal** (for ReLU and its variants): a plain normal distribution
      $\mathcal N(0, \sigma^2)$ with $\sigma^2 = 2 / \text{fan}_\text{in}$ (Keras uses a
      truncated normal; here we use the untruncated one: that is the one difference from the
      book's `optreg.initializers`).

    *The grader also checks:* dense and convolution shapes (square, wide and tall), the shape,
    the variance and mean within 5% and a few standard errors, that Glorot's values fill
    $[-r, r]$, that He's tails are those of a normal distribution, that the same seed gives the
    same weights and different seeds different ones.
    """),
    solution(
        "glorot_he",
        """
    def glorot_uniform(shape, rng):
        \"\"\"Weights drawn from U(-r, r), r = sqrt(6 / (fan_in + fan_out)).\"\"\"
        ### BEGIN SOLUTION
        fan_in, fan_out = fans(shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
        ### END SOLUTION


    def he_normal(shape, rng):
        \"\"\"Weights drawn from N(0, 2 / fan_in).\"\"\"
        ### BEGIN SOLUTION
        fan_in, _ = fans(shape)
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_glorot_uniform",
        """
    # tests: glorot_uniform
    w = glorot_uniform((300, 500), np.random.default_rng(0))
    assert w.shape == (300, 500), f"expected shape (300, 500), got {w.shape}"
    assert abs(w.var() - 2 / 800) < 0.05 * 2 / 800, f"expected variance 0.0025, got {w.var():.5f}"
    assert np.sqrt(6 / 800) * 0.98 < np.abs(w).max() <= np.sqrt(6 / 800), "values must fill [-r, r]"
    again = glorot_uniform((300, 500), np.random.default_rng(0))
    assert np.array_equal(w, again), "the same rng seed must give the same weights (draw from rng)"
    """,
    ),
    tests(
        "test_he_normal",
        """
    # tests: he_normal
    w = he_normal((400, 100), np.random.default_rng(0))
    assert w.shape == (400, 100), f"expected shape (400, 100), got {w.shape}"
    assert abs(w.var() - 2 / 400) < 0.05 * 2 / 400, f"expected variance 0.005, got {w.var():.5f}"
    again = he_normal((400, 100), np.random.default_rng(0))
    assert np.array_equal(w, again), "the same rng seed must give the same weights (draw from rng)"
    """,
    ),
    md(r"""
    ## 3. Activation variance through a deep network (2 points)

    Write `activation_variances(x, weights, activation)`: starting from `a = x`, apply for each
    kernel `W` in `weights` the layer `a = f(a @ W)` (no bias), and return the list of
    `a.var()` (variance over all entries) after each layer. `activation` is one of
    `"linear"` ($f(z) = z$), `"tanh"` or `"relu"`. Return a list of floats, one per layer.

    *The grader also checks:* each activation on random networks of three and four layers of
    different widths, every variance to a relative precision of $10^{-7}$.
    """),
    solution(
        "activation_variances",
        """
    def activation_variances(x, weights, activation):
        \"\"\"Variance of the activations after each layer a = f(a @ W).\"\"\"
        ### BEGIN SOLUTION
        functions = {"linear": lambda z: z, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
        f = functions[activation]
        a, variances = x, []
        for w in weights:
            a = f(a @ w)
            variances.append(float(a.var()))
        return variances
        ### END SOLUTION
    """,
    ),
    tests(
        "test_activation_variances",
        """
    # tests: activation_variances on 3 examples of 2 features, kernels 2x3 then 3x3
    x = np.array([[1.0, -1.0], [3.0, -3.0], [2.0, -2.0]])
    W1, W2 = np.eye(2, 3), np.eye(3)   # W1 copies both features and adds a zero unit
    v = activation_variances(x, [W1, W2], "linear")
    assert isinstance(v, list) and len(v) == 2, f"expected a list of 2 variances, got {v}"
    assert np.allclose(v, [28 / 9, 28 / 9]), f"expected [28/9, 28/9], got {v}"
    v = activation_variances(x, [W1], "relu")   # relu keeps [[1, 0, 0], [3, 0, 0], [2, 0, 0]]
    assert np.allclose(v, [10 / 9]), f"expected [10/9], got {v}"
    v = activation_variances(x, [W1], "tanh")
    want = np.tanh(np.array([1.0, 3.0, 2.0])) ** 2 * 2 / 9   # tanh is odd: the mean stays 0
    assert np.allclose(v, [want.sum()]), f"expected [{want.sum():.6g}], got {v}"
    """,
    ),
    md("""
    Now see the effect of the scale. The cell below (not graded) pushes a batch through 30 tanh
    layers of width 200, with Glorot weights, and with weights drawn at the "naive" scale
    $\\mathcal N(0, 1)$ and $\\mathcal N(0, 0.01^2)$. Which activations saturate, which vanish?
    Repeat with ReLU and He.
    """),
    code("""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 200))
    for label, make in [("glorot", lambda: glorot_uniform((200, 200), rng)),
                        ("N(0, 1)", lambda: rng.normal(0, 1.0, (200, 200))),
                        ("N(0, 0.01^2)", lambda: rng.normal(0, 0.01, (200, 200)))]:
        variances = activation_variances(x, [make() for _ in range(30)], "tanh")
        print(f"{label:>13}: layer 1 {variances[0]:.3g}, layer 10 {variances[9]:.3g}, "
              f"layer 30 {variances[-1]:.3g}")
    """),
    md(r"""
    ## 4. Why not start from zero? (1 + 1 points)

    Take a two-layer network $\hat y = \tanh(x W_1) W_2$ with the mean squared error
    $J = \frac{1}{N K}\sum (\hat y - y)^2$ over the $N \times K$ outputs. Write
    `two_layer_grads(x, y, W1, W2)` returning `(dW1, dW2)`, the gradients of $J$:

    $$
    h = \tanh(x W_1),\quad \delta = \tfrac{2}{NK}(\hat y - y),\quad
    \frac{\partial J}{\partial W_2} = h^\top \delta,\quad
    \frac{\partial J}{\partial W_1} = x^\top\bigl[(\delta W_2^\top) \odot (1 - h^2)\bigr]
    $$

    ($\odot$: elementwise product, as in the book). `dW1` and `dW2` are graded in separate
    cells (1 point each).

    *The grader also checks:* both gradients against these formulas on other shapes (one
    example, one output, more outputs than hidden units).

    Then run the cell after the tests: when every weight starts at the same value, all hidden
    units compute the same thing and receive the same gradient, so they stay identical forever —
    the network behaves as if it had a single hidden unit. Random initialization breaks this
    symmetry.
    """),
    solution(
        "two_layer_grads",
        """
    def two_layer_grads(x, y, W1, W2):
        \"\"\"Gradients (dW1, dW2) of the mean squared error of tanh(x @ W1) @ W2.\"\"\"
        ### BEGIN SOLUTION
        h = np.tanh(x @ W1)
        delta = 2 * (h @ W2 - y) / y.size
        dW2 = h.T @ delta
        dW1 = x.T @ ((delta @ W2.T) * (1 - h ** 2))
        return dW1, dW2
        ### END SOLUTION
    """,
    ),
    tests(
        "test_two_layer_grads_dW1",
        """
    # tests: two_layer_grads: dW1 against finite differences, every entry
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    W1, W2 = rng.normal(size=(3, 5)), rng.normal(size=(5, 2))
    dW1, dW2 = two_layer_grads(x, y, W1, W2)
    loss = lambda W1, W2: np.mean((np.tanh(x @ W1) @ W2 - y) ** 2)
    numeric = np.zeros_like(W1)
    for i in np.ndindex(W1.shape):
        E = np.zeros_like(W1); E[i] = 1e-6
        numeric[i] = (loss(W1 + E, W2) - loss(W1 - E, W2)) / 2e-6
    assert np.shape(dW1) == (3, 5), f"dW1: expected shape (3, 5), got {np.shape(dW1)}"
    assert np.allclose(dW1, numeric, rtol=1e-4, atol=1e-8), f"dW1: expected {numeric}, got {dW1}"
    """,
    ),
    tests(
        "test_two_layer_grads_dW2",
        """
    # tests: two_layer_grads: dW2 against finite differences, every entry
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    W1, W2 = rng.normal(size=(3, 5)), rng.normal(size=(5, 2))
    dW1, dW2 = two_layer_grads(x, y, W1, W2)
    loss = lambda W1, W2: np.mean((np.tanh(x @ W1) @ W2 - y) ** 2)
    numeric = np.zeros_like(W2)
    for i in np.ndindex(W2.shape):
        E = np.zeros_like(W2); E[i] = 1e-6
        numeric[i] = (loss(W1, W2 + E) - loss(W1, W2 - E)) / 2e-6
    assert np.shape(dW2) == (5, 2), f"dW2: expected shape (5, 2), got {np.shape(dW2)}"
    assert np.allclose(dW2, numeric, rtol=1e-4, atol=1e-8), f"dW2: expected {numeric}, got {dW2}"
    """,
    ),
    code("""
    # Symmetry: train 200 steps from a constant start and from a random start.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    for label, W1 in [("constant", np.full((3, 8), 0.3)), ("random", rng.normal(0, 0.5, (3, 8)))]:
        W2 = np.full((8, 1), 0.3)
        for _ in range(200):
            dW1, dW2 = two_layer_grads(x, y, W1, W2)
            W1, W2 = W1 - 0.1 * dW1, W2 - 0.1 * dW2
        distinct = len(np.unique(W1.round(8), axis=1).T)
        print(f"{label:>8} start: {distinct} distinct hidden units out of 8")
    """),
    written(
        "explain_symmetry",
        r"""
    ## 5. In your own words (2 points, graded by hand)

    The cell above starts $W_1$ and $W_2$ from constants. Explain, using your gradient formulas,
    why every hidden unit keeps exactly the same weights as the others for the whole training
    run, and why one random matrix is enough to break the symmetry. Would scaling the constant
    start (0.3 → 3.0) help? (Three to five sentences.)
    """,
        r"""
    With constant weights every column of $W_1$ is the same, so every hidden unit computes the
    same $h_{:,j}$; since every row of $W_2$ is also the same, $\delta W_2^\top$ has identical
    columns, and so do $(\delta W_2^\top) \odot (1 - h^2)$ and $\partial J/\partial W_1$. Every
    unit therefore receives the same update, the columns stay equal after each step, and by
    induction forever: the layer behaves like a single unit. With random $W_1$ the units compute
    different functions from the first step, their gradients differ, and they stay different.
    Changing the constant (0.3 to 3.0) changes nothing about the symmetry (and with tanh it
    saturates the units), only randomness breaks it.
    """,
    ),
]
