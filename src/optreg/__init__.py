"""optreg: optimization and regularization for deep neural networks, in NumPy and Keras 3.

Every algorithm of the course has one NumPy implementation (``optreg.<chapter module>``) and one
Keras 3 twin (``optreg.keras.<module>``). Importing ``optreg`` does not import TensorFlow.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("optreg")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
