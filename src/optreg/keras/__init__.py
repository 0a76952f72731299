"""Keras 3 twins of every algorithm in ``optreg``, written from the equations with ``keras.ops``.

Importing this package imports Keras (and its backend); ``import optreg`` alone does not.
Submodules: ``activations``, ``optimizers``, ``schedules``, ``callbacks``, ``layers``,
``initializers``, ``regularizers``, ``constraints``, ``models``.
"""

# Importing the submodules registers every component with Keras' serialization, so that
# ``keras.models.load_model`` finds "optreg>Adam" etc. after a plain ``import optreg.keras``.
from optreg.keras import (  # noqa: E402
    activations,
    callbacks,
    constraints,
    initializers,
    layers,
    models,
    optimizers,
    regularizers,
    schedules,
)

__all__ = [
    "activations",
    "callbacks",
    "constraints",
    "initializers",
    "layers",
    "models",
    "optimizers",
    "regularizers",
    "schedules",
]
