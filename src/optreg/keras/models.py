"""The course's reference Keras models and optimizers for Fashion-MNIST.

* :func:`build_mlp`: the lab's multilayer perceptron, ``Flatten -> [Dense -> norm -> activation
  -> dropout] x len(hidden_units) -> Dense(10) -> softmax``, with a choice of initializer,
  activation, normalization (none, batch, layer), dropout, L1/L2 penalties and max-norm.
  The default, 784-300-100-10 with ReLU and He initialization, is Géron's Fashion-MNIST MLP.
* :func:`build_cnn`: a small convolutional network (two convolution + pooling stages).
* :func:`make_optimizer`: an optimizer by name, either the course's twin
  (``optreg.keras.optimizers``, written from the equations) or Keras' built-in.

The models take images as float32 in [0, 1] of shape ``input_shape`` (see
``optreg.data.load_fashion_mnist(dtype="float32")``) and output class probabilities; compile them
with ``sparse_categorical_crossentropy``. The softmax runs in float32 so the models also work
under the ``mixed_float16`` policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from optreg._validation import (
    check_choice,
    check_int,
    check_non_negative,
    check_optional_positive,
    check_unit_interval_open_right,
)

__all__ = ["OPTIMIZERS", "NORMALIZATIONS", "build_mlp", "build_cnn", "make_optimizer"]

NORMALIZATIONS = (None, "none", "batch", "layer")

# name -> (class name, default keyword arguments). "momentum" and "nesterov" are SGD variants.
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
    "adamax": ("Adamax", {}),
    "nadam": ("Nadam", {}),
    "adamw": ("AdamW", {}),
    "lion": ("Lion", {}),
    "lamb": ("Lamb", {}),
    "adafactor": ("Adafactor", {}),
    "muon": ("Muon", {}),
    "schedulefree": ("ScheduleFreeAdamW", {}),
    "ftrl": ("Ftrl", {}),
}


def _seeded(initializer: Any, seed: int | None) -> Any:
    """A fresh initializer instance, seeded with ``seed`` when its class takes a seed."""
    instance = keras.initializers.get(initializer)
    if seed is None:
        return instance
    config = instance.get_config()
    if "seed" not in config:
        return instance
    config["seed"] = seed
    return type(instance).from_config(config)


def _normalization_layer(normalization: str | None, name: str) -> keras.layers.Layer | None:
    if normalization is None:
        return None
    from optreg.keras import layers as optreg_layers

    if normalization == "batch":
        return optreg_layers.BatchNormalization(name=name)
    if normalization == "layer":
        return optreg_layers.LayerNormalization(name=name)
    return None


def _penalty(l1: float, l2: float) -> Any:
    if l1 == 0.0 and l2 == 0.0:
        return None
    from optreg.keras import regularizers

    return regularizers.L1L2(l1=l1, l2=l2)


def _max_norm(max_norm: float | None) -> Any:
    if max_norm is None:
        return None
    from optreg.keras import constraints

    return constraints.MaxNorm(max_value=max_norm, axis=0)


def _dropout_layer(rate: float, seed: int | None, name: str) -> keras.layers.Layer:
    from optreg.keras import layers as optreg_layers

    return optreg_layers.Dropout(rate, seed=seed, name=name)


def _classifier_head(model: keras.Sequential, num_classes: int, init: Any, penalty: Any) -> None:
    model.add(
        keras.layers.Dense(
            num_classes, kernel_initializer=init, kernel_regularizer=penalty, name="logits"
        )
    )
    # float32 softmax: under mixed_float16 the probabilities and the loss stay accurate
    model.add(keras.layers.Activation("softmax", dtype="float32", name="softmax"))


def _check_common(
    normalization: str | None,
    dropout: float,
    l1: float,
    l2: float,
    max_norm: float | None,
    num_classes: int,
    seed: int | None,
) -> str | None:
    check_choice("normalization", normalization, NORMALIZATIONS)
    check_unit_interval_open_right("dropout", dropout)
    check_non_negative("l1", l1)
    check_non_negative("l2", l2)
    check_optional_positive("max_norm", max_norm)
    check_int("num_classes", num_classes, 2)
    if seed is not None:
        check_int("seed", seed, 0)
    return None if normalization == "none" else normalization


def build_mlp(
    hidden_units: Sequence[int] = (300, 100),
    activation: str = "relu",
    kernel_initializer: Any = "he_normal",
    normalization: str | None = None,
    dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
    max_norm: float | None = None,
    input_shape: Sequence[int] = (28, 28),
    num_classes: int = 10,
    seed: int | None = None,
    name: str = "mlp",
) -> keras.Sequential:
    """The lab's MLP: each hidden layer is ``Dense -> [normalization] -> activation -> [dropout]``.

    With normalization the Dense layer has no bias: the normalization's ``beta`` plays its role
    (Ioffe and Szegedy). ``l1``/``l2`` put an ``optreg.keras.regularizers.L1L2`` penalty on every
    kernel; ``max_norm`` constrains each hidden unit's incoming weight vector (``axis=0``) with
    ``optreg.keras.constraints.MaxNorm``. ``seed`` makes initialization and dropout
    reproducible (layer ``i`` uses ``seed + i``).
    """
    normalization = _check_common(normalization, dropout, l1, l2, max_norm, num_classes, seed)
    hidden_units = [check_int(f"hidden_units[{i}]", u, 1) for i, u in enumerate(hidden_units)]
    penalty, constraint = _penalty(l1, l2), _max_norm(max_norm)
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=tuple(input_shape)))
    model.add(keras.layers.Flatten(name="flatten"))
    for i, units in enumerate(hidden_units):
        layer_seed = None if seed is None else seed + i
        model.add(
            keras.layers.Dense(
                units,
                use_bias=normalization is None,
                kernel_initializer=_seeded(kernel_initializer, layer_seed),
                kernel_regularizer=penalty,
                kernel_constraint=constraint,
                name=f"dense_{i}",
            )
        )
        norm = _normalization_layer(normalization, f"{normalization}_norm_{i}")
        if norm is not None:
            model.add(norm)
        model.add(keras.layers.Activation(activation, name=f"{activation}_{i}"))
        if dropout > 0:
            model.add(_dropout_layer(dropout, layer_seed, f"dropout_{i}"))
    out_seed = None if seed is None else seed + len(hidden_units)
    _classifier_head(model, num_classes, _seeded("glorot_uniform", out_seed), penalty)
    return model


def build_cnn(
    filters: Sequence[int] = (32, 64),
    kernel_size: int = 3,
    dense_units: int = 128,
    activation: str = "relu",
    kernel_initializer: Any = "he_normal",
    normalization: str | None = None,
    dropout: float = 0.5,
    l1: float = 0.0,
    l2: float = 0.0,
    max_norm: float | None = None,
    input_shape: Sequence[int] = (28, 28),
    num_classes: int = 10,
    seed: int | None = None,
    name: str = "cnn",
) -> keras.Sequential:
    """A small CNN: ``[Conv -> [norm] -> activation -> MaxPool(2)] x len(filters) -> Dense ->
    [dropout] -> Dense(10) -> softmax``. Grey-scale ``(28, 28)`` inputs get a channel axis.

    ``dropout`` applies before the classifier (where most of the parameters are); penalties and
    ``max_norm`` apply to the dense kernels as in :func:`build_mlp`.
    """
    normalization = _check_common(normalization, dropout, l1, l2, max_norm, num_classes, seed)
    filters = [check_int(f"filters[{i}]", f, 1) for i, f in enumerate(filters)]
    kernel_size = check_int("kernel_size", kernel_size, 1)
    dense_units = check_int("dense_units", dense_units, 1)
    penalty, constraint = _penalty(l1, l2), _max_norm(max_norm)
    shape = tuple(input_shape)
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=shape))
    if len(shape) == 2:
        model.add(keras.layers.Reshape((*shape, 1), name="add_channel"))
    for i, n_filters in enumerate(filters):
        layer_seed = None if seed is None else seed + i
        model.add(
            keras.layers.Conv2D(
                n_filters,
                kernel_size,
                padding="same",
                use_bias=normalization is None,
                kernel_initializer=_seeded(kernel_initializer, layer_seed),
                name=f"conv_{i}",
            )
        )
        norm = _normalization_layer(normalization, f"{normalization}_norm_{i}")
        if norm is not None:
            model.add(norm)
        model.add(keras.layers.Activation(activation, name=f"{activation}_{i}"))
        model.add(keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
    dense_seed = None if seed is None else seed + len(filters)
    model.add(keras.layers.Flatten(name="flatten"))
    model.add(
        keras.layers.Dense(
            dense_units,
            activation=activation,
            kernel_initializer=_seeded(kernel_initializer, dense_seed),
            kernel_regularizer=penalty,
            kernel_constraint=constraint,
            name="dense",
        )
    )
    if dropout > 0:
        model.add(_dropout_layer(dropout, dense_seed, "dropout"))
    out_seed = None if seed is None else dense_seed + 1
    _classifier_head(model, num_classes, _seeded("glorot_uniform", out_seed), penalty)
    return model


def make_optimizer(
    name: str,
    learning_rate: Any = 1e-3,
    implementation: str = "optreg",
    **kwargs: Any,
) -> keras.optimizers.Optimizer:
    """An optimizer by name (keys of :data:`OPTIMIZERS`), from the course or from Keras.

    ``implementation="optreg"`` gives the twin from ``optreg.keras.optimizers``;
    ``"keras"`` gives ``keras.optimizers.<Name>``; both take the same arguments.
    ``learning_rate`` is a float or a ``LearningRateSchedule``; ``kwargs`` (``momentum``,
    ``weight_decay``, ``clipnorm``, ...) override the defaults of the name, so
    ``make_optimizer("momentum", 0.01, momentum=0.95)`` is SGD with momentum 0.95.
    """
    check_choice("name", name, list(OPTIMIZERS))
    check_choice("implementation", implementation, ["optreg", "keras"])
    class_name, defaults = OPTIMIZERS[name]
    if implementation == "optreg":
        from optreg.keras import optimizers as module
    else:
        module = keras.optimizers
    return getattr(module, class_name)(learning_rate=learning_rate, **{**defaults, **kwargs})
