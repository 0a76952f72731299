"""01_optimizers: update rules with explicit state, and the elongated bowl."""

from nbsrc import code, locked, md, solution, tests, written

NAME = "01_optimizers"

CELLS = [
    md(r"""
    # Assignment 1 — Optimizers, one update rule at a time

    Every optimizer in this chapter is a small rule that turns the current parameters `theta`,
    the gradient `grad` and some **state** (a velocity, running averages, a step counter) into
    new parameters and new state. In this assignment you write each rule as a plain NumPy
    function with the state passed in and returned explicitly:

    ```
    theta, state = step(theta, grad, state, hyper-parameters)
    ```

    Rules for every function below:

    * return **new** arrays; never modify the arrays you are given;
    * work for parameters of any shape (a vector, a matrix, ...);
    * use NumPy only (no deep learning library, no `optreg`).

    Run the cells in order. A cell marked *tests* checks your work: each returned value, on a
    matrix of parameters, and that your inputs are unchanged. The grader runs more tests of the
    same kind (other shapes, several steps, edge cases), listed under each function, so a function
    that passes only the visible examples is not enough. The notation is the book's (chapter 1):
    $\otimes$ and $\oslash$ are the elementwise product and division.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Plain gradient descent (1 point)

    $$\theta \leftarrow \theta - \eta\, g$$

    where $\eta$ is the learning rate and $g = \nabla_\theta J(\theta)$ the gradient.

    *The grader also checks:* vectors, matrices and a single parameter, other learning rates
    (one above 1), and that no input is modified.
    """),
    solution(
        "sgd_step",
        """
    def sgd_step(theta, grad, learning_rate):
        \"\"\"One plain gradient-descent step; returns the new parameters.\"\"\"
        ### BEGIN SOLUTION
        return theta - learning_rate * grad
        ### END SOLUTION
    """,
    ),
    tests(
        "test_sgd_step",
        """
    # tests: sgd_step on a 2x3 matrix of parameters
    theta = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    grad = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -4.0]])
    given = theta.copy(), grad.copy()
    new = sgd_step(theta, grad, learning_rate=0.1)
    want = [[0.95, -1.9, 0.3], [-0.1, 3.0, -0.6]]
    assert np.shape(new) == (2, 3) and np.allclose(new, want), f"expected {want}, got {new}"
    assert np.array_equal(theta, given[0]) and np.array_equal(grad, given[1]), (
        "sgd_step modified its inputs: return a new array")
    """,
    ),
    md(r"""
    ## 2. Momentum (2 points)

    Momentum keeps a velocity $m$ (initially zero) that accumulates past gradients:

    $$m \leftarrow \beta\, m - \eta\, g, \qquad \theta \leftarrow \theta + m$$

    with momentum coefficient $\beta$ (Keras calls it `momentum`). Return `(theta, m)`.

    *The grader also checks:* `theta` and `m` over four steps in a row (each from the state the
    previous step returned), other shapes, `momentum=0`, and that no input is modified.
    """),
    solution(
        "momentum_step",
        """
    def momentum_step(theta, grad, m, learning_rate, momentum=0.9):
        \"\"\"One momentum step; returns (new theta, new velocity m).\"\"\"
        ### BEGIN SOLUTION
        m = momentum * m - learning_rate * grad
        return theta + m, m
        ### END SOLUTION
    """,
    ),
    tests(
        "test_momentum_step",
        """
    # tests: momentum_step, two steps from rest with a constant gradient G (2x3 parameters)
    theta0, G, m0 = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]]), np.array([[2.0, -4.0, 0.0], [1.0, 0.0, 6.0]]), np.zeros((2, 3))
    given = [a.copy() for a in (theta0, G, m0)]
    theta, m = momentum_step(theta0, G, m0, learning_rate=0.1, momentum=0.5)
    assert np.allclose(m, -0.1 * G), f"step 1: expected m = {-0.1 * G}, got {m}"
    assert np.allclose(theta, theta0 - 0.1 * G), f"step 1: expected theta = {theta0 - 0.1 * G}, got {theta}"
    assert all(np.array_equal(a, b) for a, b in zip((theta0, G, m0), given)), (
        "momentum_step modified its inputs: return new arrays")
    theta, m = momentum_step(theta, G, m, learning_rate=0.1, momentum=0.5)
    assert np.allclose(m, -0.15 * G), f"step 2: expected m = {-0.15 * G}, got {m}"
    assert np.allclose(theta, theta0 - 0.25 * G), f"step 2: expected theta = {theta0 - 0.25 * G}, got {theta}"
    """,
    ),
    md(r"""
    ## 3. Nesterov accelerated gradient (2 points)

    Nesterov measures the gradient slightly ahead, at the point momentum is about to carry us to:

    $$m \leftarrow \beta\, m - \eta\, \nabla J(\theta + \beta m), \qquad \theta \leftarrow \theta + m$$

    Because the gradient is needed at a point of your choosing, this function receives a
    gradient **function** `grad_fn(theta) -> gradient` instead of a gradient array.
    Call it exactly once per step.

    *The grader also checks:* `theta` and `m` over three steps with a non-linear gradient,
    other shapes and hyper-parameters, and the number of `grad_fn` calls in every step.
    """),
    solution(
        "nesterov_step",
        """
    def nesterov_step(theta, grad_fn, m, learning_rate, momentum=0.9):
        \"\"\"One Nesterov step; returns (new theta, new velocity m).\"\"\"
        ### BEGIN SOLUTION
        m = momentum * m - learning_rate * grad_fn(theta + momentum * m)
        return theta + m, m
        ### END SOLUTION
    """,
    ),
    tests(
        "test_nesterov_step",
        """
    # tests: nesterov_step on J(theta) = sum(theta**2) (gradient 2*theta), 2x3 parameters
    theta0 = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 4.0]])
    m0 = np.array([[-0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    calls = []
    def grad_fn(point):
        calls.append(1)
        return 2 * point
    theta, m = nesterov_step(theta0, grad_fn, m0, learning_rate=0.1, momentum=0.5)
    # look-ahead point theta0 + 0.5 * m0, its gradient 2 * (theta0 + 0.5 * m0)
    assert len(calls) == 1, f"grad_fn must be called exactly once per step, was called {len(calls)} times"
    want_m = [[-0.4, -0.4, -0.4], [0.2, 0.4, -0.8]]
    assert np.allclose(m, want_m), f"expected m = {want_m}, got {m}"
    want = [[0.6, 1.6, 2.6], [-0.8, 0.4, 3.2]]
    assert np.allclose(theta, want), f"expected theta = {want}, got {theta}"
    """,
    ),
    md(r"""
    ## 4. AdaGrad and RMSProp (1 point each)

    Both scale each coordinate's step by the size of its past gradients, kept in $s$
    (initially zero; $\otimes$ and $\oslash$ are elementwise):

    * AdaGrad sums all squared gradients: $s \leftarrow s + g \otimes g$
    * RMSProp keeps an exponential average: $s \leftarrow \rho\, s + (1 - \rho)\, g \otimes g$

    and both then update $\theta \leftarrow \theta - \eta\, g \oslash \sqrt{s + \varepsilon}$,
    with $\varepsilon$ **inside** the square root, as in the book and in Keras' `Adagrad` and
    `RMSprop` (Adam, below, adds it outside). Return `(theta, s)`.

    *The grader also checks:* `theta` and `s` over four steps, the last with tiny gradients
    (where the place of $\varepsilon$ matters), other shapes, `rho` and `epsilon`, and that no
    input is modified.
    """),
    solution(
        "adagrad_rmsprop",
        """
    def adagrad_step(theta, grad, s, learning_rate, epsilon=1e-7):
        \"\"\"One AdaGrad step; returns (new theta, new accumulator s).\"\"\"
        ### BEGIN SOLUTION
        s = s + grad * grad
        return theta - learning_rate * grad / np.sqrt(s + epsilon), s
        ### END SOLUTION


    def rmsprop_step(theta, grad, s, learning_rate, rho=0.9, epsilon=1e-7):
        \"\"\"One RMSProp step; returns (new theta, new average s).\"\"\"
        ### BEGIN SOLUTION
        s = rho * s + (1 - rho) * grad * grad
        return theta - learning_rate * grad / np.sqrt(s + epsilon), s
        ### END SOLUTION
    """,
    ),
    tests(
        "test_adagrad_step",
        """
    # tests: adagrad_step, two steps with the same gradient g (2x3 parameters)
    g = np.array([[3.0, -1.0, 1.0], [1.0, -3.0, 3.0]])
    theta0, s0 = np.zeros((2, 3)), np.zeros((2, 3))
    given = [a.copy() for a in (theta0, g, s0)]
    theta, s = adagrad_step(theta0, g, s0, learning_rate=0.1, epsilon=0.0)
    assert np.allclose(s, g * g), f"step 1: expected s = {g * g}, got {s}"
    assert np.allclose(theta, -0.1 * np.sign(g)), f"step 1: expected theta = {-0.1 * np.sign(g)}, got {theta}"
    assert all(np.array_equal(a, b) for a, b in zip((theta0, g, s0), given)), (
        "adagrad_step modified its inputs: return new arrays")
    theta, s = adagrad_step(theta, g, s, learning_rate=0.1, epsilon=7.0)   # sqrt(2 g**2 + 7) = 3 or 5
    assert np.allclose(s, 2 * g * g), f"step 2: expected s = {2 * g * g}, got {s}"
    want = -0.1 * np.sign(g) - 0.1 * g / np.array([[5.0, 3.0, 3.0], [3.0, 5.0, 5.0]])
    assert np.allclose(theta, want), f"step 2: expected theta = {want} (epsilon inside the root), got {theta}"
    """,
    ),
    tests(
        "test_rmsprop_step",
        """
    # tests: rmsprop_step, one step from s = 0 (2x3 parameters, one tiny gradient)
    theta0, g, s0 = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 0.0]]), np.array([[2.0, -4.0, 1e-4], [1.0, 0.5, -3.0]]), np.zeros((2, 3))
    given = [a.copy() for a in (theta0, g, s0)]
    theta, s = rmsprop_step(theta0, g, s0, learning_rate=0.1, rho=0.9)
    assert np.allclose(s, 0.1 * g * g), f"expected s = {0.1 * g * g}, got {s}"
    want = theta0 - 0.1 * g / np.sqrt(0.1 * g * g + 1e-7)
    assert np.allclose(theta, want), f"expected theta = {want} (epsilon inside the root), got {theta}"
    assert all(np.array_equal(a, b) for a, b in zip((theta0, g, s0), given)), (
        "rmsprop_step modified its inputs: return new arrays")
    """,
    ),
    md(r"""
    ## 5. Adam, with bias correction (3 points)

    Adam keeps both a momentum-like average $m$ and an RMSProp-like average $s$, both starting
    at zero, and a step counter $t$ (the number of updates done so far, `0` before the first):

    $$
    \begin{aligned}
    t &\leftarrow t + 1 \\
    m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
    s &\leftarrow \beta_2 s + (1 - \beta_2)\, g \otimes g \\
    \hat m &= m / (1 - \beta_1^{\,t}), \qquad \hat s = s / (1 - \beta_2^{\,t}) \\
    \theta &\leftarrow \theta - \eta\, \hat m \oslash (\sqrt{\hat s} + \varepsilon)
    \end{aligned}
    $$

    Because $m$ and $s$ start at zero they are biased towards zero during the first steps; the
    division by $1 - \beta^t$ (bias correction) removes that bias. Return `(theta, m, s, t)`.
    `theta` (2 points) and the state `m, s, t` (1 point) are graded in separate cells.

    *The grader also checks:* up to six steps in a row (each from the state the previous one
    returned), the last with tiny gradients, other shapes, `beta_1` (0 included), `beta_2` and
    `epsilon`, and that no input is modified.
    """),
    solution(
        "adam_step",
        """
    def adam_step(theta, grad, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7):
        \"\"\"One Adam step; returns (new theta, new m, new s, new t).\"\"\"
        ### BEGIN SOLUTION
        t = t + 1
        m = beta_1 * m + (1 - beta_1) * grad
        s = beta_2 * s + (1 - beta_2) * grad * grad
        m_hat = m / (1 - beta_1 ** t)
        s_hat = s / (1 - beta_2 ** t)
        return theta - learning_rate * m_hat / (np.sqrt(s_hat) + epsilon), m, s, t
        ### END SOLUTION
    """,
    ),
    tests(
        "test_adam_step",
        """
    # tests: adam_step: theta. Thanks to bias correction the first step has size ~learning_rate.
    theta0 = np.array([[0.5, -0.5, 0.0], [1.0, 2.0, -1.0]])
    g = np.array([[10.0, -0.01, 1.0], [-2.0, 0.5, 3.0]])
    theta, m, s, t = adam_step(theta0, g, np.zeros((2, 3)), np.zeros((2, 3)), 0, learning_rate=0.01)
    assert np.allclose(theta, theta0 - 0.01 * np.sign(g), atol=1e-6), f"step 1: got theta={theta}"
    # step 2 with a zero gradient: m_hat = (0.09 / 0.19) g, s_hat = (0.000999 / 0.001999) g**2
    theta2, _, _, _ = adam_step(theta, np.zeros((2, 3)), m, s, t, learning_rate=0.01)
    want = theta - 0.01 * (0.09 / 0.19) / np.sqrt(0.000999 / 0.001999) * np.sign(g)
    assert np.allclose(theta2, want, atol=1e-6), f"step 2: expected theta = {want}, got {theta2}"
    """,
    ),
    tests(
        "test_adam_state",
        """
    # tests: adam_step: the state m, s, t after one and two steps
    theta0, g = np.array([[0.5, -0.5, 0.0], [1.0, 2.0, -1.0]]), np.array([[10.0, -0.01, 1.0], [-2.0, 0.5, 3.0]])
    m0, s0 = np.zeros((2, 3)), np.zeros((2, 3))
    given = [a.copy() for a in (theta0, g, m0, s0)]
    theta, m, s, t = adam_step(theta0, g, m0, s0, 0, learning_rate=0.01)
    assert t == 1, f"expected t == 1 after one step, got {t}"
    assert np.allclose(m, 0.1 * g), f"step 1: expected m = {0.1 * g}, got {m}"
    assert np.allclose(s, 0.001 * g * g), f"step 1: expected s = {0.001 * g * g}, got {s}"
    assert all(np.array_equal(a, b) for a, b in zip((theta0, g, m0, s0), given)), (
        "adam_step modified its inputs: return new arrays")
    theta, m, s, t = adam_step(theta, np.zeros((2, 3)), m, s, t, learning_rate=0.01)
    assert t == 2, f"expected t == 2 after two steps, got {t}"
    assert np.allclose(m, 0.09 * g) and np.allclose(s, 0.000999 * g * g), f"step 2: got m={m}, s={s}"
    """,
    ),
    md(r"""
    ## 6. AdamW: decoupled weight decay (2 points)

    Adding $\tfrac{\lambda}{2}\lVert\theta\rVert^2$ to the loss does not work well with Adam: the
    penalty's gradient gets divided by $\sqrt{\hat s}$ like everything else. AdamW instead
    shrinks the weights directly, outside the adaptive part:

    $$\theta \leftarrow \theta - \eta\,\bigl(\hat m \oslash (\sqrt{\hat s} + \varepsilon) + \lambda\, \theta\bigr)$$

    with $m$, $s$, $t$, $\hat m$, $\hat s$ exactly as in Adam ($\theta$ on the right is the value
    before the step). Reuse `adam_step` if you like.

    *The grader also checks:* `theta`, `m`, `s` and `t` over four steps, other shapes, learning
    rates and `weight_decay`, and that no input is modified.
    """),
    solution(
        "adamw_step",
        """
    def adamw_step(theta, grad, m, s, t, learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
                   beta_2=0.999, epsilon=1e-7):
        \"\"\"One AdamW step; returns (new theta, new m, new s, new t).\"\"\"
        ### BEGIN SOLUTION
        decayed = theta - learning_rate * weight_decay * theta
        return adam_step(decayed, grad, m, s, t, learning_rate, beta_1, beta_2, epsilon)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_adamw_step",
        """
    # tests: adamw_step: a zero gradient only decays the weights, then one step with a gradient g
    theta0, g = np.array([[2.0, -4.0, 1.0], [0.0, 1.0, -2.0]]), np.array([[1.0, -2.0, 0.5], [3.0, -1.0, 1.0]])
    m0, s0 = np.zeros((2, 3)), np.zeros((2, 3))
    given = [a.copy() for a in (theta0, m0, s0)]
    theta, m, s, t = adamw_step(theta0, np.zeros((2, 3)), m0, s0, 0, learning_rate=0.1, weight_decay=0.5)
    assert np.allclose(theta, 0.95 * theta0), f"expected {0.95 * theta0}, got {theta}"
    assert t == 1 and np.allclose(m, 0) and np.allclose(s, 0), f"expected t == 1, m = s = 0, got {t}, {m}, {s}"
    assert all(np.array_equal(a, b) for a, b in zip((theta0, m0, s0), given)), (
        "adamw_step modified its inputs: return new arrays")
    theta2, m, s, t = adamw_step(theta, g, m, s, t, learning_rate=0.1, weight_decay=0.5)
    # m_hat = (0.1 / 0.19) g, s_hat = (0.001 / 0.001999) g**2; the decay uses theta before the step
    want = theta - 0.1 * ((0.1 / 0.19) * g / (np.sqrt(0.001 / 0.001999) * np.abs(g) + 1e-7) + 0.5 * theta)
    assert np.allclose(theta2, want), f"step 2: expected theta = {want}, got {theta2}"
    assert t == 2 and np.allclose(m, 0.1 * g) and np.allclose(s, 0.001 * g * g), f"step 2: got t={t}, m={m}, s={s}"
    """,
    ),
    md(r"""
    ## 7. The elongated bowl (2 points)

    $J(\theta) = \tfrac12(\theta_0^2 + 25\,\theta_1^2)$ is a bowl 5 times steeper in one direction
    than in the other: plain gradient descent must use a small learning rate (or it oscillates
    across the steep direction) and then crawls along the flat one.

    Write `steps_to_converge(update, theta0, tol, max_steps)`: starting from `theta0`, call
    `theta = update(theta)` repeatedly and return **how many calls** were needed until
    `bowl(theta) < tol`. Return `0` if `bowl(theta0) < tol` already, and `None` if the loss is
    still not below `tol` after `max_steps` calls (never call `update` more than `max_steps`
    times).

    *The grader also checks:* other update rules, `tol` and `max_steps`, a loss that reaches
    exactly `tol` (not below it: keep going), convergence on exactly the last allowed call,
    and the number of `update` calls.
    """),
    locked(
        "bowl",
        """
    def bowl(theta):
        \"\"\"The elongated bowl J(theta) = (theta_0**2 + 25 theta_1**2) / 2.\"\"\"
        return 0.5 * (theta[0] ** 2 + 25.0 * theta[1] ** 2)


    def bowl_grad(theta):
        return np.array([theta[0], 25.0 * theta[1]])
    """,
    ),
    solution(
        "steps_to_converge",
        """
    def steps_to_converge(update, theta0, tol=1e-6, max_steps=10_000):
        \"\"\"Number of update calls until bowl(theta) < tol (0 if already; None if never).\"\"\"
        ### BEGIN SOLUTION
        theta = theta0
        for step in range(max_steps + 1):
            if bowl(theta) < tol:
                return step
            if step == max_steps:
                return None
            theta = update(theta)
        ### END SOLUTION
    """,
    ),
    tests(
        "test_steps_to_converge",
        """
    # tests: halving theta divides the loss by 4 at each call: 1 -> 0.25 -> 0.0625 -> ...
    start = np.array([np.sqrt(2.0), 0.0])  # bowl(start) == 1
    assert steps_to_converge(lambda th: th / 2, start, tol=0.1) == 2
    assert steps_to_converge(lambda th: th / 2, start, tol=2.0) == 0
    assert steps_to_converge(lambda th: th, start, tol=0.1, max_steps=50) is None
    """,
    ),
    md("""
    ## 8. Compare the optimizers

    The cell below runs each of your rules on the bowl from $\\theta_0 = (5, 1)$ and counts the
    steps to reach $J < 10^{-6}$. Try other learning rates: how high can plain gradient descent
    go before it diverges (hint: the steep direction has curvature 25), and why do momentum and
    Adam tolerate this bowl better? `None` means "not reached within 5000 steps": with a fixed
    learning rate, RMSProp's steps keep a size of about the learning rate in every coordinate,
    so it jitters around the minimum instead of settling (a schedule, next chapter, fixes that).
    """),
    code("""
    def make_update(kind, lr):
        state = {"m": np.zeros(2), "s": np.zeros(2), "t": 0}

        def update(theta):
            g = bowl_grad(theta)
            if kind == "sgd":
                return sgd_step(theta, g, lr)
            if kind == "momentum":
                theta, state["m"] = momentum_step(theta, g, state["m"], lr)
                return theta
            if kind == "nesterov":
                theta, state["m"] = nesterov_step(theta, bowl_grad, state["m"], lr)
                return theta
            if kind == "rmsprop":
                theta, state["s"] = rmsprop_step(theta, g, state["s"], lr)
                return theta
            theta, state["m"], state["s"], state["t"] = adam_step(
                theta, g, state["m"], state["s"], state["t"], lr)
            return theta

        return update


    for kind, lr in [("sgd", 0.035), ("momentum", 0.02), ("nesterov", 0.02), ("rmsprop", 0.01),
                     ("adam", 0.1)]:
        steps = steps_to_converge(make_update(kind, lr), np.array([5.0, 1.0]), 1e-6, 5000)
        print(f"{kind:>9} (learning rate {lr}): {steps} steps")
    """),
    written(
        "explain_adagrad",
        r"""
    ## 9. In your own words (2 points, graded by hand)

    AdaGrad is missing from the comparison above. Run it on the bowl with the learning rates
    you tried (for example with `adagrad_step` in place of `rmsprop_step`) and explain, from its
    update rule, why AdaGrad with a fixed learning rate slows down and can stall before reaching
    the minimum, while RMSProp keeps moving. What does that imply for training a deep network
    for many epochs? (Three to five sentences.)
    """,
        r"""
    AdaGrad's accumulator $s$ is a sum of squared gradients: it never decreases, so the
    effective step $\eta / (\sqrt{s} + \varepsilon)$ of every coordinate only shrinks, roughly
    like $\eta / \sqrt{t}$ when the gradients keep a similar size. On the bowl the steep
    coordinate fills $s$ quickly, and even the flat one's step becomes tiny long before
    $\theta$ is close to the minimum, so progress slows to a crawl. RMSProp replaces the sum by an
    exponential average that forgets old gradients, so its step size adapts to the recent
    gradients instead of decaying to zero. In a long deep-learning run AdaGrad's learning rate
    decays too early; RMSProp or Adam (or a schedule) are preferred.
    """,
    ),
]
