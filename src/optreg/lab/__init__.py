"""The GPU labs: train one configuration (``train``), expand and run sweeps (``sweep``), write
SLURM job arrays (``slurm``) and aggregate results into plots and tables (``report``).

``optreg.lab.cli`` adds ``optreg lab ...`` to the command line. Only ``train`` imports
TensorFlow, and only when a run starts.
"""

from optreg.lab.config import TrainConfig

__all__ = ["TrainConfig"]
