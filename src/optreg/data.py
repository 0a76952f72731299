"""Fashion-MNIST: find, verify and load the four IDX files; the ``optreg data`` command.

The data are Zalando's 70,000 grey-scale 28x28 images of ten kinds of clothing, stored as four
gzip-compressed IDX files. We never train on a damaged copy: each file is checked for its IDX
header and shape and for the SHA-256 of its *decompressed* contents (gzip headers carry a name
and a time stamp, so the compressed bytes differ between otherwise identical copies).

Where the files are looked for, in order:

1. the ``path`` argument,
2. ``$FASHION_MNIST_DIR``,
3. ``~/.keras/datasets/fashion-mnist`` (where Keras' downloader puts them),
4. ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``),
5. Keras' downloader, when the network is reachable.

The first directory that holds all four files is used; if one of them is damaged it is refused
(we do not silently fall back to another copy). Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from optreg._validation import check_choice, check_int

__all__ = [
    "CLASS_NAMES",
    "FILES",
    "FashionMNIST",
    "DataNotFoundError",
    "DataVerificationError",
    "find_fashion_mnist",
    "search_paths",
    "verify_file",
    "verify_fashion_mnist",
    "load_fashion_mnist",
    "fetch_fashion_mnist",
    "register",
]

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class IdxFile:
    """One of the four files: its name, the SHA-256 of its decompressed bytes, its array shape."""

    name: str
    sha256: str
    shape: tuple[int, ...]

    @property
    def magic(self) -> int:
        # IDX magic: two zero bytes, type code 0x08 (unsigned byte), number of dimensions
        return 0x0800 + len(self.shape)


FILES: dict[str, IdxFile] = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        (60000, 28, 28),
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte.gz",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        (60000,),
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte.gz",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        (10000, 28, 28),
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        (10000,),
    ),
}

HOW_TO_GET = (
    "Ways to get it:\n"
    "  * optreg data fetch   (Debian package when apt is usable, else Keras' downloader)\n"
    f"  * apt-get install {DEBIAN_PACKAGE}   (as root; files land in {DEBIAN_DIR})\n"
    "  * download the four .gz files from https://github.com/zalandoresearch/fashion-mnist\n"
    "    into ~/.keras/datasets/fashion-mnist, or any directory named by $FASHION_MNIST_DIR"
)


class DataNotFoundError(FileNotFoundError):
    """No directory holding the four Fashion-MNIST files was found."""


class DataVerificationError(ValueError):
    """A Fashion-MNIST file is truncated, corrupt or not the expected file."""


class FashionMNIST(NamedTuple):
    """Train/validation/test splits: images ``(n, 28, 28)``, integer labels ``(n,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES


# --------------------------------------------------------------------------------------------
# Finding the files
# --------------------------------------------------------------------------------------------


def search_paths(path: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched, in order (the downloader's target is the third one)."""
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path).expanduser())
    env = os.environ.get("FASHION_MNIST_DIR")
    if env:
        candidates.append(Path(env).expanduser())
    candidates.append(_keras_dir())
    candidates.append(DEBIAN_DIR)
    return candidates


def _keras_dir() -> Path:
    keras_home = os.environ.get("KERAS_HOME", str(Path.home() / ".keras"))
    return Path(keras_home).expanduser() / "datasets" / "fashion-mnist"


def _file_in(directory: Path, spec: IdxFile) -> Path | None:
    """The file of ``spec`` in ``directory``: gzip-compressed, or already decompressed."""
    for candidate in (directory / spec.name, directory / spec.name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _holds_all(directory: Path) -> bool:
    return all(_file_in(directory, spec) is not None for spec in FILES.values())


def find_fashion_mnist(path: str | os.PathLike | None = None) -> Path | None:
    """The first directory of :func:`search_paths` that holds all four files, else ``None``.

    Only presence is checked here; :func:`verify_fashion_mnist` checks the contents.
    """
    for directory in search_paths(path):
        if _holds_all(directory):
            return directory
    return None


# --------------------------------------------------------------------------------------------
# Verifying the files
# --------------------------------------------------------------------------------------------


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "optreg" / "fashion-mnist-verified.json"


def _fingerprint(file: Path) -> str:
    stat = file.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _cached_ok(file: Path, spec: IdxFile) -> bool:
    """True when this exact file (path, size, mtime) was verified before against ``spec``."""
    try:
        cache = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return False
    entry = cache.get(str(file.resolve()))
    return entry == {"fingerprint": _fingerprint(file), "sha256": spec.sha256}


def _remember_ok(file: Path, spec: IdxFile) -> None:
    cache_file = _cache_file()
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    cache[str(file.resolve())] = {"fingerprint": _fingerprint(file), "sha256": spec.sha256}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(cache_file)  # atomic: parallel test workers never read half a file
    except OSError:
        pass  # a read-only home only costs speed, never correctness


def _refuse(file: Path, problem: str) -> DataVerificationError:
    return DataVerificationError(
        f"{file}: {problem}. This copy of Fashion-MNIST cannot be trusted. Fix: delete it and "
        f"run `optreg data fetch` (or `apt-get install --reinstall {DEBIAN_PACKAGE}`), or point "
        "$FASHION_MNIST_DIR / path= at a good copy; `optreg data check` verifies it."
    )


def _read_bytes(file: Path) -> bytes:
    raw = file.read_bytes()
    if file.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise _refuse(file, f"truncated gzip stream ({exc})") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise _refuse(file, f"corrupt gzip data ({exc})") from None


def _parse_idx(file: Path, data: bytes, spec: IdxFile) -> np.ndarray:
    """The array of an IDX file after checking its magic number, dimensions and length."""
    ndim = len(spec.shape)
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise _refuse(file, f"only {len(data)} bytes, shorter than an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic != spec.magic:
        raise _refuse(
            file,
            f"not an IDX file of {ndim}-D unsigned bytes (magic {magic:#010x}, "
            f"expected {spec.magic:#010x})",
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims != spec.shape:
        raise _refuse(file, f"IDX shape {dims}, expected {spec.shape}")
    expected = header_size + int(np.prod(spec.shape))
    if len(data) != expected:
        raise _refuse(file, f"{len(data)} bytes after decompression, expected {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(spec.shape)


# verified arrays of this process, by (file, size:mtime): sweeps load the data once per process
_ARRAYS: dict[tuple[str, str], np.ndarray] = {}


def _load_verified(file: Path, spec: IdxFile, use_cache: bool = True) -> np.ndarray:
    key = (str(file.resolve()), _fingerprint(file))
    if use_cache and key in _ARRAYS:
        return _ARRAYS[key]
    data = _read_bytes(file)
    array = _parse_idx(file, data, spec)
    if not (use_cache and _cached_ok(file, spec)):
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise _refuse(
                file,
                f"SHA-256 of the decompressed contents is {digest}, expected {spec.sha256} "
                "(a different or modified data set, e.g. the MNIST digits?)",
            )
        if use_cache:
            _remember_ok(file, spec)
    if use_cache:
        array.flags.writeable = False  # shared between calls: callers get copies or views
        _ARRAYS[key] = array
    return array


def verify_file(file: str | os.PathLike, key: str, use_cache: bool = True) -> None:
    """Raise :class:`DataVerificationError` unless ``file`` is the good ``FILES[key]``.

    A file verified before (same path, size and modification time) is accepted from the cache in
    ``$XDG_CACHE_HOME/optreg`` without being read again.
    """
    spec = FILES[check_choice("key", key, list(FILES))]
    file = Path(file)
    if use_cache and _cached_ok(file, spec):
        return
    _load_verified(file, spec, use_cache=use_cache)


def verify_fashion_mnist(path: str | os.PathLike | None = None, use_cache: bool = True) -> Path:
    """Find the data (see :func:`find_fashion_mnist`), verify all four files, return the folder."""
    directory = _require_directory(path)
    for key, spec in FILES.items():
        verify_file(_file_in(directory, spec), key, use_cache=use_cache)
    return directory


def _require_directory(path: str | os.PathLike | None) -> Path:
    if path is not None:
        directory = Path(path).expanduser()
        if not _holds_all(directory):  # an explicit path is never silently replaced
            missing = [s.name for s in FILES.values() if _file_in(directory, s) is None]
            raise DataNotFoundError(
                f"Fashion-MNIST not found in {directory} (missing: {', '.join(missing)}).\n"
                + HOW_TO_GET
            )
        return directory
    directory = find_fashion_mnist()
    if directory is None:
        searched = "\n".join(f"  - {p}" for p in search_paths())
        raise DataNotFoundError(
            "Fashion-MNIST not found. Searched, in order:\n"
            + searched
            + "\n  - Keras' downloader: network not reachable\n"
            + HOW_TO_GET
        )
    return directory


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    validation_size: int = 5000,
    seed: int | None = 0,
    dtype: str = "uint8",
    download: bool = True,
) -> FashionMNIST:
    """Load verified Fashion-MNIST, split off a validation set from the 60,000 training images.

    Args:
        path: a directory holding the four files; ``None`` searches (module docstring).
        validation_size: number of training images moved to the validation set (0 to 59,999).
        seed: the validation images are a random sample drawn with this seed; ``None`` takes the
            first ``validation_size`` images (Géron's split).
        dtype: ``"uint8"`` (pixels 0..255) or ``"float32"`` (pixels scaled to [0, 1]).
        download: when nothing is found locally, try Keras' downloader if the network is up.

    Returns:
        :class:`FashionMNIST` with ``x_*`` of shape ``(n, 28, 28)`` and ``y_*`` of dtype uint8.
    """
    validation_size = check_int("validation_size", validation_size, 0)
    if validation_size >= 60000:
        raise ValueError(f"validation_size must be in [0, 59999], got {validation_size}")
    check_choice("dtype", dtype, ["uint8", "float32"])
    if seed is not None:
        seed = check_int("seed", seed, 0)
    if path is None and find_fashion_mnist() is None and download and _network_reachable():
        _download_with_keras()
    directory = _require_directory(path)
    arrays = {key: _load_verified(_file_in(directory, spec), spec) for key, spec in FILES.items()}
    x_full, y_full = arrays["train_images"], arrays["train_labels"]
    if seed is None:
        order = np.arange(len(x_full))
    else:
        order = np.random.default_rng(seed).permutation(len(x_full))
    valid, train = order[:validation_size], order[validation_size:]
    x_train, x_valid, x_test = x_full[train], x_full[valid], arrays["test_images"]
    if dtype == "float32":
        x_train, x_valid, x_test = (_scaled(x) for x in (x_train, x_valid, x_test))
    else:
        x_test = x_test.copy()  # frombuffer arrays are read-only
    return FashionMNIST(
        x_train,
        y_full[train],
        x_valid,
        y_full[valid],
        x_test,
        arrays["test_labels"].copy(),
        CLASS_NAMES,
    )


def _scaled(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / np.float32(255.0)


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def _network_reachable(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _download_with_keras() -> Path:
    """Keras' downloader, which writes the four files into ``~/.keras/datasets/fashion-mnist``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    target = _keras_dir()
    target.mkdir(parents=True, exist_ok=True)
    for spec in FILES.values():
        keras.utils.get_file(
            fname=spec.name,
            origin=KERAS_ORIGIN + spec.name,
            cache_dir=str(target.parent.parent),
            cache_subdir=str(target.relative_to(target.parent.parent)),
        )
    return target


def _apt_command() -> list[str] | None:
    """``apt-get`` (as root) or ``sudo -n apt-get``, if either can install packages here."""
    if shutil.which("apt-get") is None:
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["apt-get"]
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    ):
        return ["sudo", "-n", "apt-get"]
    return None


def _install_debian_package(apt: list[str]) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [*apt, "install", "-y", "-q", "--no-install-recommends", DEBIAN_PACKAGE]
    if subprocess.run(install, env=env).returncode == 0:
        return True
    # the package lists may be stale or absent (fresh containers): update, then retry once
    subprocess.run([*apt, "update", "-q"], env=env)
    return subprocess.run(install, env=env).returncode == 0


def fetch_fashion_mnist(verbose: bool = True) -> Path:
    """Make a verified copy available; a no-op (fast, thanks to the cache) when there is one."""
    say = print if verbose else (lambda *a, **k: None)
    if find_fashion_mnist() is not None:
        try:
            directory = verify_fashion_mnist()
            say(f"Fashion-MNIST already present and verified in {directory}")
            return directory
        except DataVerificationError as exc:
            say(f"Existing copy is damaged: {exc}")
            raise
    apt = _apt_command()
    if apt is not None:
        say(f"Installing the Debian package {DEBIAN_PACKAGE} ...")
        if _install_debian_package(apt) and _holds_all(DEBIAN_DIR):
            return _verified_and_reported(DEBIAN_DIR, say)
        say("apt-get could not install it; trying Keras' downloader")
    if not _network_reachable():
        raise DataNotFoundError(
            "Cannot fetch Fashion-MNIST: apt-get is not usable and the network is not reachable."
            "\n" + HOW_TO_GET
        )
    say("Downloading with Keras' downloader ...")
    return _verified_and_reported(_download_with_keras(), say)


def _verified_and_reported(directory: Path, say) -> Path:
    verify_fashion_mnist(directory)
    say(f"Fashion-MNIST installed and verified in {directory}")
    return directory


# --------------------------------------------------------------------------------------------
# Command line: optreg data fetch | check
# --------------------------------------------------------------------------------------------


def _cmd_fetch(args: argparse.Namespace) -> int:
    try:
        fetch_fashion_mnist()
    except (DataNotFoundError, DataVerificationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        directory = _require_directory(args.path)
    except DataNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failures = 0
    for key, spec in FILES.items():
        file = _file_in(directory, spec)
        try:
            verify_file(file, key, use_cache=not args.no_cache)
            print(f"ok      {file}")
        except DataVerificationError as exc:
            failures += 1
            print(f"FAILED  {exc}", file=sys.stderr)
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``optreg data fetch`` and ``optreg data check`` to the ``optreg`` command."""
    p_data = subparsers.add_parser("data", help="get and verify the Fashion-MNIST data")
    actions = p_data.add_subparsers(dest="data_command", metavar="ACTION")
    p_fetch = actions.add_parser(
        "fetch", help="install the data (Debian package or Keras' downloader); no-op if present"
    )
    p_fetch.set_defaults(func=_cmd_fetch)
    p_check = actions.add_parser("check", help="verify the four files (exit status 1 if damaged)")
    p_check.add_argument("--path", default=None, help="directory to check instead of searching")
    p_check.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every SHA-256 even if the file was verified before",
    )
    p_check.set_defaults(func=_cmd_check)
    p_data.set_defaults(func=lambda args: (p_data.print_help(), 2)[1])
