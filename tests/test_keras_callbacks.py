"""Training callbacks: the learning rate (and momentum) they set, batch by batch, against the NumPy
schedules; the updates those values produce, against a NumPy re-run of SGD/Adam; the plateau
callback against Keras' own; the range test's restoration and suggestion; the logger's files."""

from __future__ import annotations

import csv
import json

import keras
import matplotlib
import numpy as np
import pytest
from keras import ops

from optreg import schedules as np_schedules
from optreg.keras import callbacks as C

matplotlib.use("Agg")

BATCH = 32


def _regression(n=256, seed=0, scales=(1.0, 1.0, 1.0, 1.0)):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, len(scales))) * np.array(scales)).astype("float32")
    y = (x @ rng.normal(size=(len(scales), 1)) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _linear_model(optimizer, n_features=4, seed=1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(1)])
    model.compile(optimizer, "mse")
    return model


class _Probe(keras.callbacks.Callback):
    """Records, before each batch (after the scheduler has run), the optimizer's hyperparameters."""

    def __init__(self, momentum_name=None):
        super().__init__()
        self.momentum_name = momentum_name
        self.lrs, self.momenta = [], []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.lrs.append(float(ops.convert_to_numpy(optimizer.learning_rate)))
        if self.momentum_name:
            value = getattr(optimizer, self.momentum_name)
            self.momenta.append(float(ops.convert_to_numpy(value)))


def _mse_grads(w, b, xb, yb):
    r = xb @ w + b - yb
    return 2 * xb.T @ r / len(xb), 2 * r.sum(0) / len(xb)


# --------------------------------------------------------------------------- 1cycle


def test_one_cycle_sets_lr_and_momentum_per_batch_and_sgd_uses_them():
    x, y = _regression()
    model = _linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    w, b = (ops.convert_to_numpy(v).astype("float64") for v in model.weights)
    scheduler = C.OneCycleScheduler(total_steps=20, max_learning_rate=0.1)
    probe = _Probe("momentum")
    # two calls to fit: the cycle carries on (8 batches per epoch, 24 batches > total_steps)
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
              callbacks=[scheduler, probe])  # fmt: skip
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
              callbacks=[scheduler, probe])  # fmt: skip
    one_cycle = np_schedules.OneCycle(total_steps=20, max_learning_rate=0.1)
    np.testing.assert_allclose(probe.lrs, [one_cycle(t) for t in range(24)], rtol=1e-6)
    np.testing.assert_allclose(probe.momenta, [one_cycle.momentum(t) for t in range(24)], rtol=1e-6)

    # Re-run the same 24 SGD-momentum steps in NumPy: v = mu v - lr g; w += v.
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for t in range(24):
        start = (t % 8) * BATCH
        gw, gb = _mse_grads(w, b, x[start : start + BATCH], y[start : start + BATCH])
        lr, mu = np.float32(probe.lrs[t]), np.float32(probe.momenta[t])
        vw, vb = mu * vw - lr * gw, mu * vb - lr * gb
        w, b = w + vw, b + vb
    np.testing.assert_allclose(ops.convert_to_numpy(model.weights[0]), w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.weights[1]), b, rtol=1e-4, atol=1e-5)
    # the optimizer is left with a plain float again, so it still serializes
    assert isinstance(model.optimizer.momentum, float)
    assert model.optimizer.get_config()["momentum"] == pytest.approx(0.95)


def test_one_cycle_cycles_adam_beta_1_and_adam_uses_it():
    x, y = _regression(n=160)
    model = _linear_model(keras.optimizers.Adam(0.01))
    w, b = (ops.convert_to_numpy(v).astype("float64") for v in model.weights)
    scheduler = C.OneCycleScheduler(total_steps=15, max_learning_rate=0.05, max_momentum=0.9,
                                    min_momentum=0.8)  # fmt: skip
    probe = _Probe("beta_1")
    model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
              callbacks=[scheduler, probe])  # fmt: skip
    one_cycle = np_schedules.OneCycle(15, 0.05, max_momentum=0.9, min_momentum=0.8)
    np.testing.assert_allclose(probe.lrs, [one_cycle(t) for t in range(15)], rtol=1e-6)
    np.testing.assert_allclose(probe.momenta, [one_cycle.momentum(t) for t in range(15)], rtol=1e-6)

    # Keras' Adam with the beta_1 of each step (its bias correction uses beta_1 ** t).
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    params = [w, b]
    for t in range(15):
        start = (t % 5) * BATCH
        grads = _mse_grads(params[0], params[1], x[start : start + BATCH], y[start : start + BATCH])
        lr, beta_1, beta_2 = probe.lrs[t], probe.momenta[t], 0.999
        alpha = lr * np.sqrt(1 - beta_2 ** (t + 1)) / (1 - beta_1 ** (t + 1))
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * (1 - beta_1)
            v[i] = v[i] + (g**2 - v[i]) * (1 - beta_2)
            params[i] = params[i] - alpha * m[i] / (np.sqrt(v[i]) + 1e-7)
    np.testing.assert_allclose(ops.convert_to_numpy(model.weights[0]), params[0], rtol=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(model.weights[1]), params[1], rtol=1e-4)
    assert isinstance(model.optimizer.beta_1, float)


def test_one_cycle_without_momentum_cycling_and_bad_optimizers():
    x, y = _regression(n=64)
    model = _linear_model(keras.optimizers.SGD(0.01))  # momentum=0: no momentum buffer
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0,
                  callbacks=[C.OneCycleScheduler(10, 0.1)])  # fmt: skip
    probe = _Probe()
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
              callbacks=[C.OneCycleScheduler(10, 0.1, cycle_momentum=False), probe])  # fmt: skip
    np.testing.assert_allclose(probe.lrs, [np_schedules.OneCycle(10, 0.1)(t) for t in range(4)],
                               rtol=1e-6)  # fmt: skip
    scheduled = _linear_model(
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    )
    with pytest.raises(ValueError, match="constant learning_rate"):
        scheduled.fit(x, y, epochs=1, verbose=0, callbacks=[C.OneCycleScheduler(10, 0.1)])


# --------------------------------------------------------------------------- performance scheduling


def _drive(callback, metrics, monitor="val_loss"):
    """Feed a metric sequence to a plateau callback, epoch by epoch; return the rate after each."""
    model = _linear_model(keras.optimizers.SGD(1.0))
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(metrics):
        callback.on_epoch_end(epoch, {monitor: value})
        rates.append(float(ops.convert_to_numpy(model.optimizer.learning_rate)))
    return rates


def _noisy_plateaus(seed, n=120):
    rng = np.random.default_rng(seed)
    trend = np.repeat(rng.uniform(0.5, 1.0, size=n // 10).cumsum()[::-1], 10)
    return list(trend + rng.normal(scale=0.05, size=n))


@pytest.mark.parametrize(
    "kwargs, monitor, metrics",
    [
        (dict(factor=0.5, patience=2), "val_loss", _noisy_plateaus(0)),
        (dict(factor=0.5, patience=3, cooldown=2, min_lr=0.05), "val_loss", _noisy_plateaus(1)),
        (dict(factor=0.2, patience=0, cooldown=1, min_delta=0.05), "loss", _noisy_plateaus(2)),
        (dict(factor=0.7, patience=4, mode="max", min_delta=0.01, min_lr=0.1), "val_accuracy",
         list(1 - np.array(_noisy_plateaus(3)) / 20)),
        (dict(patience=1), "val_loss", [1.0, 1.0, 0.5, 0.5, 0.5, np.nan, 0.4, 0.4, 0.4] * 3),
    ],
)  # fmt: skip
def test_plateau_callback_matches_keras_builtin(kwargs, monitor, metrics):
    ours = _drive(C.ReduceLROnPlateau(monitor=monitor, **kwargs), metrics, monitor)
    theirs = _drive(keras.callbacks.ReduceLROnPlateau(monitor=monitor, **kwargs), metrics, monitor)
    assert ours == theirs
    assert len(set(theirs)) >= 3  # the sequence does trigger several reductions


def test_plateau_callback_in_fit_gives_the_same_history_as_keras():
    x, y = _regression(n=128)
    histories = []
    for callback in (C.PerformanceScheduler, keras.callbacks.ReduceLROnPlateau):
        model = _linear_model(keras.optimizers.SGD(0.05))
        cb = callback(monitor="loss", factor=0.5, patience=1, min_delta=0.5)
        h = model.fit(x, y, batch_size=BATCH, epochs=6, shuffle=False, verbose=0, callbacks=[cb])
        histories.append(h.history)
    assert histories[0]["learning_rate"] == histories[1]["learning_rate"]
    assert len(set(histories[0]["learning_rate"])) > 1
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-6)


# --------------------------------------------------------------------------- range test


def test_finder_suggestion_below_divergence_and_restores_state_exactly():
    x, y = _regression(n=8192, scales=(1.0, 2.0, 4.0, 0.5))  # 32 batches per epoch
    design = np.hstack([x, np.ones((len(x), 1), "float32")]).astype("float64")
    curvature = np.linalg.eigvalsh(2 * design.T @ design / len(x)).max()  # Hessian of the MSE
    model = _linear_model(keras.optimizers.SGD(0.003, momentum=0.5))
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)  # non-trivial optimizer state
    weights = [ops.convert_to_numpy(w).copy() for w in model.weights]
    state = [ops.convert_to_numpy(v).copy() for v in model.optimizer.variables]

    finder = C.LearningRateFinder(min_lr=1e-5, max_lr=10.0, num_steps=300)
    lrs, losses, suggestion = finder.find(model, x, y, batch_size=256)

    for before, after in zip(weights, model.weights, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(after), before)
    for before, after in zip(state, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(after), before)
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == np.float32(0.003)

    assert 10 < len(lrs) < 300  # stopped when the loss blew up
    np.testing.assert_allclose(lrs, np.geomspace(1e-5, 10.0, 300)[: len(lrs)], rtol=1e-12)
    assert suggestion == np_schedules.suggest_learning_rate(lrs, losses, 0.98)
    # momentum 0.5 moves the stability edge of heavy-ball GD to 2 (1 + mu) / L = 3 / L
    assert 3 / curvature / 100 < suggestion < 2 / curvature


def test_finder_plot_returns_the_figure():
    x, y = _regression(n=512)
    finder = C.LearningRateFinder(min_lr=1e-4, max_lr=1.0, num_steps=40)
    finder.find(_linear_model(keras.optimizers.SGD(0.01)), x, y, batch_size=BATCH)
    fig = finder.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), finder.lrs)
    assert ax.lines[2].get_xdata()[0] == finder.suggestion
    matplotlib.pyplot.close(fig)


# --------------------------------------------------------------------------- history logger


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_history_logger_writes_every_epoch_with_wall_time(tmp_path, suffix):
    x, y = _regression(n=128)
    path = tmp_path / f"history.{suffix}"
    model = _linear_model(keras.optimizers.SGD(0.01))
    logger = C.HistoryLogger(path)
    history = model.fit(x, y, batch_size=BATCH, epochs=3, validation_data=(x[:32], y[:32]),
                        verbose=0, callbacks=[logger])  # fmt: skip
    if suffix == "json":
        rows = json.loads(path.read_text())
    else:
        with path.open(newline="") as f:
            rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [r["loss"] for r in rows] == pytest.approx(history.history["loss"], rel=1e-12)
    assert [r["val_loss"] for r in rows] == pytest.approx(history.history["val_loss"], rel=1e-12)
    assert all(r["learning_rate"] == pytest.approx(0.01) for r in rows)
    assert all(0 < r["wall_time"] < 60 for r in rows)

    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
              callbacks=[C.HistoryLogger(path, append=True)])  # fmt: skip
    assert len(C.HistoryLogger(path, append=True)._read_existing()) == 5


def test_early_stopping_is_keras_builtin_and_bad_arguments_are_rejected():
    assert C.EarlyStopping is keras.callbacks.EarlyStopping
    with pytest.raises(ValueError, match="file_format must be one of"):
        C.HistoryLogger("history.txt")
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        C.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="mode='auto' cannot tell"):
        C.ReduceLROnPlateau(monitor="val_something")
    with pytest.raises(ValueError, match="max_lr must be >"):
        C.LearningRateFinder(min_lr=1.0, max_lr=0.5)
    with pytest.raises(ValueError) as ours:
        C.OneCycleScheduler(total_steps=100, max_learning_rate=0.1, min_momentum=0.99)
    with pytest.raises(ValueError) as numpy_twin:
        np_schedules.OneCycle(total_steps=100, max_learning_rate=0.1, min_momentum=0.99)
    assert str(ours.value) == str(numpy_twin.value)
