"""Every optreg Keras component survives ``model.save(...keras)`` + ``keras.models.load_model``.

A model built from the course's layers, initializer, regularizer and constraint, compiled with
one of the course's optimizers whose learning rate is one of the course's schedules, is trained
briefly, saved and loaded in a clean Keras session: predictions, weights, optimizer variables
(step count, moments) and the schedule's value must be identical, the loaded objects must be the
optreg classes, and one more training step must move both models identically.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from optreg.keras import constraints, initializers, optimizers, regularizers, schedules
from optreg.keras import layers as optreg_layers
from optreg.keras.models import build_mlp

RNG = np.random.default_rng(0)
X = RNG.random((96, 28, 28), dtype=np.float32)
Y = RNG.integers(0, 10, 96)


def custom_model(seed: int = 0) -> keras.Model:
    """Both normalizations, dropout, L1L2, MaxNorm and a custom initializer in one network."""
    reg = regularizers.L1L2(l1=1e-5, l2=1e-4)
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(
                24,
                use_bias=False,
                kernel_regularizer=reg,
                kernel_constraint=constraints.MaxNorm(max_value=2.0),
                kernel_initializer=initializers.HeNormal(seed=seed),
            ),
            optreg_layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            optreg_layers.Dropout(0.2, seed=seed),
            keras.layers.Dense(16, use_bias=False, kernel_regularizer=regularizers.L2(1e-3)),
            optreg_layers.LayerNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=regularizers.L1(1e-5)),
        ]
    )


STEPS = 3 * 2  # three epochs of two batches

# Three optimizers with different slot variables, each with a different schedule; every
# optimizer's own save/load is tested with its parity tests (tests/test_keras_optimizers.py).
CASES = {
    "sgd-nesterov-exponential": lambda: optimizers.SGD(
        schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5),
        momentum=0.9,
        nesterov=True,
    ),
    "adam-amsgrad-onecycle": lambda: optimizers.Adam(
        schedules.OneCycle(total_steps=STEPS * 2, max_learning_rate=1e-2), amsgrad=True
    ),
    "adamw-cosine-clipped": lambda: optimizers.AdamW(
        schedules.CosineDecay(1e-3, decay_steps=20, warmup_target=2e-3, warmup_steps=2),
        weight_decay=0.01,
        clipnorm=1.0,
    ),
}


def numpy_of(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_and_load_keeps_predictions_and_optimizer_state(case, tmp_path):
    model = custom_model()
    optimizer = CASES[case]()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, batch_size=48, epochs=3, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    model.save(path)

    keras.backend.clear_session()  # nothing of the original survives in Keras' registries
    loaded = keras.models.load_model(path)

    np.testing.assert_array_equal(numpy_of([loaded(X)]), numpy_of([model(X)]))
    for a, b in zip(numpy_of(model.weights), numpy_of(loaded.weights), strict=True):
        np.testing.assert_array_equal(a, b)
    assert type(loaded.optimizer) is type(optimizer)
    assert int(loaded.optimizer.iterations) == STEPS
    assert len(loaded.optimizer.variables) == len(optimizer.variables)
    for a, b in zip(
        numpy_of(optimizer.variables), numpy_of(loaded.optimizer.variables), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    schedule = optimizer._learning_rate
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        assert type(loaded.optimizer._learning_rate) is type(schedule)
        assert loaded.optimizer._learning_rate.get_config() == schedule.get_config()
    np.testing.assert_allclose(
        float(loaded.optimizer.learning_rate), float(optimizer.learning_rate), rtol=1e-7
    )
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    dense = loaded.layers[1]
    assert isinstance(dense.kernel_regularizer, regularizers.L1L2)
    assert isinstance(dense.kernel_constraint, constraints.MaxNorm)

    # the state matters: one more step on the same batch moves both models to the same
    # weights. Keras does not save random-generator states (its own Dropout neither), so the
    # dropout generator of the loaded model is first set to the original's.
    for original, copy in zip(model.layers, loaded.layers, strict=True):
        if hasattr(original, "seed_generator"):
            copy.seed_generator.state.assign(original.seed_generator.state)
    for m in (model, loaded):
        m.train_on_batch(X[:48], Y[:48])
    for a, b in zip(
        numpy_of(model.trainable_weights), numpy_of(loaded.trainable_weights), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_reference_mlp_with_everything_round_trips(tmp_path):
    model = build_mlp(
        hidden_units=(32, 16),
        normalization="batch",
        dropout=0.1,
        l1=1e-6,
        l2=1e-5,
        max_norm=3.0,
        seed=0,
    )
    model.compile(
        optimizer=optimizers.Nadam(schedules.OneCycle(total_steps=10, max_learning_rate=5e-3)),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    model.save(tmp_path / "mlp.keras")
    loaded = keras.models.load_model(tmp_path / "mlp.keras")
    np.testing.assert_array_equal(numpy_of([loaded(X)]), numpy_of([model(X)]))
    for a, b in zip(
        numpy_of(model.optimizer.variables), numpy_of(loaded.optimizer.variables), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_a_fresh_process_loads_a_saved_model_after_import_optreg_keras(tmp_path):
    """A student's new session: ``import optreg.keras`` alone registers every component."""
    import subprocess
    import sys

    model = custom_model()
    model.compile(CASES["adam-amsgrad-onecycle"](), "sparse_categorical_crossentropy")
    model.fit(X, Y, batch_size=48, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "expected.npy", model.predict(X, verbose=0))
    code = (
        "import sys, numpy as np, keras, optreg.keras\n"
        f"m = keras.models.load_model({str(tmp_path / 'model.keras')!r})\n"
        f"x = np.random.default_rng(0).random((96, 28, 28), dtype=np.float32)\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "assert type(m.optimizer).__module__ == 'optreg.keras.optimizers', type(m.optimizer)\n"
        "np.testing.assert_array_equal(m.predict(x, verbose=0), expected)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
