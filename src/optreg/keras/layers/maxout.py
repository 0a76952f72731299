"""Maxout as a Keras 3 layer, the twin of ``optreg.activations.Maxout`` (equations there)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg._validation import check_int

__all__ = ["Maxout"]


@keras.saving.register_keras_serializable(package="optreg")
class Maxout(keras.layers.Layer):
    """``y[b, u] = max_p (x[b] @ kernel[:, p, u] + bias[p, u])`` over ``pieces`` affine maps.

    The weights have the NumPy twin's shapes (``kernel``: features x pieces x units, ``bias``:
    pieces x units), so ``set_weights`` copies them across; Keras has no Maxout layer.
    """

    def __init__(
        self,
        units: int,
        pieces: int = 2,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=1)
        self.pieces = check_int("pieces", pieces, minimum=1)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        features, p, u = int(input_shape[-1]), self.pieces, self.units
        initializer = self.kernel_initializer

        def kernel_init(shape, dtype=None):  # as a Dense kernel of pieces * units units
            return ops.reshape(initializer((features, p * u), dtype=dtype), shape)

        self.kernel = self.add_weight(
            shape=(features, p, u), initializer=kernel_init, name="kernel"
        )
        self.bias = self.add_weight(shape=(p, u), initializer=self.bias_initializer, name="bias")

    def call(self, inputs: Any) -> Any:
        z = ops.einsum("bi,ipu->bpu", inputs, self.kernel) + self.bias
        return ops.max(z, axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "pieces": self.pieces,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
