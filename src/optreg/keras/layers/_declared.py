"""The base of the Keras layers that take a NumPy twin's declaration of their arguments."""

from __future__ import annotations

import inspect
from typing import Any

import keras

from optreg.hyperparameters import Declared


class DeclaredLayer(Declared, keras.layers.Layer):
    """A Keras layer whose ``hyperparameters`` (and Keras' ``**kwargs``) give the signature, the
    checks and ``get_config`` (Keras initializers serialized)."""

    @classmethod
    def extra_parameters(cls) -> list[inspect.Parameter]:
        return [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]

    def init_base(self, kwargs: dict[str, Any]) -> None:
        keras.layers.Layer.__init__(self, **kwargs)

    def get_config(self) -> dict:
        own = {
            name: keras.initializers.serialize(v) if name.endswith("_initializer") else v
            for name, v in Declared.get_config(self).items()
        }
        return {**keras.layers.Layer.get_config(self), **own}
