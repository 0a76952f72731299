"""Inverted dropout and Monte Carlo dropout as Keras 3 layers (``keras.ops`` + ``keras.random``).

Twins of ``optreg.regularization.Dropout`` (its declaration: same arguments and checks).
``MCDropout`` keeps dropout on at inference, so that repeated predictions sample the model's
uncertainty (Gal and Ghahramani, 2016); see also ``optreg.regularization.mc_dropout_predict``.
"""

from __future__ import annotations

import keras
from keras import ops

from optreg import regularization
from optreg.keras.layers._declared import DeclaredLayer

__all__ = ["Dropout", "MCDropout"]


@keras.saving.register_keras_serializable(package="optreg")
class Dropout(DeclaredLayer):
    """Inverted dropout: at training ``y = x * m / keep_prob`` with ``m ~ Bernoulli(keep_prob)``.

    ``keep_prob = 1 - rate``; a fresh mask is drawn from the layer's ``SeedGenerator`` at each
    call. At inference ``y = x``. ``noise_shape`` shares one mask value along its axes of size 1
    (``None`` entries take the input's size). ``rate`` must lie in [0, 1).
    """

    hyperparameters = regularization.DROPOUT

    def __post_init__(self) -> None:
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True
        self._build_at_init()  # no weights: built from the start, as Keras' Dropout

    def _mask_shape(self, inputs):
        shape = ops.shape(inputs)
        if self.noise_shape is None:
            return shape
        return tuple(n if d is None else d for d, n in zip(self.noise_shape, shape, strict=True))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        keep_prob = 1.0 - self.rate
        u = keras.random.uniform(self._mask_shape(inputs), seed=self.seed_generator)
        keep = u >= self.rate  # P(keep) = 1 - rate
        return ops.where(keep, inputs / keep_prob, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="optreg")
class MCDropout(Dropout):
    """Dropout that stays active at inference (``model.predict`` too): Monte Carlo dropout.

    Average many ``model(x)`` calls to predict and use their spread as an uncertainty. Unlike
    calling the whole model with ``training=True``, only these layers become stochastic: batch
    normalization keeps using its moving statistics.
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
