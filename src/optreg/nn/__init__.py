r"""A small NumPy network toolkit: layers, ``Sequential``, losses, ``fit`` and a gradient check.

Everything follows one layer protocol, shared with ``optreg.normalization`` and
``optreg.regularization``:

* ``forward(x, training=False) -> y`` keeps what the backward pass needs;
* ``backward(dy) -> dx`` takes :math:`\partial L/\partial y` and returns
  :math:`\partial L/\partial x`, filling ``grads``;
* ``params`` and ``grads`` are dicts with the same keys (empty when there are no parameters).

A :class:`Sequential` chains layers; its ``params`` and ``grads`` lists feed any
``optreg.optimizers`` optimizer, ``optimizer.apply(model.grads, model.params)``, which updates
the parameter arrays in place. :func:`fit` runs the usual minibatch loop::

    for each epoch, for each minibatch (x_b, y_b):
        out = model.forward(x_b, training=True)
        loss, dout = loss_fn(y_b, out)            # + penalties of the kernel regularizers
        model.backward(dout)                       # fills model.grads (penalties' too)
        optimizer.apply(model.grads, model.params) # learning rate schedule: inside the optimizer
        model.apply_constraints()                  # e.g. max-norm, after the step as in Keras

Names, arguments and defaults are Keras' (``Dense(units, activation, kernel_initializer=
"glorot_uniform", ...)``, ``SoftmaxCrossEntropy`` = ``SparseCategoricalCrossentropy(
from_logits=True)``), so a model here and its Keras twin with copied weights compute the same
losses batch after batch. Computation is float32 by default; pass ``dtype="float64"`` to the
layers for gradient checks.
"""

from __future__ import annotations

from optreg.nn.callbacks import (
    Callback,
    History,
    LambdaCallback,
    OneCycleScheduler,
    ReduceLROnPlateau,
)
from optreg.nn.gradcheck import (
    gradient_check,
)
from optreg.nn.layers import (
    Activation,
    Dense,
    Flatten,
    Sequential,
)
from optreg.nn.losses import (
    MeanSquaredError,
    SoftmaxCrossEntropy,
    get_loss,
)
from optreg.nn.training import (
    evaluate,
    fit,
    predict,
)

__all__ = [
    "Dense",
    "Activation",
    "Flatten",
    "Sequential",
    "SoftmaxCrossEntropy",
    "MeanSquaredError",
    "get_loss",
    "Callback",
    "LambdaCallback",
    "OneCycleScheduler",
    "ReduceLROnPlateau",
    "History",
    "fit",
    "evaluate",
    "predict",
    "gradient_check",
]
