"""Shared by the book tests: where the book is and how to (re)build it like `make book` does."""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BUILD_COMMAND = [str(Path(sys.executable).with_name("jupyter-book")), "build", ".", "--builder",
                 "html", "-W", "-n", "--keep-going"]


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


def is_stale() -> bool:
    index = HTML / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    return any(p.stat().st_mtime > built for p in book_inputs())


def build(timeout: int = 1500) -> subprocess.CompletedProcess:
    """Run `make book`'s build command; the execution cache makes an unchanged rebuild fast."""
    return subprocess.run(BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


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
            result = build()
            if result.returncode != 0:
                raise AssertionError("jupyter-book build failed:\n" + result.stdout[-6000:]
                                     + result.stderr[-3000:])
            (HTML / "index.html").touch()


def html_pages() -> list[Path]:
    """The built pages of the toc entries."""
    return [HTML / f"{name}.html" for name in toc_files()]
