"""optreg.optimizers (NumPy): hand-derived steps, textbook forms, parity with Keras' built-ins.

Parity tolerance: float32 parameters of size O(1) moved by O(1) over 60 steps; ours and Keras'
compute the same float32 operations in a slightly different order, so they agree to a few float32
ulps per step: we require |ours - keras| <= 2e-6 + 2e-6 |keras| (float32 eps is 1.2e-7).
"""

from __future__ import annotations

import math
import tracemalloc

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import optimizers as O

SHAPES = [(7,), (4, 5), (2, 3, 4)]
GRAD_SCALES = [0.1, 1.0, 3.0]  # the first tensor stays under clipnorm=1, the others do not
STEPS = 60
ALL = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "Adamax", "Nadam", "AdamW"]


def make_problem(steps: int = STEPS, seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    scaled = list(zip(SHAPES, GRAD_SCALES, strict=True))
    grads = [[(c * rng.normal(size=s)).astype(np.float32) for s, c in scaled] for _ in range(steps)]
    return init, grads


def run_numpy(optimizer: O.Optimizer, init, grads):
    params = [w.copy() for w in init]
    for g in grads:
        optimizer.apply(g, params)
    return params


def run_keras(optimizer, init, grads):
    """Keras' ``apply`` over all steps, traced once by tf.function (eager would be 20x slower)."""
    variables = [keras.Variable(w) for w in init]
    optimizer.build(variables)
    step = tf.function(lambda g: optimizer.apply(g, variables))
    for g in grads:
        step([tf.constant(x) for x in g])
    return [v.numpy() for v in variables]


def numpy_schedule(step: int) -> float:
    """Same as keras.optimizers.schedules.ExponentialDecay(0.05, 20, 0.5)."""
    return 0.05 * 0.5 ** (step / 20)


def keras_schedule():
    return keras.optimizers.schedules.ExponentialDecay(0.05, 20, 0.5)


def assert_float32_close(ours, reference):
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


# --------------------------------------------------------------------------------------------
# One or two steps against values derived by hand (float64, so the only error is epsilon's)
# --------------------------------------------------------------------------------------------
def steps(optimizer, w0, gs, dtype=np.float64):
    w = np.array(w0, dtype=dtype)
    for g in gs:
        optimizer.apply([np.array(g, dtype=dtype)], [w])
    return w


def test_sgd_by_hand():
    assert steps(O.SGD(0.1), [1.0], [[2.0]]) == pytest.approx([0.8])
    # m1 = -0.2, w1 = 0.8; m2 = 0.9 * -0.2 - 0.2 = -0.38, w2 = 0.42
    assert steps(O.SGD(0.1, momentum=0.9), [1.0], [[2.0], [2.0]]) == pytest.approx([0.42])
    # w1 = 1 + 0.9 * -0.2 - 0.2 = 0.62; w2 = 0.62 + 0.9 * -0.38 - 0.2 = 0.078
    nesterov = O.SGD(0.1, momentum=0.9, nesterov=True)
    assert steps(nesterov, [1.0], [[2.0], [2.0]]) == pytest.approx([0.078])


def test_adagrad_by_hand():
    opt = O.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=1e-12)
    # s1 = 4, w1 = 1 - 0.1 * 2 / 2 = 0.9; s2 = 8, w2 = 0.9 - 0.2 / sqrt(8)
    assert steps(opt, [1.0], [[2.0], [2.0]]) == pytest.approx([0.9 - 0.2 / math.sqrt(8)])
    # Keras' default accumulator 0.1: s1 = 4.1
    assert steps(O.Adagrad(0.1, epsilon=1e-12), [1.0], [[2.0]]) == pytest.approx(
        [1 - 0.2 / math.sqrt(4.1)]
    )


def test_rmsprop_by_hand():
    # s1 = 0.1 * 4 = 0.4, step = 0.01 * 2 / sqrt(0.4) = 0.0316228
    assert steps(O.RMSprop(0.01, epsilon=1e-12), [1.0], [[2.0]]) == pytest.approx([0.9683772])
    # centered: m_g = 0.2, d = 0.4 - 0.04 = 0.36, step = 0.02 / 0.6
    centered = O.RMSprop(0.01, epsilon=1e-12, centered=True)
    assert steps(centered, [1.0], [[2.0]]) == pytest.approx([1 - 0.02 / 0.6])
    # momentum 0.5: m1 = 0.0316228; s2 = 0.76, m2 = 0.5 m1 + 0.02 / sqrt(0.76)
    momentum = O.RMSprop(0.01, momentum=0.5, epsilon=1e-12)
    assert steps(momentum, [1.0], [[2.0], [2.0]]) == pytest.approx([0.9296242617])


def test_adadelta_by_hand():
    # s1 = 0.05 * 4 = 0.2; dw = -sqrt(0 + eps) / sqrt(0.2 + eps) * 2; lr = 1 as in Zeiler's paper
    eps = 1e-6
    dw = -math.sqrt(eps) / math.sqrt(0.2 + eps) * 2
    assert steps(O.Adadelta(1.0, epsilon=eps), [1.0], [[2.0]]) == pytest.approx([1 + dw])


@pytest.mark.parametrize("name", ["Adam", "Adamax"])
def test_adam_and_adamax_take_steps_of_lr_under_a_constant_gradient(name):
    """With g constant, the bias-corrected m / sqrt(s) (or m / u) is sign(g): steps of size lr."""
    opt = getattr(O, name)(0.01, epsilon=1e-12)
    w = steps(opt, [1.0, 1.0], [[2.0, -0.5]] * 2)
    assert w == pytest.approx([1 - 0.02, 1 + 0.02], rel=1e-9)


def test_nadam_first_step_by_hand():
    # mu_1 = 0.9 (1 - 0.5 * 0.96) = 0.468, mu_2 = 0.9 (1 - 0.5 * 0.96^2) = 0.48528, P_1 = mu_1;
    # m = 0.1 g, s_hat = g^2: m_hat = (0.48528 * 0.1 / (1 - 0.468 * 0.48528) + 1) g = 1.0627878 g
    opt = O.Nadam(0.01, epsilon=1e-12)
    assert steps(opt, [1.0], [[2.0]]) == pytest.approx([1 - 0.010627878033])
    assert opt.mu_product == pytest.approx(0.468)


def test_adamw_first_step_by_hand():
    # decay first: 1 - 0.01 * 0.1 * 1 = 0.999, then Adam's first step of lr: 0.989
    opt = O.AdamW(0.01, weight_decay=0.1, epsilon=1e-12)
    assert steps(opt, [1.0], [[2.0]]) == pytest.approx([0.989])


def test_weight_decay_is_applied_before_the_step_with_the_current_rate():
    # SGD: w1 = w0 - lr wd w0 - lr g = 1 - 0.1 * 0.5 - 0.1 * 2 = 0.75
    assert steps(O.SGD(0.1, weight_decay=0.5), [1.0], [[2.0]]) == pytest.approx([0.75])


# --------------------------------------------------------------------------------------------
# Where Keras differs from the textbook: both forms, and the conversion between them
# --------------------------------------------------------------------------------------------
def textbook_adam(w, grads, lr, beta_1, beta_2, eps_hat):
    """Kingma & Ba, Algorithm 1; ``eps_hat(t)`` gives the epsilon of step t."""
    w, m, s = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        s = beta_2 * s + (1 - beta_2) * g**2
        m_hat, s_hat = m / (1 - beta_1**t), s / (1 - beta_2**t)
        w = w - lr * m_hat / (np.sqrt(s_hat) + eps_hat(t))
    return w


def test_adam_equals_textbook_adam_with_converted_epsilon():
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=10)
    grads = [1e-6 * rng.normal(size=10) for _ in range(30)]  # tiny: epsilon matters
    eps, b2 = 1e-6, 0.999
    ours = steps(O.Adam(0.01, epsilon=eps), w0, grads)
    converted = textbook_adam(w0, grads, 0.01, 0.9, b2, lambda t: eps / math.sqrt(1 - b2**t))
    np.testing.assert_allclose(ours, converted, rtol=1e-12)
    same_eps = textbook_adam(w0, grads, 0.01, 0.9, b2, lambda t: eps)
    assert np.max(np.abs(ours - same_eps)) > 1e-3  # the placement of epsilon changes the steps


def textbook_nadam(w, grads, lr, beta_1, beta_2, eps, mu):
    """Dozat (2016), Algorithm 2, with momentum schedule ``mu(t)``."""
    w, m, s, product = w.copy(), np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(grads, start=1):
        product *= mu(t)
        g_hat = g / (1 - product)
        m = beta_1 * m + (1 - beta_1) * g
        m_hat = m / (1 - product * mu(t + 1))
        s = beta_2 * s + (1 - beta_2) * g**2
        s_hat = s / (1 - beta_2**t)
        m_bar = (1 - mu(t)) * g_hat + mu(t + 1) * m_hat
        w = w - lr * m_bar / (np.sqrt(s_hat) + eps)
    return w


def test_nadam_equals_dozat_with_keras_momentum_schedule_not_the_constant():
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=10)
    grads = [rng.normal(size=10) for _ in range(40)]
    ours = steps(O.Nadam(0.01), w0, grads)
    keras_mu = textbook_nadam(
        w0, grads, 0.01, 0.9, 0.999, 1e-7, lambda t: 0.9 * (1 - 0.5 * 0.96**t)
    )
    np.testing.assert_allclose(ours, keras_mu, rtol=1e-12)
    constant = textbook_nadam(w0, grads, 0.01, 0.9, 0.999, 1e-7, lambda t: 0.9)
    assert np.max(np.abs(ours - constant)) > 1e-3
    paper = textbook_nadam(
        w0, grads, 0.01, 0.9, 0.999, 1e-7, lambda t: 0.9 * (1 - 0.5 * 0.96 ** (0.004 * t))
    )
    assert np.max(np.abs(ours - paper)) > 1e-3  # Keras 3 dropped the paper's 0.004


def textbook_sgd_momentum(w, grads, lrs, beta):
    """PyTorch / textbook convention: m <- beta m + g, w <- w - lr m."""
    w, m = w.copy(), np.zeros_like(w)
    for g, lr in zip(grads, lrs, strict=True):
        m = beta * m + g
        w = w - lr * m
    return w


def test_sgd_momentum_conventions_agree_at_constant_rate_only():
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=10)
    grads = [rng.normal(size=10) for _ in range(30)]
    ours = steps(O.SGD(0.05, momentum=0.9), w0, grads)
    textbook = textbook_sgd_momentum(w0, grads, [0.05] * 30, 0.9)
    np.testing.assert_allclose(ours, textbook, rtol=1e-12)
    ours_scheduled = steps(O.SGD(numpy_schedule, momentum=0.9), w0, grads)
    lrs = [numpy_schedule(t) for t in range(30)]
    textbook_scheduled = textbook_sgd_momentum(w0, grads, lrs, 0.9)
    assert np.max(np.abs(ours_scheduled - textbook_scheduled)) > 1e-3


def test_adamw_is_adam_plus_decay_by_lr_times_weight_decay():
    """Decoupled: w_t = (1 - lr wd) w_{t-1} - (Adam's step, which does not depend on w)."""
    rng = np.random.default_rng(4)
    w0 = rng.normal(size=10)
    grads = [rng.normal(size=10) for _ in range(30)]
    adamw = steps(O.AdamW(0.01, weight_decay=0.5), w0, grads)
    adam, w, previous = O.Adam(0.01), w0.copy(), w0.copy()
    for g in grads:
        adam.apply([g], [previous])  # previous <- previous - step
        step = w - previous
        w = (1 - 0.01 * 0.5) * w - step
        previous = w.copy()
    np.testing.assert_allclose(adamw, w, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Parity with Keras' built-in optimizers over 60 steps (float32, three tensors)
# --------------------------------------------------------------------------------------------
SCHEDULE = "schedule"  # replaced by numpy_schedule / keras_schedule()
PARITY = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "learning_rate": 0.05}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.2, "learning_rate": SCHEDULE}),
    ("SGD", {"momentum": 0.5, "clipvalue": 0.5}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "clipnorm": 1.0, "learning_rate": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "learning_rate": 0.01}),
    ("RMSprop", {"rho": 0.8, "global_clipnorm": 1.0, "learning_rate": SCHEDULE}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9, "weight_decay": 0.1, "clipvalue": 1.0}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "clipnorm": 1.0}),
    ("Adam", {"learning_rate": SCHEDULE, "weight_decay": 0.1, "beta_1": 0.8}),
    ("Adam", {"learning_rate": 0.05, "global_clipnorm": 1.0, "epsilon": 1e-3}),
    ("Adamax", {"learning_rate": 0.05}),
    ("Adamax", {"learning_rate": SCHEDULE, "clipvalue": 0.5, "weight_decay": 0.1}),
    ("Nadam", {"learning_rate": 0.05}),
    ("Nadam", {"learning_rate": SCHEDULE, "clipnorm": 1.0, "beta_2": 0.99}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": SCHEDULE, "amsgrad": True, "global_clipnorm": 1.0}),
]


def build_pair(name: str, kwargs: dict):
    np_kwargs = {k: numpy_schedule if v == SCHEDULE else v for k, v in kwargs.items()}
    keras_kwargs = {k: keras_schedule() if v == SCHEDULE else v for k, v in kwargs.items()}
    return getattr(O, name)(**np_kwargs), getattr(keras.optimizers, name)(**keras_kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs"), PARITY, ids=[f"{n}-{'-'.join(k) or 'defaults'}" for n, k in PARITY]
)
def test_parity_with_keras_builtin(name, kwargs):
    init, grads = make_problem()
    ours, builtin = build_pair(name, kwargs)
    ours_params = run_numpy(ours, init, grads)
    keras_params = run_keras(builtin, init, grads)
    assert_float32_close(ours_params, keras_params)
    assert ours.iterations == int(builtin.iterations.numpy()) == STEPS
    moved = max(np.max(np.abs(w - w0)) for w, w0 in zip(ours_params, init, strict=True))
    assert moved > 0.01  # the comparison is not between two unmoved copies


def test_every_optimizer_is_covered_by_the_parity_tests():
    assert {name for name, _ in PARITY} == set(ALL)


def test_defaults_and_names_mirror_keras():
    import inspect

    for name in ALL:
        ours = inspect.signature(getattr(O, name)).parameters
        theirs = inspect.signature(getattr(keras.optimizers, name)).parameters
        for arg, parameter in ours.items():
            assert arg in theirs, (name, arg)
            assert parameter.default == theirs[arg].default, (name, arg)
        assert list(ours)[: len(ours) - 1] == [a for a in theirs if a in ours][: len(ours) - 1]


# --------------------------------------------------------------------------------------------
# Schedules, iterations, configuration, memory
# --------------------------------------------------------------------------------------------
def test_schedule_is_evaluated_at_iterations_before_the_increment():
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.1

    opt, w = O.SGD(schedule), np.ones(3)
    for _ in range(3):
        opt.apply([np.ones(3)], [w])
    assert seen == [0, 1, 2] and opt.iterations == 3
    assert opt.current_learning_rate() == 0.1


def test_empty_lists_are_a_no_op_like_keras():
    opt = O.Adam()
    opt.apply([], [])
    assert opt.iterations == 0 and not opt.built


def test_float64_and_mixed_dtype_gradients():
    w32, w64 = np.ones(4, np.float32), np.ones(4)
    opt = O.Adam(0.1)
    opt.apply([np.ones(4), np.ones(4, np.float32)], [w32, w64])  # grads cast like Keras
    expected = 1 - 0.1 / (1 + 1e-7 / math.sqrt(1 - 0.999))  # first step: lr |g| / (|g| + eps')
    np.testing.assert_allclose(w32, expected, rtol=1e-6)
    np.testing.assert_allclose(w64, expected, rtol=1e-12)
    assert w32.dtype == np.float32 and opt.state[0]["m"].dtype == np.float32


@pytest.mark.parametrize("name", ALL)
def test_get_config_round_trips(name):
    opt = getattr(O, name)(learning_rate=0.05, clipnorm=2.0)
    clone = type(opt)(**opt.get_config())
    assert clone.get_config() == opt.get_config()
    assert name in repr(opt)


def test_learning_rate_setter_validates():
    opt = O.SGD()
    opt.learning_rate = 0.5
    assert opt.current_learning_rate() == 0.5
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        opt.learning_rate = -1.0


def step_allocation_peak(opt, size: int) -> int:
    """tracemalloc's peak over 5 steps after the first, on two float32 parameters."""
    params = [np.ones(size, np.float32), np.ones((300, 300), np.float32)]
    grads = [np.full_like(w, 0.01) for w in params]
    opt.apply(grads, params)  # first step: the state
    tracemalloc.start()
    for _ in range(5):
        opt.apply(grads, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name", ["SGD", "Adam", "Nadam", "Adadelta", "RMSprop"])
def test_step_allocation_is_bounded_by_the_chunk_not_the_parameters(name):
    """The update rules' temporaries are chunk-sized: the peak does not grow with the parameters
    (100,000 vs 1,000,000 elements) and stays under 8 chunks (one parameter is 4 MB)."""
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    peaks = []
    for size in (100_000, 1_000_000):
        opt = getattr(O, name)(clipnorm=1.0, weight_decay=0.01, **kwargs)
        opt.workers = 1
        peaks.append(step_allocation_peak(opt, size))
    chunk_bytes = O.Optimizer.chunk_size * 4
    assert peaks[1] < 8 * chunk_bytes, peaks
    assert peaks[1] < peaks[0] + 20_000, peaks


# --------------------------------------------------------------------------------------------
# Bad input: ValueError naming the argument; nothing changes
# --------------------------------------------------------------------------------------------
BAD_ARGS = [
    ("SGD", {"learning_rate": 0.0}, "learning_rate must be > 0"),
    ("SGD", {"learning_rate": -0.1}, "learning_rate must be > 0"),
    ("SGD", {"learning_rate": "fast"}, "learning_rate must be a real number"),
    ("SGD", {"momentum": -0.1}, r"momentum must be in \[0, 1\)"),
    ("SGD", {"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ("SGD", {"nesterov": "yes"}, "nesterov must be True or False"),
    ("SGD", {"weight_decay": -1e-3}, "weight_decay must be >= 0"),
    ("SGD", {"clipnorm": 0.0}, "clipnorm must be > 0"),
    ("SGD", {"clipvalue": -1.0}, "clipvalue must be > 0"),
    ("SGD", {"global_clipnorm": float("inf")}, "global_clipnorm must be finite"),
    ("SGD", {"clipnorm": 1.0, "clipvalue": 1.0}, "only one of clipnorm, clipvalue"),
    ("Adam", {"clipnorm": 1.0, "global_clipnorm": 1.0}, "only one of clipnorm, clipvalue"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value must be >= 0"),
    ("Adagrad", {"epsilon": 0.0}, "epsilon must be > 0"),
    ("RMSprop", {"rho": 1.0}, r"rho must be in \[0, 1\)"),
    ("RMSprop", {"momentum": 1.5}, r"momentum must be in \[0, 1\)"),
    ("RMSprop", {"centered": None}, "centered must be True or False"),
    ("RMSprop", {"epsilon": -1e-7}, "epsilon must be > 0"),
    ("Adadelta", {"rho": -0.5}, r"rho must be in \[0, 1\)"),
    ("Adam", {"beta_1": 1.0}, r"beta_1 must be in \[0, 1\)"),
    ("Adam", {"beta_2": -0.1}, r"beta_2 must be in \[0, 1\)"),
    ("Adam", {"epsilon": 0}, "epsilon must be > 0"),
    ("Adam", {"amsgrad": 1}, "amsgrad must be True or False"),
    ("Adamax", {"beta_2": 1.0}, r"beta_2 must be in \[0, 1\)"),
    ("Nadam", {"beta_1": float("nan")}, "beta_1 must be finite"),
    ("AdamW", {"weight_decay": None}, "weight_decay must be a number >= 0 for AdamW"),
    ("AdamW", {"weight_decay": -0.1}, "weight_decay must be >= 0"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), BAD_ARGS)
def test_bad_arguments_raise_naming_the_argument(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(O, name)(**kwargs)


def snapshot(opt, params):
    return (
        [w.copy() for w in params],
        [{k: v.copy() for k, v in s.items()} for s in opt.state],
        opt.iterations,
        getattr(opt, "mu_product", None),
    )


def assert_unchanged(before, after):
    params_b, state_b, it_b, mu_b = before
    params_a, state_a, it_a, mu_a = after
    assert it_a == it_b and mu_a == mu_b
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(state_a) == len(state_b)
    for sa, sb in zip(state_a, state_b, strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def good():
    return [np.ones(3, np.float32), np.ones((2, 2), np.float32)]


def read_only(shape):
    w = np.ones(shape, np.float32)
    w.setflags(write=False)
    return w


BAD_APPLY = [
    ("length", lambda p: ([np.ones(3, np.float32)], p), "same length"),
    ("shape", lambda p: ([np.ones(3, np.float32), np.ones((2, 3), np.float32)], p), r"grads\[1\]"),
    ("int grad", lambda p: ([np.ones(3, np.int64), np.ones((2, 2))], p), "float dtype"),
    ("int param", lambda p: (good(), [p[0], np.ones((2, 2), int)]), r"params\[1\] must have a"),
    ("list grad", lambda p: ([[1.0, 1.0, 1.0], np.ones((2, 2))], p), "must be a NumPy array"),
    ("array not list", lambda p: (np.ones(3), p[0]), "must be a list of NumPy arrays"),
    ("nan", lambda p: ([np.ones(3), np.array([[1.0, np.nan], [0, 0]])], p), r"grads\[1\].*NaN"),
    ("inf", lambda p: ([np.array([1.0, -np.inf, 0]), np.ones((2, 2))], p), r"grads\[0\].*inf"),
    ("read-only", lambda p: (good(), [p[0], read_only((2, 2))]), r"params\[1\] must be writeable"),
]


@pytest.mark.parametrize("name", ["SGD", "Nadam"])
@pytest.mark.parametrize("built", [False, True])
@pytest.mark.parametrize(("case", "make", "message"), BAD_APPLY, ids=[c[0] for c in BAD_APPLY])
def test_bad_apply_changes_nothing(name, built, case, make, message):
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    opt, params = getattr(O, name)(weight_decay=0.1, **kwargs), good()
    if built:
        for _ in range(3):
            opt.apply(good(), params)
    before = snapshot(opt, params)
    grads, args = make(params)
    with pytest.raises(ValueError, match=message):
        opt.apply(grads, args)
    assert_unchanged(before, snapshot(opt, params))
    assert opt.built == built


def test_a_built_optimizer_rejects_another_parameter_list():
    opt, params = O.Adam(), good()
    opt.apply(good(), params)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=r"params must have length 2"):
        opt.apply([np.ones(3, np.float32)], [params[0]])
    with pytest.raises(ValueError, match=r"params\[1\] must have shape \(2, 2\) and dtype float32"):
        opt.apply(good(), [params[0], np.ones((2, 2))])
    assert_unchanged(before, snapshot(opt, params))


def test_a_schedule_returning_a_negative_rate_changes_nothing():
    opt, params = O.SGD(lambda step: 0.1 - 0.05 * step, momentum=0.5), good()
    for _ in range(3):
        opt.apply(good(), params)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=r"learning_rate\(3\) must be >= 0"):
        opt.apply(good(), params)
    assert_unchanged(before, snapshot(opt, params))


def test_huge_but_finite_gradients_are_accepted():
    """The squared norm overflows float32 (1e40 > 3.4e38) but every element is finite."""
    w = np.zeros(2, np.float32)
    O.SGD(1e-20).apply([np.array([1e20, -1e20], np.float32)], [w])
    np.testing.assert_allclose(w, [-1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_chunks_threads_and_memory_layout_do_not_change_the_result(name):
    """Updates are element-wise: small chunks over 3 threads, or a transposed (Fortran-ordered)
    or strided parameter, give bit-for-bit the plain result."""
    rng = np.random.default_rng(5)
    init = [rng.normal(size=(30, 20)).astype(np.float32), rng.normal(size=50).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in init] for _ in range(5)]
    plain = run_numpy(getattr(O, name)(learning_rate=0.05, clipnorm=1.0), init, grads)

    chunked = getattr(O, name)(learning_rate=0.05, clipnorm=1.0)
    chunked.chunk_size, chunked.workers, chunked.parallel_min_size = 7, 3, 0
    assert_array_lists_equal(run_numpy(chunked, init, grads), plain)
    assert len(chunked._threads) == 3

    base = np.zeros((20, 60), np.float32)
    transposed, strided = init[0].copy(order="F"), base[:, ::3]  # (30, 20) in F order; (20, 20)
    strided[...] = rng.normal(size=strided.shape)
    reference = [np.ascontiguousarray(transposed), strided.copy()]
    opt, ref_opt = (getattr(O, name)(learning_rate=0.05) for _ in range(2))
    for g in grads:
        pair = [g[0], g[0][:20].copy()]
        opt.apply(pair, [transposed, strided])
        ref_opt.apply(pair, reference)
    assert_array_lists_equal([transposed, strided], reference)
    assert not base[:, 1::3].any()  # the elements between the strided ones are untouched


def assert_array_lists_equal(ours, reference):
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a, b)
