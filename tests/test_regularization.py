"""optreg.regularization: Dropout, MC dropout, EarlyStopping and gradient clipping.

Dropout is checked with numerical gradients (fixed mask) and binomial statistics; early
stopping against hand-derived stop epochs and ``keras.callbacks.EarlyStopping`` driven by hand;
clipping against hand values and Keras' optimizer clipping (``clipnorm``, ``clipvalue``,
``global_clipnorm``).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from optreg.regularization import (
    Dropout,
    EarlyStopping,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    mc_dropout_predict,
)

RNG = np.random.default_rng(7)


# ---------------------------------------------------------------- dropout


def test_dropout_backward_numerical_with_fixed_mask():
    x = RNG.normal(0, 1, (6, 5))
    w = RNG.normal(0, 1, (6, 5))

    def loss() -> float:  # a new layer with the same seed draws the same first mask
        return float(np.sum(w * Dropout(0.4, seed=3).forward(x, training=True)))

    layer = Dropout(0.4, seed=3)
    layer.forward(x, training=True)
    dx = layer.backward(w)
    h = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = loss()
        x[i] = old - h
        minus = loss()
        x[i] = old
        numeric[i] = (plus - minus) / (2 * h)
    assert np.linalg.norm(dx - numeric) / (np.linalg.norm(dx) + np.linalg.norm(numeric)) < 1e-7
    assert 0 < np.count_nonzero(dx == 0) < dx.size  # the mask did drop some units


def test_dropout_statistics():
    n, rate = 200_000, 0.3
    keep_prob = 1 - rate
    x = np.ones(n)
    y = Dropout(rate, seed=0).forward(x, training=True)
    # zeroed count ~ Binomial(n, rate): within 5 standard deviations
    fraction_zero = np.mean(y == 0)
    assert abs(fraction_zero - rate) < 5 * math.sqrt(rate * (1 - rate) / n)
    # survivors are scaled by 1/keep_prob exactly, so the mean is preserved:
    # var(y_i) = rate / keep_prob, so the sample mean is within 5 sd of 1
    np.testing.assert_allclose(y[y != 0], 1 / keep_prob)
    assert abs(y.mean() - 1.0) < 5 * math.sqrt(rate / keep_prob / n)


def test_dropout_inference_is_identity_and_masks_change_between_calls():
    layer = Dropout(0.5, seed=1)
    x = RNG.normal(0, 1, (20, 10))
    assert layer.forward(x) is x or np.array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    first = layer.forward(x, training=True)
    second = layer.forward(x, training=True)
    assert not np.array_equal(first == 0, second == 0)
    np.testing.assert_array_equal(Dropout(0.5, seed=1).forward(x, training=True), first)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((4, 3, 3, 8), dtype="float32")
    y = Dropout(0.5, noise_shape=(None, 1, 1, None), seed=2).forward(x, training=True)
    assert y.dtype == np.float32
    # one decision per (sample, channel): constant over the spatial axes
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :1, :], y.shape))
    assert set(np.unique(y)) == {0.0, 2.0}


def test_dropout_bad_input():
    for rate in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
            Dropout(rate)
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=(0, 3))
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=(4, 3)).forward(np.ones((4, 3, 2)), training=True)


class _DropoutThenSum:
    """A two-layer NumPy "model" following the layer protocol: dropout, then a sum."""

    def __init__(self, rate: float, seed: int) -> None:
        self.dropout = Dropout(rate, seed=seed)

    def forward(self, x, training=False):
        return self.dropout.forward(x, training=training).sum(axis=-1)


def test_mc_dropout_predict_mean_and_std():
    rate, d, n_samples = 0.5, 50, 4000
    x = np.ones((3, d))
    model = _DropoutThenSum(rate, seed=5)
    mean, std = mc_dropout_predict(model, x, n_samples=n_samples)
    assert mean.shape == std.shape == (3,)
    # each prediction is a sum of d iid m_i/keep_prob: mean d, variance d * rate / keep_prob
    sigma = math.sqrt(d * rate / (1 - rate))
    np.testing.assert_allclose(mean, d, atol=5 * sigma / math.sqrt(n_samples))
    np.testing.assert_allclose(std, sigma, rtol=0.05)
    # the deterministic prediction (dropout off) is d, with no spread
    assert model.forward(x).tolist() == [d, d, d]


def test_mc_dropout_predict_with_nn_sequential():
    from optreg.nn import Dense, Sequential

    model = Sequential([Dense(16, seed=0), Dropout(0.5, seed=1), Dense(1, seed=2)])
    x = RNG.normal(0, 1, (5, 4))
    deterministic = model.forward(x)
    np.testing.assert_array_equal(model.forward(x), deterministic)  # dropout off at inference
    mean, std = mc_dropout_predict(model, x, n_samples=500)
    assert mean.shape == std.shape == (5, 1) and np.all(std > 0)
    # dropout's expectation is the identity and the rest is linear: unbiased, 5 standard errors
    np.testing.assert_array_less(np.abs(mean - deterministic), 5 * std / math.sqrt(500))


def test_mc_dropout_predict_accepts_a_callable_and_checks_n_samples():
    calls = []

    def predict(x, training=False):
        calls.append(training)
        return x * (len(calls) % 2)

    mean, std = mc_dropout_predict(predict, np.array([2.0]), n_samples=4)
    assert calls == [True] * 4
    np.testing.assert_allclose(mean, [1.0])
    np.testing.assert_allclose(std, [1.0])
    with pytest.raises(ValueError, match="n_samples"):
        mc_dropout_predict(predict, np.ones(1), n_samples=0)


# ---------------------------------------------------------------- early stopping


def run_until_stop(stopper: EarlyStopping, values, weights=None) -> int | None:
    """Feed ``values`` epoch by epoch; return the epoch at which it asked to stop (or None)."""
    for epoch, value in enumerate(values):
        if stopper.update(value, None if weights is None else weights[epoch]):
            return epoch
    return None


def test_early_stopping_hand_derived_patience():
    losses = [1.0, 0.9, 0.95, 0.93, 0.96, 0.8]
    # best 0.9 at epoch 1; epochs 2 and 3 do not improve: wait reaches 2 at epoch 3
    stopper = EarlyStopping(patience=2)
    assert run_until_stop(stopper, losses) == 3
    assert stopper.best == 0.9 and stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    # wait is counted before the test, so patience 0 and 1 both stop at the first bad epoch
    assert run_until_stop(EarlyStopping(patience=0), losses) == 2
    assert run_until_stop(EarlyStopping(patience=1), losses) == 2
    # a patience longer than the bad run lets training reach the new best
    assert run_until_stop(EarlyStopping(patience=4), losses) is None


def test_early_stopping_min_delta_max_mode_and_baseline():
    # min_delta: an improvement must beat the best by more than 0.05
    losses = [1.0, 0.97, 0.90, 0.88, 0.86]
    # epoch 1: 0.97 + 0.05 > 1.0, no (wait 1); epoch 2: 0.95 < 1.0, yes (wait 0);
    # epochs 3 and 4: 0.93, 0.91 > 0.90, no (wait 1, 2): stop at epoch 4
    assert run_until_stop(EarlyStopping(min_delta=0.05, patience=2), losses) == 4
    assert run_until_stop(EarlyStopping(min_delta=-0.05, patience=2), losses) == 4  # abs()
    assert run_until_stop(EarlyStopping(patience=2), losses) is None  # each epoch improves
    # max mode (chosen automatically for accuracies)
    accuracies = [0.5, 0.6, 0.7, 0.65, 0.69, 0.71]
    stopper = EarlyStopping(monitor="val_accuracy", patience=2)
    assert stopper.mode == "max"
    assert run_until_stop(stopper, accuracies) == 4 and stopper.best == 0.7
    # baseline: improvements that do not beat 0.5 leave wait growing (1, 2), so the first
    # bad epoch (wait 3) stops; without a baseline the improvement at epoch 1 resets wait
    assert run_until_stop(EarlyStopping(patience=2, baseline=0.5), [0.9, 0.8, 0.85]) == 2
    assert run_until_stop(EarlyStopping(patience=2), [0.9, 0.8, 0.85]) is None


def test_early_stopping_start_from_epoch_and_nan():
    losses = [5.0, 6.0, 7.0, 1.0, 2.0, 3.0]
    # epochs 0 and 1 are ignored: best 7.0 at epoch 2, 1.0 at epoch 3, then 2 bad epochs
    stopper = EarlyStopping(patience=2, start_from_epoch=2)
    assert run_until_stop(stopper, losses) == 5 and stopper.best_epoch == 3
    # NaN never improves: it counts towards patience
    stopper = EarlyStopping(patience=2)
    assert run_until_stop(stopper, [1.0, float("nan"), 0.5]) is None
    assert run_until_stop(EarlyStopping(patience=2), [1.0, float("nan"), float("nan")]) == 2


def test_early_stopping_restore_best_weights_copies():
    weights = [[np.full(2, float(e))] for e in range(6)]
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    assert run_until_stop(stopper, [3.0, 1.0, 2.0, 4.0, 5.0, 0.0], weights) == 3
    weights[1][0][:] = -99.0  # the caller keeps training and mutates its arrays in place
    np.testing.assert_array_equal(stopper.best_weights[0], [1.0, 1.0])
    stopper.reset()  # reusable, like on_train_begin
    assert stopper.best is None and stopper.best_weights is None and stopper.wait == 0


class _FakeModel:
    """What keras.callbacks.EarlyStopping needs from a model: get/set_weights, stop_training."""

    def __init__(self):
        self.stop_training = False
        self.weights = None

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=0),
        dict(patience=3, min_delta=0.02, restore_best_weights=True),
        dict(patience=2, baseline=0.6, mode="min"),
        dict(monitor="val_accuracy", mode="max", patience=2, start_from_epoch=3),
        dict(patience=5, min_delta=0.01, start_from_epoch=1, restore_best_weights=True),
    ],
)
def test_early_stopping_equals_keras_callback(kwargs):
    rng = np.random.default_rng(len(str(kwargs)))
    for _ in range(20):
        values = (1.0 + 0.3 * rng.normal(size=40)).cumsum() / np.arange(1, 41)
        values = np.round(values, 2)  # ties and min_delta boundaries happen
        ours = EarlyStopping(**kwargs)
        ref = keras.callbacks.EarlyStopping(**kwargs)
        model = _FakeModel()
        ref.set_model(model)
        ref.on_train_begin()
        monitor = kwargs.get("monitor", "val_loss")
        for epoch, value in enumerate(values):
            model.weights = [np.array([epoch])]
            ref.on_epoch_end(epoch, {monitor: float(value)})
            stop = ours.update(float(value), [np.array([epoch])])
            assert stop == model.stop_training
            assert (ours.wait, ours.best, ours.best_epoch) == (ref.wait, ref.best, ref.best_epoch)
            if stop:
                break
        assert ours.stopped_epoch == ref.stopped_epoch
        if ours.restore_best_weights:
            np.testing.assert_array_equal(ours.best_weights[0], ref.best_weights[0])


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="patience must be an integer >= 0"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="start_from_epoch"):
        EarlyStopping(start_from_epoch=-2)
    with pytest.raises(ValueError, match="mode must be one of"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="mode='auto' cannot tell"):
        EarlyStopping(monitor="val_f1")


# ---------------------------------------------------------------- gradient clipping


def test_clipping_hand_values():
    g = np.array([3.0, -4.0])
    np.testing.assert_allclose(clip_by_norm(g, 1.0), [0.6, -0.8])
    np.testing.assert_allclose(clip_by_norm(g, 10.0), g)  # already short enough: unchanged
    np.testing.assert_allclose(clip_by_value(g, 3.5), [3.0, -3.5])
    clipped, norm = clip_by_global_norm([g, np.array([12.0])], 6.5)
    assert norm == 13.0 == global_norm([g, np.array([12.0])])
    np.testing.assert_allclose(clipped[0], [1.5, -2.0])
    np.testing.assert_allclose(clipped[1], [6.0])
    np.testing.assert_allclose(clip_by_norm(np.zeros(3), 1.0), 0.0)


def test_clipping_is_pure():
    grads = [RNG.normal(0, 5, (3, 4)), RNG.normal(0, 5, 7)]
    before = [g.copy() for g in grads]
    clip_by_value(grads, 0.1)
    clip_by_norm(grads[0], 0.1)
    clip_by_global_norm(grads, 0.1)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def _keras_clipped(grads, **clip_kwargs):
    """The gradients as Keras' optimizer clips them: SGD(lr=1) moves each variable by -g."""
    variables = [keras.Variable(np.zeros_like(g, dtype="float32")) for g in grads]
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **clip_kwargs)
    optimizer.apply([keras.ops.convert_to_tensor(g, "float32") for g in grads], variables)
    return [-v.numpy() for v in variables]


@pytest.mark.parametrize("scale", [0.1, 1.0, 100.0])
def test_clipping_equals_keras_optimizer(scale):
    grads = [RNG.normal(0, scale, (4, 3)), RNG.normal(0, scale, 5)]
    for g, ref in zip(grads, _keras_clipped(grads, clipnorm=1.0), strict=True):
        np.testing.assert_allclose(clip_by_norm(g, 1.0), ref, rtol=1e-5, atol=1e-7)
    for ours, ref in zip(
        clip_by_value(grads, 0.5), _keras_clipped(grads, clipvalue=0.5), strict=True
    ):
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)
    clipped, _ = clip_by_global_norm(grads, 2.0)
    for ours, ref in zip(clipped, _keras_clipped(grads, global_clipnorm=2.0), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_clipping_non_finite_documented_behaviour():
    g = np.array([np.inf, 1.0, -np.inf])
    np.testing.assert_array_equal(clip_by_value(g, 2.0), [2.0, 1.0, -2.0])
    np.testing.assert_array_equal(
        np.isnan(clip_by_value(np.array([np.nan, 5.0]), 1.0)), [True, False]
    )
    with np.errstate(invalid="ignore"):
        by_norm = clip_by_norm(g, 1.0)
    np.testing.assert_array_equal(by_norm[1], 0.0)
    assert np.isnan(by_norm[0]) and np.isnan(by_norm[2])
    clipped, norm = clip_by_global_norm([np.array([1.0, 2.0]), np.array([np.nan])], 1.0)
    assert math.isnan(norm) and all(np.isnan(c).all() for c in clipped)
    # the same as Keras' optimizer
    grads = [np.array([1.0, 2.0]), np.array([np.inf])]
    for ours, ref in zip(
        clip_by_global_norm(grads, 1.0)[0], _keras_clipped(grads, global_clipnorm=1.0), strict=True
    ):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))


def test_clipping_bad_input():
    g = [np.ones(3)]
    for value in (0.0, -1.0):
        with pytest.raises(ValueError, match="clipvalue must be > 0"):
            clip_by_value(g, value)
        with pytest.raises(ValueError, match="clipnorm must be > 0"):
            clip_by_norm(g[0], value)
        with pytest.raises(ValueError, match="global_clipnorm must be > 0"):
            clip_by_global_norm(g, value)
