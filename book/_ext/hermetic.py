"""Execute the book's notebooks under the book's own settings, never the caller's.

Kernels inherit the environment of the process that builds the book. A test module's
``MPLBACKEND=Agg`` once made every matplotlib cell run without output, and the execution cache
then served those empty outputs to ``make book``. This local Sphinx extension, when the
configuration is read:

- sets the kernels' environment (:data:`KERNEL_ENVIRONMENT`): matplotlib's inline backend, one
  thread per BLAS/OpenMP/TensorFlow pool, CPU only, a fixed hash seed; it removes the variables
  of :data:`REMOVED` and gives matplotlib, IPython and Jupyter empty configuration folders of
  the build's own, so no user profile, style or start-up script takes part;
- points MyST-NB's execution cache at ``_build/.jupyter_cache/<fingerprint>``. The fingerprint
  hashes those settings, the Python and package versions, the source of the ``optreg`` package
  and the data files the pages read (``hermetic_inputs``). jupyter-cache itself only compares
  the notebooks' code, so outputs produced under other settings, other code or other data live
  in another folder and are never served; folders of other fingerprints are removed.

Kernels run in their notebook's folder (``run_in_temp: false``), whatever the caller's folder.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

KERNEL_ENVIRONMENT = {
    # ipykernel's own default: figures are shown inline, as image outputs.
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    # One thread per pool: the figures use small matrices, the build runs next to other jobs,
    # and the numbers printed must not depend on the machine's core count.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "CUDA_VISIBLE_DEVICES": "",  # the book's numbers come from the CPU, on every machine
    "KERAS_BACKEND": "tensorflow",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONHASHSEED": "0",
    "PYTHONNOUSERSITE": "1",  # no packages from ~/.local
}
# Settings that would change what cells do or draw.
REMOVED = ("MATPLOTLIBRC", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONWARNINGS", "JUPYTER_PATH",
           "OPTREG_LAB_RESULTS")
# Configuration folders, replaced by empty ones under _build/.hermetic/.
PRIVATE_FOLDERS = ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")
CACHE = ".jupyter_cache"


def kernel_environment(base: Mapping[str, str], build_dir: Path) -> dict[str, str]:
    """``base`` (the caller's environment) with the book's settings in place."""
    env = {k: v for k, v in base.items() if k not in REMOVED}
    env.update(KERNEL_ENVIRONMENT)
    for name in PRIVATE_FOLDERS:
        env[name] = str(build_dir / ".hermetic" / name.lower())
    return env


def _hash_files(digest: hashlib._Hash, root: Path, folders: Iterable[Path]) -> None:
    for folder in folders:
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*")
                                                        if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())


def package_folder() -> Path:
    spec = importlib.util.find_spec("optreg")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the optreg package is not installed in the book's Python")
    return Path(next(iter(spec.submodule_search_locations)))


def fingerprint(root: Path, inputs: Iterable[str], package: Path | None = None) -> str:
    """A short hash of everything the executed outputs depend on besides the notebooks' code."""
    digest = hashlib.sha256()
    digest.update(repr(sorted(KERNEL_ENVIRONMENT.items())).encode())
    digest.update(repr((REMOVED, PRIVATE_FOLDERS)).encode())
    digest.update(sys.version.encode())
    versions = sorted(f"{d.metadata['Name']}=={d.version}"
                      for d in importlib.metadata.distributions())
    digest.update("\n".join(versions).encode())
    package = package or package_folder()
    _hash_files(digest, package.parent, [package])
    _hash_files(digest, root, [root / p for p in inputs if (root / p).exists()])
    return digest.hexdigest()[:16]


def cache_folder(build_dir: Path, key: str) -> Path:
    """The execution cache of fingerprint ``key``; removes those of other fingerprints."""
    caches = build_dir / CACHE
    current = caches / key
    if caches.is_dir():
        for entry in caches.iterdir():
            if entry != current:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    current.mkdir(parents=True, exist_ok=True)
    return current


def configure(app: Sphinx, config: Config) -> None:
    root = Path(app.confdir)
    build_dir = Path(app.outdir).parent
    env = kernel_environment(os.environ, build_dir)
    for name in PRIVATE_FOLDERS:
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    for name in REMOVED:
        os.environ.pop(name, None)
    os.environ.update(env)
    key = fingerprint(root, config.hermetic_inputs)
    config.nb_execution_cache_path = str(cache_folder(build_dir, key))
    (build_dir / ".hermetic" / "fingerprint").write_text(key + "\n")
    LOGGER.info(f"hermetic build: fingerprint {key}")


def setup(app: Sphinx) -> dict[str, object]:
    # Files and folders (relative to the book's root) whose content the executed pages read.
    app.add_config_value("hermetic_inputs", [], "env", list)
    app.connect("config-inited", configure, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
