"""Custom Keras layers of the course: normalization, dropout, maxout and image augmentation."""

from optreg.keras.layers.augmentation import *  # noqa: F401,F403
from optreg.keras.layers.dropout import *  # noqa: F401,F403
from optreg.keras.layers.maxout import *  # noqa: F401,F403
from optreg.keras.layers.normalization import *  # noqa: F401,F403
