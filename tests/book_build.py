"""Shared by the book tests: where the book is and how to (re)build it like `make book` does."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BUILD_COMMAND = [
    str(Path(sys.executable).with_name("jupyter-book")),
    "build",
    ".",
    "--builder",
    "html",
    "-W",
    "-n",
    "--keep-going",
]

# The tests build the book under settings that would spoil a build depending on its caller's
# environment (a test module's MPLBACKEND=Agg once removed every figure), from another working
# directory; `make book` builds under its own. book/_ext/hermetic.py makes both give the same
# book and share one execution cache: test_book checks every figure is there, and that the
# `make book` rebuild that follows executes nothing.
HOSTILE_ENVIRONMENT = {
    "MPLBACKEND": "Agg",
    "MATPLOTLIBRC": "/nonexistent/matplotlibrc",
    "OMP_NUM_THREADS": "3",
    "OPENBLAS_NUM_THREADS": "3",
    "TF_NUM_INTRAOP_THREADS": "3",
    "PYTHONHASHSEED": "random",
    "KERAS_BACKEND": "numpy",
}
# An IPython start-up script that every kernel of a non-hermetic build would run.
HOSTILE_STARTUP = "import matplotlib\nmatplotlib.use('Agg')\n"


def toc_files() -> list[str]:
    """Every page of _toc.yml (root first), as paths without suffix relative to the root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def page_source(name: str) -> Path:
    """The .ipynb or .md file of a toc entry."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{name}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no .ipynb or .md source for toc entry {name!r}")


def book_inputs() -> list[Path]:
    """The files whose change makes the built book stale."""
    inputs = [ROOT / "_config.yml", ROOT / "_toc.yml"]
    inputs += [p for p in (ROOT / "book").rglob("*") if p.is_file() and "results" not in p.parts]
    return inputs


def hermetic_module():
    """book/_ext/hermetic.py, the extension that fingerprints the build's settings."""
    spec = importlib.util.spec_from_file_location(
        "hermetic", ROOT / "book" / "_ext" / "hermetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def current_fingerprint() -> str:
    """The execution cache's key a build would use now (settings, packages, code, data)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    inputs = config["sphinx"]["config"].get("hermetic_inputs", [])
    return hermetic_module().fingerprint(ROOT, inputs)


def built_fingerprint() -> str | None:
    path = ROOT / "_build" / ".hermetic" / "fingerprint"
    return path.read_text().strip() if path.exists() else None


def is_stale() -> bool:
    """No book, sources newer than it, or built under other settings, code or data."""
    index = HTML / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    if any(p.stat().st_mtime > built for p in book_inputs()):
        return True
    return built_fingerprint() != current_fingerprint()


def build(timeout: int = 1500, hostile: bool = False) -> subprocess.CompletedProcess:
    """Run `make book`'s build command; the execution cache makes an unchanged rebuild fast.
    With ``hostile``, under :data:`HOSTILE_ENVIRONMENT` from another working directory."""
    if not hostile:
        return subprocess.run(
            BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    with tempfile.TemporaryDirectory(prefix="optreg-hostile-") as elsewhere:
        startup = Path(elsewhere, "ipython", "profile_default", "startup")
        startup.mkdir(parents=True)
        (startup / "00-hostile.py").write_text(HOSTILE_STARTUP)
        env = {**os.environ, **HOSTILE_ENVIRONMENT, "IPYTHONDIR": str(startup.parents[1])}
        command = [*BUILD_COMMAND[:2], str(ROOT), *BUILD_COMMAND[3:]]
        return subprocess.run(
            command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=timeout
        )


@contextlib.contextmanager
def book_lock(exclusive: bool) -> Iterator[None]:
    """Builds take the lock exclusively, readers of `_build/html` shared: test files running in
    parallel (pytest-xdist) never build twice at once nor read a half-written book."""
    path = ROOT / "_build" / ".book-tests.lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built() -> None:
    """Build the book when `_build/html` is missing or older than its sources; fail loudly."""
    with book_lock(exclusive=True):
        if is_stale():
            result = build(hostile=True)
            if result.returncode != 0:
                raise AssertionError(
                    "jupyter-book build failed:\n" + result.stdout[-6000:] + result.stderr[-3000:]
                )
            (HTML / "index.html").touch()


def html_pages() -> list[Path]:
    """The built pages of the toc entries."""
    return [HTML / f"{name}.html" for name in toc_files()]


# What a table looks like when a page shows it as text instead of rendering it.
MARKDOWN_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.M)
NUMBER = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?%?$", re.I)


def raw_markdown_tables(text: str) -> list[str]:
    """The separator rows (``|---|---|``) of Markdown tables left as text."""
    return [m.group(0).strip() for m in MARKDOWN_TABLE_RULE.finditer(text)]


def text_tables(text: str, min_rows: int = 3) -> list[str]:
    """Tables printed as aligned text: ``min_rows`` or more consecutive lines that split at runs
    of two or more spaces into the same number (three or more) of fields, below the first line
    (the header) with at least two numbers each. Returns each such table's first line."""
    found, run = [], []
    for line in [*text.splitlines(), ""]:
        fields = [f for f in re.split(r"\s{2,}", line.strip()) if f]
        if run and len(fields) == len(run[0]) and len(fields) >= 3:
            run.append(fields)
            continue
        if len(run) >= min_rows and all(
            sum(bool(NUMBER.match(f)) for f in row) >= 2 for row in run[1:]
        ):
            found.append("  ".join(run[0]))
        run = [fields] if len(fields) >= 3 else []
    return found
