"""04_normalization: BatchNorm and LayerNorm forward/backward, standardization without leakage."""

from nbsrc import locked, md, solution, tests, written

NAME = "04_normalization"

CELLS = [
    md(r"""
    # Assignment 4 — Normalization layers

    You will write Batch Normalization and Layer Normalization as pairs of functions: a
    `forward` that returns the output and a `cache` (whatever the backward pass needs), and a
    `backward` that turns the gradient of the loss with respect to the output, `dy`, into
    gradients with respect to the input and to the parameters. Inputs are batches of shape
    `(m, features)`: $m$ examples (rows, index $i$), one feature per column (index $j$), as in
    the book's chapter 4. $\odot$ is the elementwise product.

    Rules for every function below: NumPy only; return **new** arrays and never modify the
    arrays you are given (the visible tests check it, and so does the grader). Each graded cell
    checks one returned value, so a mistake in one of them costs only that cell's points. The
    grader compares with values computed independently, on other shapes (non-square batches,
    a batch of 2, a single feature), other $\varepsilon$ and several training steps in a row;
    each section says what it checks beyond the visible tests.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Batch Normalization, forward (1 + 1 + 2 points)

    In **training** mode (`training=True`), BatchNorm normalizes each feature $j$ with the
    statistics of the current batch of $m$ examples, then scales and shifts it with learned
    $\gamma_j, \beta_j$ (the book's equations):

    $$\mu_j = \frac1m\sum_{i=1}^m x_{ij},\quad \sigma_j^2 = \frac1m\sum_{i=1}^m (x_{ij} - \mu_j)^2,\quad
    \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{\sigma_j^2 + \varepsilon}},\quad
    y_{ij} = \gamma_j \hat x_{ij} + \beta_j$$

    and it updates moving averages of the statistics with the momentum $\rho$ (Keras' and the
    book's `momentum`, default 0.99):

    $$\text{moving\_mean} \leftarrow \rho\,\text{moving\_mean} + (1 - \rho)\,\mu,\qquad
    \text{moving\_variance} \leftarrow \rho\,\text{moving\_variance} + (1 - \rho)\,\sigma^2$$

    In **inference** mode (`training=False`, the default, as in the book's
    `BatchNormalization.forward`) it uses `moving_mean` and `moving_variance` instead of the
    batch statistics and returns them unchanged: a prediction for one example must not depend
    on the other examples of its batch. Return `(y, moving_mean, moving_variance, cache)` (the
    cache may be `None` in inference mode). The defaults `momentum=0.99`, `epsilon=1e-3` are
    Keras'.

    *The grader also checks:* batches of other shapes (down to 2 examples, or 1 feature),
    other `momentum` and `epsilon`, three training steps in a row (each step starting from the
    moving statistics the previous one returned), in inference mode one example predicted
    alone, and that no input is modified.
    """),
    solution(
        "batchnorm_forward",
        """
    def batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, training=False,
                          momentum=0.99, epsilon=1e-3):
        \"\"\"BatchNorm of an (m, features) batch; returns (y, moving_mean, moving_variance, cache).\"\"\"
        ### BEGIN SOLUTION
        if not training:
            x_hat = (x - moving_mean) / np.sqrt(moving_variance + epsilon)
            return gamma * x_hat + beta, moving_mean.copy(), moving_variance.copy(), None
        mean, var = x.mean(axis=0), x.var(axis=0)
        x_hat = (x - mean) / np.sqrt(var + epsilon)
        moving_mean = momentum * moving_mean + (1 - momentum) * mean
        moving_variance = momentum * moving_variance + (1 - momentum) * var
        cache = (x_hat, gamma, var, epsilon)
        return gamma * x_hat + beta, moving_mean, moving_variance, cache
        ### END SOLUTION
    """,
    ),
    tests(
        "test_batchnorm_training_y",
        """
    # tests: batchnorm_forward(training=True): y, on a batch of 3 examples with 2 features
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    gamma, beta = np.array([2.0, 0.5]), np.array([0.1, -1.0])
    given = [a.copy() for a in (x, gamma, beta)]
    y, mm, mv, cache = batchnorm_forward(x, gamma, beta, np.zeros(2), np.ones(2), training=True,
                                         momentum=0.9, epsilon=0.0)
    x_hat = np.array([[-1.0, -1.0], [0.0, 1.0], [1.0, 0.0]]) * np.sqrt(1.5)
    assert np.shape(y) == (3, 2), f"y: expected shape (3, 2), got {np.shape(y)}"
    assert np.allclose(y, gamma * x_hat + beta), f"y: expected {gamma * x_hat + beta}, got {y}"
    assert all(np.array_equal(a, b) for a, b in zip((x, gamma, beta), given)), "inputs modified"
    """,
    ),
    tests(
        "test_batchnorm_training_moving",
        """
    # tests: batchnorm_forward(training=True): moving_mean and moving_variance, two steps
    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])   # batch mean [3, 20], variance [8/3, 200/3]
    mm0, mv0 = np.array([1.0, 2.0]), np.array([1.0, 4.0])
    _, mm, mv, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), mm0, mv0, training=True,
                                     momentum=0.9)
    assert np.allclose(mm, [1.2, 3.8]), f"moving_mean: expected [1.2, 3.8], got {mm}"
    assert np.allclose(mv, [0.9 + 0.8 / 3, 3.6 + 20 / 3]), f"moving_variance: got {mv}"
    assert np.array_equal(mm0, [1.0, 2.0]) and np.array_equal(mv0, [1.0, 4.0]), (
        "batchnorm_forward modified the moving statistics it was given: return new arrays")
    _, mm, mv, _ = batchnorm_forward(2 * x, np.ones(2), np.zeros(2), mm, mv, training=True,
                                     momentum=0.9)   # step 2 starts from step 1's statistics
    assert np.allclose(mm, [1.68, 7.42]), f"moving_mean after step 2: expected [1.68, 7.42], got {mm}"
    assert np.allclose(mv, 0.9 * np.array([0.9 + 0.8 / 3, 3.6 + 20 / 3]) + 0.4 * np.array([8, 200]) / 3), (
        f"moving_variance after step 2: got {mv}")
    """,
    ),
    tests(
        "test_batchnorm_inference",
        """
    # tests: batchnorm_forward(training=False) uses the moving statistics and leaves them as they are
    x = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, -2.0]])
    gamma, beta = np.array([2.0, 1.0, 0.5]), np.array([0.5, 0.0, 1.0])
    mm, mv = np.array([1.0, 2.0, 0.0]), np.array([4.0, 1.0, 16.0])
    y, mm2, mv2, _ = batchnorm_forward(x, gamma, beta, mm, mv, epsilon=0.0)   # training=False
    want = [[0.5, -2.0, 1.25], [2.5, 2.0, 0.75]]
    assert np.shape(y) == (2, 3) and np.allclose(y, want), f"y: expected {want}, got {y}"
    assert np.array_equal(mm2, mm) and np.array_equal(mv2, mv), "inference must not update them"
    alone, _, _, _ = batchnorm_forward(x[1:], gamma, beta, mm, mv, epsilon=0.0)
    assert np.allclose(alone, [want[1]]), f"one example alone: expected {[want[1]]}, got {alone}"
    """,
    ),
    md(r"""
    ## 2. Batch Normalization, backward (2 + 1 + 1 points)

    Given `dy` $= \partial J / \partial y$ and the cache of a **training-mode** forward pass,
    return `(dx, dgamma, dbeta)`. With $g_{ij} = \gamma_j\, dy_{ij}$ (the gradient reaching
    $\hat x$), the statistics $\mu_j, \sigma_j^2$ taken over the batch axis $i$:

    $$\frac{\partial J}{\partial \beta_j} = \sum_{i=1}^m dy_{ij},\qquad
    \frac{\partial J}{\partial \gamma_j} = \sum_{i=1}^m dy_{ij}\, \hat x_{ij},\qquad
    \frac{\partial J}{\partial x_{ij}} = \frac{1}{m\sqrt{\sigma_j^2 + \varepsilon}}
    \Bigl(m\, g_{ij} - \sum_{k=1}^m g_{kj} - \hat x_{ij} \sum_{k=1}^m g_{kj}\, \hat x_{kj}\Bigr)$$

    The last two terms appear because every $x_{ij}$ also moves the batch mean and variance.
    In BatchNorm $\gamma_j$ is constant along the normalized axis $i$, so it can be taken out
    of the sums: $\partial J/\partial x_{ij} = \frac{\gamma_j}{m\sqrt{\sigma_j^2+\varepsilon}}
    \bigl(m\, dy_{ij} - \partial J/\partial\beta_j - \hat x_{ij}\,\partial J/\partial\gamma_j\bigr)$.
    `dgamma` and `dbeta` have the shape of $\gamma$, one value per feature.

    *The grader also checks:* each of `dx`, `dgamma`, `dbeta` against an independent
    implementation of these formulas, on other batch shapes (down to 2 examples) and other
    `epsilon`; the three are graded separately.
    """),
    solution(
        "batchnorm_backward",
        """
    def batchnorm_backward(dy, cache):
        \"\"\"Gradients (dx, dgamma, dbeta) of a training-mode batchnorm_forward.\"\"\"
        ### BEGIN SOLUTION
        x_hat, gamma, var, epsilon = cache
        m = dy.shape[0]
        dbeta = dy.sum(axis=0)
        dgamma = (dy * x_hat).sum(axis=0)
        dx = gamma / (m * np.sqrt(var + epsilon)) * (m * dy - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta
        ### END SOLUTION
    """,
    ),
    tests(
        "test_batchnorm_backward_dx",
        """
    # tests: batchnorm_backward: dx against finite differences, every entry
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))   # 5 examples, 3 features
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), True)[0] * dy)
    cache = batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), training=True)[3]
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):   # central finite differences, every entry
        e = np.zeros_like(x); e[i] = 1e-6
        numeric[i] = (loss(x + e, gamma, beta) - loss(x - e, gamma, beta)) / 2e-6
    assert np.shape(dx) == (5, 3), f"dx: expected shape (5, 3), got {np.shape(dx)}"
    assert np.allclose(dx, numeric, rtol=1e-4, atol=1e-7), f"dx: expected {numeric}, got {dx}"
    """,
    ),
    tests(
        "test_batchnorm_backward_dgamma",
        """
    # tests: batchnorm_backward: dgamma against finite differences
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))   # 5 examples, 3 features
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), True)[0] * dy)
    cache = batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), training=True)[3]
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    numeric = np.zeros_like(gamma)
    for i in np.ndindex(gamma.shape):   # central finite differences, every entry
        e = np.zeros_like(gamma); e[i] = 1e-6
        numeric[i] = (loss(x, gamma + e, beta) - loss(x, gamma - e, beta)) / 2e-6
    assert np.shape(dgamma) == (3,), f"dgamma: expected shape (3,) (one per feature), got {np.shape(dgamma)}"
    assert np.allclose(dgamma, numeric, rtol=1e-4, atol=1e-7), f"dgamma: expected {numeric}, got {dgamma}"
    """,
    ),
    tests(
        "test_batchnorm_backward_dbeta",
        """
    # tests: batchnorm_backward: dbeta against finite differences
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))   # 5 examples, 3 features
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), True)[0] * dy)
    cache = batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), training=True)[3]
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    numeric = np.zeros_like(beta)
    for i in np.ndindex(beta.shape):   # central finite differences, every entry
        e = np.zeros_like(beta); e[i] = 1e-6
        numeric[i] = (loss(x, gamma, beta + e) - loss(x, gamma, beta - e)) / 2e-6
    assert np.shape(dbeta) == (3,), f"dbeta: expected shape (3,) (one per feature), got {np.shape(dbeta)}"
    assert np.allclose(dbeta, numeric, rtol=1e-4, atol=1e-7), f"dbeta: expected {numeric}, got {dbeta}"
    """,
    ),
    md(r"""
    ## 3. Layer Normalization (1 + 1 + 1 + 1 points)

    LayerNorm normalizes each **example** $i$ over its $H$ features instead (the book's $H$),
    so it behaves the same in training and inference and needs no moving averages; $\gamma_j$
    and $\beta_j$ are still one per feature:

    $$\mu_i = \frac1H\sum_{j=1}^H x_{ij},\quad \sigma_i^2 = \frac1H\sum_{j=1}^H (x_{ij} - \mu_i)^2,\quad
    \hat x_{ij} = \frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \varepsilon}},\quad
    y_{ij} = \gamma_j \hat x_{ij} + \beta_j$$

    Its backward pass has the same form as BatchNorm's, with the sums now over the normalized
    axis $j$ and $g_{ij} = \gamma_j\, dy_{ij}$:

    $$\frac{\partial J}{\partial x_{ij}} = \frac{1}{H\sqrt{\sigma_i^2 + \varepsilon}}
    \Bigl(H\, g_{ij} - \sum_{k=1}^H g_{ik} - \hat x_{ij} \sum_{k=1}^H g_{ik}\,\hat x_{ik}\Bigr),\qquad
    \frac{\partial J}{\partial \gamma_j} = \sum_{i=1}^m dy_{ij}\, \hat x_{ij},\qquad
    \frac{\partial J}{\partial \beta_j} = \sum_{i=1}^m dy_{ij}$$

    It is *not* BatchNorm with rows and columns exchanged: here $\gamma_j$ varies along the
    normalized axis, so it stays inside the sums (it cannot be factored out as in BatchNorm),
    while `dgamma` and `dbeta` still sum over the batch axis $i$ (one value per feature).

    *The grader also checks:* other batch shapes, including a single example and a square
    batch (as many examples as features, where an axis mistake no longer changes the shape),
    other `epsilon`; `dx`, `dgamma`, `dbeta` graded separately.
    """),
    solution(
        "layernorm",
        """
    def layernorm_forward(x, gamma, beta, epsilon=1e-3):
        \"\"\"LayerNorm over the features (last axis) of an (m, H) batch; returns (y, cache).\"\"\"
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
        h = dy.shape[1]
        g = dy * gamma
        dx = (h * g - g.sum(axis=1, keepdims=True)
              - x_hat * (g * x_hat).sum(axis=1, keepdims=True)) / (h * np.sqrt(var + epsilon))
        return dx, (dy * x_hat).sum(axis=0), dy.sum(axis=0)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_layernorm_forward",
        """
    # tests: layernorm_forward normalizes each row (2 examples, 3 features)
    x = np.array([[1.0, 2.0, 3.0], [10.0, 40.0, 70.0]])
    gamma, beta = np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.5, 1.0])
    y, _ = layernorm_forward(x, gamma, beta, epsilon=0.0)
    want = gamma * np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]) * np.sqrt(1.5) + beta
    assert np.shape(y) == (2, 3) and np.allclose(y, want), f"y: expected {want}, got {y}"
    assert np.array_equal(x, [[1.0, 2.0, 3.0], [10.0, 40.0, 70.0]]), "x modified"
    """,
    ),
    tests(
        "test_layernorm_backward_dx",
        """
    # tests: layernorm_backward: dx against finite differences, every entry
    rng = np.random.default_rng(1)
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))   # 3 examples, 4 features
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(layernorm_forward(x, gamma, beta)[0] * dy)
    dx, dgamma, dbeta = layernorm_backward(dy, layernorm_forward(x, gamma, beta)[1])
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):   # central finite differences, every entry
        e = np.zeros_like(x); e[i] = 1e-6
        numeric[i] = (loss(x + e, gamma, beta) - loss(x - e, gamma, beta)) / 2e-6
    assert np.shape(dx) == (3, 4), f"dx: expected shape (3, 4), got {np.shape(dx)}"
    assert np.allclose(dx, numeric, rtol=1e-4, atol=1e-7), f"dx: expected {numeric}, got {dx}"
    """,
    ),
    tests(
        "test_layernorm_backward_dgamma",
        """
    # tests: layernorm_backward: dgamma against finite differences
    rng = np.random.default_rng(1)
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))   # 3 examples, 4 features
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(layernorm_forward(x, gamma, beta)[0] * dy)
    dx, dgamma, dbeta = layernorm_backward(dy, layernorm_forward(x, gamma, beta)[1])
    numeric = np.zeros_like(gamma)
    for i in np.ndindex(gamma.shape):   # central finite differences, every entry
        e = np.zeros_like(gamma); e[i] = 1e-6
        numeric[i] = (loss(x, gamma + e, beta) - loss(x, gamma - e, beta)) / 2e-6
    assert np.shape(dgamma) == (4,), f"dgamma: expected shape (4,) (one per feature), got {np.shape(dgamma)}"
    assert np.allclose(dgamma, numeric, rtol=1e-4, atol=1e-7), f"dgamma: expected {numeric}, got {dgamma}"
    """,
    ),
    tests(
        "test_layernorm_backward_dbeta",
        """
    # tests: layernorm_backward: dbeta against finite differences
    rng = np.random.default_rng(1)
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))   # 3 examples, 4 features
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    def loss(x, gamma, beta):   # J = sum(y * dy), so that dJ/dy = dy
        return np.sum(layernorm_forward(x, gamma, beta)[0] * dy)
    dx, dgamma, dbeta = layernorm_backward(dy, layernorm_forward(x, gamma, beta)[1])
    numeric = np.zeros_like(beta)
    for i in np.ndindex(beta.shape):   # central finite differences, every entry
        e = np.zeros_like(beta); e[i] = 1e-6
        numeric[i] = (loss(x, gamma, beta + e) - loss(x, gamma, beta - e)) / 2e-6
    assert np.shape(dbeta) == (4,), f"dbeta: expected shape (4,) (one per feature), got {np.shape(dbeta)}"
    assert np.allclose(dbeta, numeric, rtol=1e-4, atol=1e-7), f"dbeta: expected {numeric}, got {dbeta}"
    """,
    ),
    md(r"""
    ## 4. Standardizing inputs without leaking the test set (2 points)

    Inputs are usually standardized feature by feature: $x' = (x - \mu) / s$. The mean $\mu$ and
    standard deviation $s$ must be computed on the **training set only** and then applied
    unchanged to the validation and test sets; computing them on all the data (or on the test
    set itself) lets information about the test set leak into training and makes the test score
    optimistic.

    Write `standardize_split(x_train, x_test, epsilon=1e-7)` returning `(train_standardized,
    test_standardized)`, like the book's `optreg.normalization.Standardizer`: the population
    standard deviation (`np.std`), floored at `epsilon`, $s = \max(\operatorname{std}, \varepsilon)$.
    The floor matters for a feature that is constant in the training set: its standard
    deviation is 0 or, in floating point, a rounding residue such as
    `np.std([0.1, 0.1, 0.1])` $= 1.4 \cdot 10^{-17}$ (so do not test `s == 0`); with the floor
    it becomes 0 on the training set.

    *The grader also checks:* other numbers of rows and features, a constant training feature
    (exactly constant and constant up to rounding), that the test set is transformed with the
    training statistics only, and that no input is modified.
    """),
    solution(
        "standardize_split",
        """
    def standardize_split(x_train, x_test, epsilon=1e-7):
        \"\"\"Standardize both sets with the training set's per-feature mean and std.\"\"\"
        ### BEGIN SOLUTION
        mean = x_train.mean(axis=0)
        scale = np.maximum(x_train.std(axis=0), epsilon)
        return (x_train - mean) / scale, (x_test - mean) / scale
        ### END SOLUTION
    """,
    ),
    tests(
        "test_standardize_split",
        """
    # tests: standardize_split (3 training rows, 2 test rows, 3 features; the last one constant)
    train = np.array([[0.0, 5.0, 0.1], [2.0, 7.0, 0.1], [4.0, 9.0, 0.1]])
    test = np.array([[4.0, 6.0, 0.1], [-2.0, 5.0, 0.1]])
    tr, te = standardize_split(train, test)
    c = np.sqrt(1.5)   # the std of [0, 2, 4] is sqrt(8/3); (x - mean) / std = (x - mean) * c / 2
    want_tr = [[-c, -c, 0.0], [0.0, 0.0, 0.0], [c, c, 0.0]]
    want_te = [[c, -c / 2, 0.0], [-2 * c, -c, 0.0]]
    assert np.shape(tr) == (3, 3) and np.allclose(tr, want_tr), f"train: expected {want_tr}, got {tr}"
    assert np.shape(te) == (2, 3) and np.allclose(te, want_te), (
        f"test: expected {want_te} (training statistics), got {te}")
    assert np.array_equal(train[:, 0], [0.0, 2.0, 4.0]) and np.array_equal(test[:, 0], [4.0, -2.0]), (
        "standardize_split modified its inputs: return new arrays")
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
