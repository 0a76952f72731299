"""optreg.nn: gradient checks, losses against hand values and Keras, fit against Keras' fit."""

from __future__ import annotations

import numpy as np
import pytest

from optreg import nn
from optreg.constraints import MaxNorm
from optreg.normalization import BatchNormalization, LayerNormalization
from optreg.optimizers import SGD, Adam
from optreg.regularization import Dropout, EarlyStopping
from optreg.regularizers import L2
from optreg.schedules import ExponentialDecay


def blobs(n=600, classes=3, features=8, seed=0, spread=1.0):
    """Gaussian clusters around random centres: a problem an MLP solves almost perfectly."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = centres[y] + rng.normal(0.0, spread, size=(n, features))
    return x.astype(np.float32), y


# --------------------------------------------------------------------------------------------
# Gradient checks
# --------------------------------------------------------------------------------------------


def full_model(seed=0):
    """Dense + BN + activations + dropout + LN + softmax logits, all in float64."""
    return nn.Sequential(
        [
            nn.Dense(7, kernel_regularizer=L2(0.01), seed=seed, dtype="float64"),
            BatchNormalization(),
            nn.Activation("tanh"),
            Dropout(0.3, seed=seed),
            nn.Dense(6, activation="elu", seed=seed + 1, dtype="float64"),
            LayerNormalization(),
            nn.Dense(5, activation="sigmoid", seed=seed + 2, dtype="float64"),
            nn.Dense(4, bias_initializer="random_normal", seed=seed + 3, dtype="float64"),
        ]
    )


def test_gradient_check_of_a_full_sequential_model():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 5))
    y = rng.integers(0, 4, size=10)
    model = full_model()
    error = nn.gradient_check(model, x, y, loss=nn.SoftmaxCrossEntropy())
    assert error < 1e-7
    # dropout really was active (else the fixed-mask replay would be untested)
    assert model.layers[3].mask is not None and (model.layers[3].mask == 0).any()


def test_gradient_check_detects_a_wrong_backward():
    class WrongScale(nn.Activation):
        def backward(self, dy):
            return 1.01 * super().backward(dy)  # 1 % off

    rng = np.random.default_rng(2)
    model = nn.Sequential(
        [
            nn.Dense(4, activation="tanh", dtype="float64", seed=0),
            WrongScale("tanh"),
            nn.Dense(2, dtype="float64", seed=1),
        ]
    )
    error = nn.gradient_check(model, rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), loss="mse")
    assert error > 1e-3


def test_gradient_check_of_softmax_activation_and_mse_with_regularized_bias():
    rng = np.random.default_rng(3)
    model = nn.Sequential(
        [
            nn.Flatten(),
            nn.Dense(5, activation="softplus", bias_regularizer=L2(0.1), dtype="float64", seed=4),
            nn.Dense(3, dtype="float64", seed=5),
            nn.Activation("softmax"),
        ]
    )
    x = rng.normal(size=(4, 2, 3))
    assert nn.gradient_check(model, x, rng.normal(size=(4, 3)), loss=nn.MeanSquaredError()) < 1e-7


def test_gradient_check_of_plain_functions():
    def f(x):
        return np.sum(np.sin(x) * x), np.cos(x) * x + np.sin(x)

    def wrong(x):
        return np.sum(np.sin(x) * x), np.cos(x) * x

    x = np.linspace(-1, 2, 7)
    assert nn.gradient_check(f, x) < 1e-8
    assert nn.gradient_check(wrong, x) > 0.1


def test_softmax_cross_entropy_fused_gradient():
    logits = np.random.default_rng(4).normal(size=(6, 5))
    labels = np.array([0, 1, 2, 3, 4, 0])
    loss = nn.SoftmaxCrossEntropy()
    assert nn.gradient_check(lambda z: loss(labels, z), logits) < 1e-8


# --------------------------------------------------------------------------------------------
# Losses and layers against hand values and Keras
# --------------------------------------------------------------------------------------------


def test_losses_hand_values():
    value, grad = nn.SoftmaxCrossEntropy()(np.array([2, 0]), np.zeros((2, 4)))
    assert value == pytest.approx(np.log(4))
    np.testing.assert_allclose(grad, [[0.125, 0.125, -0.375, 0.125], [-0.375, 0.125, 0.125, 0.125]])
    # huge logits: no overflow, the loss of a confident right answer is ~0
    value, grad = nn.SoftmaxCrossEntropy()(np.array([1]), np.array([[0.0, 1000.0]]))
    assert value == pytest.approx(0.0, abs=1e-12) and np.isfinite(grad).all()
    value, grad = nn.MeanSquaredError()(np.array([1.0, 2.0]), np.array([[2.0], [0.0]]))
    assert value == pytest.approx((1 + 4) / 2)
    np.testing.assert_allclose(grad, [[1.0], [-2.0]])


def test_losses_equal_keras():
    import keras

    rng = np.random.default_rng(5)
    logits = rng.normal(size=(16, 10)).astype(np.float32)
    labels = rng.integers(0, 10, size=16)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert nn.SoftmaxCrossEntropy()(labels, logits)[0] == pytest.approx(float(expected), rel=1e-6)
    pred, target = rng.normal(size=(16, 3)), rng.normal(size=(16, 3))
    expected = keras.losses.MeanSquaredError()(target, pred)
    assert nn.MeanSquaredError()(target, pred)[0] == pytest.approx(float(expected), rel=1e-6)


def test_dense_forward_equals_keras_dense_with_the_same_weights():
    import keras

    x = np.random.default_rng(6).normal(size=(5, 4)).astype(np.float32)
    layer = nn.Dense(3, activation="relu", kernel_initializer="he_normal", seed=7)
    out = layer.forward(x)
    twin = keras.layers.Dense(3, activation="relu")
    twin.build((None, 4))
    twin.set_weights([layer.params["kernel"], layer.params["bias"]])
    np.testing.assert_allclose(out, np.asarray(twin(x)), rtol=1e-6)
    assert out.dtype == np.float32


def test_dense_initialization_is_seeded_and_follows_the_initializer():
    a = nn.Dense(200, seed=3)
    b = nn.Dense(200, seed=3)
    a.build((None, 300))
    b.build((None, 300))
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    limit = np.sqrt(6 / (300 + 200))  # Glorot uniform
    kernel = a.params["kernel"]
    assert kernel.max() <= limit and kernel.min() >= -limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(a.params["bias"], 0.0)
    no_bias = nn.Dense(2, use_bias=False)
    no_bias.build((None, 3))
    assert list(no_bias.params) == ["kernel"]


def test_sequential_params_are_the_layer_arrays_and_backward_fills_grads():
    model = nn.Sequential([nn.Dense(3, activation="relu", seed=0), nn.Dense(2, seed=1)])
    model.build((None, 4))
    assert [p.shape for p in model.params] == [(4, 3), (3,), (3, 2), (2,)]
    assert model.params[0] is model.layers[0].params["kernel"]
    assert model.count_params() == 12 + 3 + 6 + 2
    x = np.ones((2, 4), np.float32)
    model.backward(nn.MeanSquaredError()(np.zeros((2, 2)), model.forward(x, training=True))[1])
    assert all(g.shape == p.shape for g, p in zip(model.grads, model.params, strict=True))


def test_weights_follow_keras_order_with_batch_normalization():
    """get_weights/set_weights use Keras' order (kernel, bias, gamma, beta, moving_mean,
    moving_variance): weights copied from Keras give Keras' outputs in both modes."""
    import keras

    twin = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(3),
        ]
    )
    rng = np.random.default_rng(8)
    twin.set_weights(
        [rng.normal(size=w.shape).astype(np.float32) ** 2 + 0.1 for w in twin.get_weights()]
    )
    model = nn.Sequential([nn.Dense(5), BatchNormalization(), nn.Activation("relu"), nn.Dense(3)])
    model.build((None, 6))
    model.set_weights(twin.get_weights())
    x = rng.normal(size=(16, 6)).astype(np.float32)
    for training in (False, True):
        np.testing.assert_allclose(
            model.forward(x, training=training),
            np.asarray(twin(x, training=training)),
            rtol=1e-4,
            atol=1e-5,
        )
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)  # moving statistics updated alike


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def mlp(seed=0, **dense_kwargs):
    return nn.Sequential(
        [
            nn.Dense(32, activation="relu", seed=seed, **dense_kwargs),
            nn.Dense(16, activation="relu", seed=seed + 1),
            nn.Dense(3, seed=seed + 2),
        ]
    )


def test_fit_learns_a_synthetic_problem_with_validation_and_history():
    x, y = blobs(900, seed=1, spread=2.0)
    model = mlp()
    history = nn.fit(
        model,
        x[:600],
        y[:600],
        Adam(learning_rate=1e-2),
        "sparse_categorical_crossentropy",
        epochs=8,
        batch_size=32,
        validation_data=(x[600:], y[600:]),
        seed=0,
    )
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert all(len(v) == 8 for v in history.values())
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history["val_accuracy"][-1] > 0.9
    assert history["lr"] == [0.01] * 8
    assert all(t > 0 for t in history["time"])
    result = nn.evaluate(model, x[600:], y[600:], nn.SoftmaxCrossEntropy())
    assert result["accuracy"] == history["val_accuracy"][-1]
    predicted = nn.predict(model, x[600:], batch_size=64).argmax(axis=1)
    assert np.mean(predicted == y[600:]) == result["accuracy"]


def test_fit_is_reproducible_with_a_seed():
    x, y = blobs(200)
    runs = []
    for _ in range(2):
        model = mlp()
        nn.fit(model, x, y, SGD(0.05), "sparse_categorical_crossentropy", epochs=2, seed=4)
        runs.append(model.get_weights())
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_first_epoch_loss_curve_equals_keras_fit_with_copied_weights():
    """Same weights, same SGD, same minibatches in the same order (no shuffle), L2 penalty on
    the first kernel: Keras' running-mean loss after each batch equals ours, float32-close."""
    import keras

    x, y = blobs(640, features=8, seed=2, spread=2.0)
    model = mlp(seed=10, kernel_regularizer=L2(1e-3))
    model.build((None, 8))
    twin = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(
                32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3)
            ),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    twin.set_weights(model.get_weights())
    twin.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    keras_curve = []
    twin.fit(
        x,
        y,
        batch_size=32,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[
            keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs: keras_curve.append(logs["loss"])
            )
        ],
    )
    ours = []
    nn.fit(
        model,
        x,
        y,
        SGD(learning_rate=0.05, momentum=0.9),
        nn.SoftmaxCrossEntropy(),
        epochs=1,
        batch_size=32,
        shuffle=False,
        callbacks=[nn.LambdaCallback(on_train_batch_end=lambda b, logs: ours.append(logs["loss"]))],
    )
    assert len(ours) == len(keras_curve) == 20
    np.testing.assert_allclose(ours, keras_curve, rtol=2e-5)
    assert keras_curve[-1] < keras_curve[0]  # it did learn something during the epoch
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_records_the_scheduled_learning_rate():
    x, y = blobs(100)
    schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    history = nn.fit(
        mlp(), x, y, SGD(schedule), "sparse_categorical_crossentropy", epochs=3, batch_size=25
    )
    # 4 steps per epoch; the recorded rate is the one of the next step
    np.testing.assert_allclose(history["lr"], [0.1 * 0.5 ** (4 * e / 10) for e in (1, 2, 3)])


def test_fit_applies_constraints_after_each_step():
    x, y = blobs(200)
    model = mlp(kernel_constraint=MaxNorm(0.5))
    steps = []
    nn.fit(
        model,
        x,
        y,
        SGD(0.5),
        "sparse_categorical_crossentropy",
        epochs=1,
        callbacks=[
            nn.LambdaCallback(
                on_train_batch_end=lambda b, logs: steps.append(
                    np.linalg.norm(model.params[0], axis=0).max()
                )
            )
        ],
    )
    assert max(steps) <= 0.5 + 1e-6
    assert max(steps) > 0.49  # the constraint was binding


def test_early_stopping_stops_and_restores_the_best_weights():
    # linear regression with a learning rate above 2 / lambda_max: the loss blows up
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, size=(64, 2)).astype(np.float32)
    y = x @ np.array([1.0, -1.0], np.float32)
    model = nn.Sequential([nn.Dense(1, seed=0)])
    weights_per_epoch = []
    record = nn.LambdaCallback(
        on_epoch_end=lambda e, logs: weights_per_epoch.append(model.get_weights())
    )
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = nn.fit(
        model,
        x,
        y,
        SGD(0.3),
        "mse",
        epochs=50,
        batch_size=64,
        validation_data=(x, y),
        callbacks=[record, stopper],
    )
    epochs_run = len(history["loss"])
    assert epochs_run < 50
    best = int(np.argmin(history["val_loss"]))
    assert epochs_run == best + 2 + 1
    for a, b in zip(model.get_weights(), weights_per_epoch[best], strict=True):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_on_plateau_follows_the_numpy_scheduler():
    from optreg.schedules import ReduceLROnPlateau as Plateau

    # the diverging regression: the validation loss keeps getting worse
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, size=(64, 2)).astype(np.float32)
    y = x @ np.array([1.0, -1.0], np.float32)
    callback = nn.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)
    history = nn.fit(
        nn.Sequential([nn.Dense(1, seed=0)]),
        x,
        y,
        SGD(0.3),
        "mse",
        epochs=8,
        batch_size=16,
        validation_data=(x, y),
        callbacks=[callback],
    )
    # replay: the rate of epoch e + 1 is the scheduler's answer to epoch e's val_loss
    replay = Plateau(0.3, factor=0.5, patience=1, min_delta=0.0)
    expected = [0.3] + [replay.update(v) for v in history["val_loss"][:-1]]
    np.testing.assert_allclose(history["lr"], expected)
    assert min(history["lr"]) < 0.3  # it did reduce


def test_one_cycle_scheduler_sets_rate_and_momentum_before_each_batch():
    from optreg.schedules import OneCycle

    x, y = blobs(96)
    optimizer = SGD(0.01, momentum=0.9)
    seen = []
    record = nn.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(
            (optimizer.learning_rate, optimizer.momentum)
        )
    )
    scheduler = nn.OneCycleScheduler(total_steps=12, max_learning_rate=0.1)
    nn.fit(
        mlp(),
        x,
        y,
        optimizer,
        "sparse_categorical_crossentropy",
        epochs=4,
        batch_size=32,
        callbacks=[scheduler, record],
    )
    schedule = OneCycle(12, 0.1)
    expected = [(schedule(t), schedule.momentum(t)) for t in range(12)]
    np.testing.assert_allclose(seen, expected)
    assert len({lr for lr, _ in seen}) > 5  # the rate really moved
    with pytest.raises(ValueError, match="schedule"):
        nn.fit(
            mlp(),
            x,
            y,
            SGD(ExponentialDecay(0.1, 10, 0.5)),
            "mse",
            callbacks=[nn.OneCycleScheduler(12, 0.1)],
        )


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_bad_input():
    x, y = blobs(10)
    with pytest.raises(ValueError, match="units"):
        nn.Dense(0)
    with pytest.raises(ValueError, match="name"):
        nn.Dense(3, activation="nope")
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(mlp(), x, y, SGD(0.1), "mse", epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        nn.fit(mlp(), x, y, SGD(0.1), "mse", batch_size=0)
    with pytest.raises(ValueError, match="same length"):
        nn.fit(mlp(), x, y[:5], SGD(0.1), "mse")
    with pytest.raises(ValueError, match="loss"):
        nn.fit(mlp(), x, y, SGD(0.1), "hinge")
    with pytest.raises(ValueError, match="float64"):
        nn.gradient_check(mlp(), x, y, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="callbacks"):
        nn.fit(mlp(), x, y, SGD(0.1), "mse", callbacks=[object()])
    model = mlp()
    model.build((None, 8))
    before = model.get_weights()
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([w.T for w in before])
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
