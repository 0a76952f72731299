"""The model of a run: network, optimizer and learning-rate schedule of a configuration, and the
learning-rate range test of ``find_lr``."""

from __future__ import annotations

from typing import Any

from optreg.lab.config import TrainConfig


def register_components() -> None:
    """Import every optreg Keras module, so that their ``@register_keras_serializable`` classes
    are known before ``keras.models.load_model`` reads a checkpoint."""
    import importlib

    for module in (
        "optimizers",
        "schedules",
        "layers",
        "regularizers",
        "constraints",
        "initializers",
        "callbacks",
        "models",
    ):
        importlib.import_module(f"optreg.keras.{module}")


def make_schedule(config: TrainConfig, steps_per_epoch: int):
    """The learning rate of ``config.schedule`` over ``epochs * steps_per_epoch`` steps.

    ``exponential`` divides the rate by 10 over the run, ``piecewise`` by 10 at 50% and again at
    75%, ``power`` decays as ``1/(1 + t/s)`` with ``s`` a tenth of the run, ``cosine`` anneals
    to 0, and ``onecycle`` (Smith's 1cycle) rises to ``learning_rate`` as its maximum, falls
    back, and anneals in the last steps.
    """
    from optreg.keras import schedules

    lr, total = config.learning_rate, config.epochs * steps_per_epoch
    if config.schedule == "constant":
        return lr
    if config.schedule == "exponential":
        return schedules.ExponentialDecay(lr, decay_steps=total, decay_rate=0.1)
    if config.schedule == "piecewise":
        return schedules.PiecewiseConstantDecay(
            boundaries=[total // 2, (3 * total) // 4], values=[lr, lr / 10, lr / 100]
        )
    if config.schedule == "power":
        return schedules.PowerDecay(lr, decay_steps=max(1, total // 10))
    if config.schedule == "cosine":
        return schedules.CosineDecay(lr, decay_steps=total)
    return schedules.OneCycle(total_steps=total, max_learning_rate=lr)


def find_learning_rate(model, config: TrainConfig, x, y, steps_per_epoch: int) -> dict:
    """The learning-rate range test (``optreg.keras.callbacks.LearningRateFinder``) on the
    compiled ``model``, which it leaves as it found it; returns the curve and the suggestion."""
    from optreg.keras.callbacks import LearningRateFinder

    finder = LearningRateFinder(min_lr=1e-5, max_lr=10.0, num_steps=min(200, 10 * steps_per_epoch))
    lrs, losses, suggestion = finder.find(
        model, x.astype("float32") / 255.0, y, batch_size=config.batch_size, shuffle=True
    )
    return {
        "lrs": [float(v) for v in lrs],
        "losses": [float(v) for v in losses],
        "suggestion": float(suggestion),
    }


def compiled_model(config: TrainConfig, steps_per_epoch: int, data) -> tuple[Any, dict | None]:
    """A new compiled model and, with ``find_lr``, the range test whose suggestion became its
    learning rate (else ``None``)."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_args = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    finder = None
    if config.find_lr:
        probe = config.replace(schedule="constant")
        model.compile(optimizer=make_optimizer_for(probe, steps_per_epoch), **compile_args)
        finder = find_learning_rate(model, config, data.x_train, data.y_train, steps_per_epoch)
        config = config.replace(learning_rate=finder["suggestion"])
    model.compile(optimizer=make_optimizer_for(config, steps_per_epoch), **compile_args)
    return model, finder


def make_optimizer_for(config: TrainConfig, steps_per_epoch: int):
    from optreg.keras.models import make_optimizer

    kwargs: dict[str, Any] = {}
    if config.momentum is not None:
        if config.optimizer not in ("sgd", "momentum", "nesterov", "rmsprop"):
            raise ValueError(
                f"momentum applies to sgd, momentum, nesterov and rmsprop, "
                f"not to optimizer={config.optimizer!r}"
            )
        kwargs["momentum"] = config.momentum
    if config.weight_decay is not None:
        kwargs["weight_decay"] = config.weight_decay
    optimizer = make_optimizer(
        config.optimizer,
        make_schedule(config, steps_per_epoch),
        implementation=config.implementation,
        **kwargs,
    )
    if config.mixed_precision:
        import keras

        # Wrap explicitly rather than let compile() do it: the checkpoint then records the
        # loss-scale wrapper, and a resumed run restores its variables (and the inner
        # optimizer's moments) instead of skipping them for a count mismatch.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_model(config: TrainConfig):
    """The model of ``config``, with random flips/shifts in front of it when ``augment``."""
    import keras

    from optreg.keras.models import build_cnn, build_mlp

    common = dict(
        normalization=config.norm,
        dropout=config.dropout,
        l1=config.l1,
        l2=config.l2,
        max_norm=config.max_norm,
        seed=config.seed,
    )
    if config.model == "mlp":
        model = build_mlp(hidden_units=config.hidden_units, **common)
    else:
        model = build_cnn(**common)
    if not config.augment:
        return model
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    x = keras.layers.RandomFlip("horizontal", seed=config.seed)(x)
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=config.seed)(x)
    x = keras.layers.Reshape((28, 28))(x)
    return keras.Model(inputs, model(x), name=f"augmented_{model.name}")
