"""The ``optreg`` command line: ``optreg --version``, ``optreg info`` and the subcommands that
the data, grading and lab modules register (``optreg data``, ``optreg grade``, ``optreg lab``).

Each subcommand lives beside the code it drives and exposes ``register(subparsers)``; importing
this module stays cheap (no TensorFlow) so ``optreg --help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Sequence

from optreg import __version__

# module -> it defines register(subparsers) adding its own subcommand(s)
SUBCOMMAND_MODULES = ("optreg.data", "optreg.grading.cli", "optreg.lab.cli")


def _installed_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def info(args: argparse.Namespace) -> int:
    """Print versions, where the Fashion-MNIST data is, and which GPUs TensorFlow sees."""
    print(f"optreg {__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    for dist in (
        "numpy",
        "tensorflow",
        "keras",
        "matplotlib",
        "ipywidgets",
        "jupyter-book",
        "nbgrader",
    ):
        print(f"{dist} {_installed_version(dist)}")
    try:
        from optreg.data import find_fashion_mnist

        where = find_fashion_mnist()
        print(f"fashion-mnist: {where if where else 'not found (run: optreg data fetch)'}")
    except ImportError:
        print("fashion-mnist: data module not available")
    if args.no_gpu:
        return 0
    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        print(f"gpus: {len(gpus)}" + "".join(f"\n  {g.name}" for g in gpus))
    except Exception as exc:  # a broken TF install must not hide the rest of the report
        print(f"gpus: unknown (tensorflow failed to load: {exc})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optreg", description="Optimization and regularization course toolkit."
    )
    parser.add_argument("--version", action="version", version=f"optreg {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_info = subparsers.add_parser("info", help="versions, data and GPUs found")
    p_info.add_argument("--no-gpu", action="store_true", help="skip the (slow) TensorFlow probe")
    p_info.set_defaults(func=info)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that part of the package is not installed in this checkout
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
