"""04_normalization: BatchNorm and LayerNorm forward/backward, standardization without leakage."""

from nbsrc import locked, md, solution, tests, written

NAME = "04_normalization"

CELLS = [
    md("""
    # Assignment 4 — Normalization layers

    You will write Batch Normalization and Layer Normalization as pairs of functions: a
    `forward` that returns the output and a `cache` (whatever the backward pass needs), and a
    `backward` that turns the gradient of the loss with respect to the output, `dy`, into
    gradients with respect to the input and to the parameters. Inputs are batches of shape
    `(batch, features)`. Use NumPy only, and return new arrays (never modify your inputs).

    The grader compares with values computed independently, on several shapes and over several
    training steps, and in both training and inference mode.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Batch Normalization, forward (2 + 2 points)

    In **training** mode, BatchNorm normalizes each feature with the statistics of the current
    batch, then scales and shifts it with learned $\gamma, \beta$:

    $$\mu_B = \tfrac1N\sum_i x_i,\quad \sigma_B^2 = \tfrac1N\sum_i (x_i - \mu_B)^2,\quad
    \hat x_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}},\quad y_i = \gamma \hat x_i + \beta$$

    and it updates running averages of the statistics (Keras' convention, `momentum` close to 1):

    $$\text{moving\_mean} \leftarrow m\,\text{moving\_mean} + (1 - m)\,\mu_B,\qquad
    \text{moving\_var} \leftarrow m\,\text{moving\_var} + (1 - m)\,\sigma_B^2$$

    In **inference** mode it uses `moving_mean` and `moving_var` instead of the batch statistics
    and leaves them unchanged: a prediction for one example must not depend on the other examples
    of its batch. Return `(y, moving_mean, moving_var, cache)` (the cache may be `None` in
    inference mode).
    """),
    solution(
        "batchnorm_forward",
        """
    def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99,
                          epsilon=1e-3):
        \"\"\"BatchNorm on a (batch, features) array; returns (y, moving_mean, moving_var, cache).\"\"\"
        ### BEGIN SOLUTION
        if not training:
            x_hat = (x - moving_mean) / np.sqrt(moving_var + epsilon)
            return gamma * x_hat + beta, moving_mean, moving_var, None
        mean, var = x.mean(axis=0), x.var(axis=0)
        x_hat = (x - mean) / np.sqrt(var + epsilon)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_var = momentum * moving_var + (1 - momentum) * var
        cache = (x_hat, gamma, var, epsilon)
        return gamma * x_hat + beta, moving_mean, moving_var, cache
        ### END SOLUTION
    """,
    ),
    tests(
        "test_batchnorm_training",
        """
    # tests: batchnorm_forward, training mode
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    y, mm, mv, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2),
                                     training=True, momentum=0.9, epsilon=0.0)
    assert np.allclose(y, [[-1, -1], [1, 1]]), f"expected [[-1, -1], [1, 1]], got {y}"
    assert np.allclose(mm, [0.2, 2.0]), f"expected moving_mean [0.2, 2.0], got {mm}"
    assert np.allclose(mv, [1.0, 10.9]), f"expected moving_var [1.0, 10.9], got {mv}"
    """,
    ),
    tests(
        "test_batchnorm_inference",
        """
    # tests: batchnorm_forward, inference mode uses the moving statistics
    x = np.array([[1.0], [3.0]])
    y, mm, mv, _ = batchnorm_forward(x, np.full(1, 2.0), np.full(1, 0.5), np.full(1, 1.0),
                                     np.full(1, 4.0), training=False, epsilon=0.0)
    assert np.allclose(y, [[0.5], [2.5]]), f"expected [[0.5], [2.5]], got {y}"
    assert np.allclose(mm, [1.0]) and np.allclose(mv, [4.0]), "inference must not update them"
    """,
    ),
    md(r"""
    ## 2. Batch Normalization, backward (3 points)

    Given `dy` $= \partial J / \partial y$ and the cache of a **training-mode** forward pass,
    return `(dx, dgamma, dbeta)`:

    $$\frac{\partial J}{\partial \beta} = \sum_i dy_i,\qquad
    \frac{\partial J}{\partial \gamma} = \sum_i dy_i \otimes \hat x_i,\qquad
    \frac{\partial J}{\partial x_i} = \frac{\gamma}{N\sqrt{\sigma_B^2 + \varepsilon}}
    \Bigl(N\, dy_i - \sum_k dy_k - \hat x_i \otimes \sum_k dy_k \otimes \hat x_k\Bigr)$$

    The last two terms appear because every $x_i$ also moves the batch mean and variance.
    """),
    solution(
        "batchnorm_backward",
        """
    def batchnorm_backward(dy, cache):
        \"\"\"Gradients (dx, dgamma, dbeta) of a training-mode batchnorm_forward.\"\"\"
        ### BEGIN SOLUTION
        x_hat, gamma, var, epsilon = cache
        n = dy.shape[0]
        dbeta = dy.sum(axis=0)
        dgamma = (dy * x_hat).sum(axis=0)
        dx = gamma / (n * np.sqrt(var + epsilon)) * (n * dy - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta
        ### END SOLUTION
    """,
    ),
    tests(
        "test_batchnorm_backward",
        """
    # tests: batchnorm_backward against finite differences
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    def loss(x, gamma):
        y = batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), training=True)[0]
        return np.sum(y * dy)
    _, _, _, cache = batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), training=True)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    E = np.zeros_like(x); E[2, 1] = 1e-6
    numeric = (loss(x + E, gamma) - loss(x - E, gamma)) / 2e-6
    assert np.isclose(dx[2, 1], numeric, rtol=1e-4), f"dx[2, 1]: expected {numeric}, got {dx[2, 1]}"
    assert np.allclose(dbeta, dy.sum(axis=0)), f"dbeta: expected {dy.sum(axis=0)}, got {dbeta}"
    """,
    ),
    md(r"""
    ## 3. Layer Normalization (1 + 2 points)

    LayerNorm normalizes each **example** over its features instead (statistics per row), so it
    behaves the same in training and inference and does not need running averages:

    $$\mu_i = \tfrac1D\sum_j x_{ij},\quad \sigma_i^2 = \tfrac1D\sum_j (x_{ij} - \mu_i)^2,\quad
    \hat x_{ij} = \frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \varepsilon}},\quad
    y_{ij} = \gamma_j \hat x_{ij} + \beta_j$$

    The backward pass is the BatchNorm one with the roles of rows and columns exchanged for the
    normalization, while $\partial J/\partial\gamma$ and $\partial J/\partial\beta$ still sum
    over the batch:

    $$\frac{\partial J}{\partial x_{ij}} = \frac{1}{D\sqrt{\sigma_i^2 + \varepsilon}}
    \Bigl(D\, g_{ij} - \sum_k g_{ik} - \hat x_{ij} \sum_k g_{ik}\hat x_{ik}\Bigr),
    \qquad g_{ij} = \gamma_j\, dy_{ij}$$
    """),
    solution(
        "layernorm",
        """
    def layernorm_forward(x, gamma, beta, epsilon=1e-3):
        \"\"\"LayerNorm over the last axis of a (batch, features) array; returns (y, cache).\"\"\"
        ### BEGIN SOLUTION
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        x_hat = (x - mean) / np.sqrt(var + epsilon)
        return gamma * x_hat + beta, (x_hat, gamma, var, epsilon)
        ### END SOLUTION


    def layernorm_backward(dy, cache):
        \"\"\"Gradients (dx, dgamma, dbeta) of layernorm_forward.\"\"\"
        ### BEGIN SOLUTION
        x_hat, gamma, var, epsilon = cache
        d = dy.shape[1]
        g = dy * gamma
        dx = (d * g - g.sum(axis=1, keepdims=True)
              - x_hat * (g * x_hat).sum(axis=1, keepdims=True)) / (d * np.sqrt(var + epsilon))
        return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_layernorm_forward",
        """
    # tests: layernorm_forward normalizes each row
    y, _ = layernorm_forward(np.array([[1.0, 3.0], [10.0, 30.0]]), np.ones(2), np.zeros(2),
                             epsilon=0.0)
    assert np.allclose(y, [[-1, 1], [-1, 1]]), f"expected [[-1, 1], [-1, 1]], got {y}"
    """,
    ),
    tests(
        "test_layernorm_backward",
        """
    # tests: layernorm_backward against a finite difference
    rng = np.random.default_rng(1)
    x, dy, gamma, beta = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4)
    loss = lambda x: np.sum(layernorm_forward(x, gamma, beta)[0] * dy)
    dx, dgamma, dbeta = layernorm_backward(dy, layernorm_forward(x, gamma, beta)[1])
    E = np.zeros_like(x); E[1, 3] = 1e-6
    numeric = (loss(x + E) - loss(x - E)) / 2e-6
    assert np.isclose(dx[1, 3], numeric, rtol=1e-4), f"dx[1, 3]: expected {numeric}, got {dx[1, 3]}"
    """,
    ),
    md(r"""
    ## 4. Standardizing inputs without leaking the test set (2 points)

    Inputs are usually standardized feature by feature: $x' = (x - \mu) / s$. The mean $\mu$ and
    standard deviation $s$ must be computed on the **training set only** and then applied
    unchanged to the validation and test sets; computing them on all the data (or on the test
    set itself) lets information about the test set leak into training and makes the test score
    optimistic.

    Write `standardize_split(x_train, x_test)` returning `(train_standardized,
    test_standardized)`. Use the population standard deviation (`np.std`); a feature that is
    constant in the training set has $s = 0$: use $s = 1$ for it (centre it only).
    """),
    solution(
        "standardize_split",
        """
    def standardize_split(x_train, x_test):
        \"\"\"Standardize both sets with the training set's per-feature mean and std.\"\"\"
        ### BEGIN SOLUTION
        mean = x_train.mean(axis=0)
        scale = x_train.std(axis=0)
        scale = np.where(scale == 0, 1.0, scale)
        return (x_train - mean) / scale, (x_test - mean) / scale
        ### END SOLUTION
    """,
    ),
    tests(
        "test_standardize_split",
        """
    # tests: standardize_split
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    test = np.array([[4.0, 6.0]])
    tr, te = standardize_split(train, test)
    assert np.allclose(tr, [[-1, 0], [1, 0]]), f"train: expected [[-1, 0], [1, 0]], got {tr}"
    assert np.allclose(te, [[3, 1]]), f"test: expected [[3, 1]] (training statistics), got {te}"
    """,
    ),
    written(
        "explain_batch_dependence",
        r"""
    ## 5. In your own words (2 points, graded by hand)

    Explain why BatchNorm must use moving statistics at inference while LayerNorm behaves the
    same in training and inference, and what goes wrong with BatchNorm when training with very
    small batches (say 2 examples). (Three to five sentences.)
    """,
        r"""
    In training BatchNorm normalizes each feature with the mean and variance of the current
    batch, so an example's output depends on the other examples of its batch. At inference a
    prediction must depend on the example alone (and batches may have one example), so BN uses
    the moving averages of the training statistics instead. LayerNorm's statistics are computed
    over the features of one example, so there is nothing batch-dependent to replace. With
    batches of 2, BN's batch mean and variance are very noisy estimates (with 2 examples each
    normalized feature is just $\pm 1$), training is noisy and the moving statistics used at
    inference differ from what the network saw in training; LayerNorm (or GroupNorm) avoids this.
    """,
    ),
]
