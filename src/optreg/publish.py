"""Export the student edition of the course repository.

This repository is the *instructors'* one: ``solutions/`` holds the nbgrader source notebooks
(solutions and hidden tests) and ``autograder/`` the scripts that generate them, in plain text.
Students, the book's repository button and its Binder/Colab launch buttons use the *student*
repository (:data:`STUDENT_REPOSITORY`), which is generated from this one by::

    python -m optreg.publish OUTDIR

The export copies the files git would commit (tracked, plus untracked ones not ignored) except
:data:`EXCLUDED`, adds a note to the README, and then scans every exported file. It refuses
(exit status 1, naming the file, and leaving OUTDIR untouched) when a file still holds

* an nbgrader region marker (``### BEGIN SOLUTION``, ``### BEGIN HIDDEN TESTS``, ...), or
* a line of code from inside a solution region of ``solutions/**/*.ipynb``, or of a hidden test
  (``autograder/hidden/*.py``, which only the grader reads).

The secret lines are the stripped lines of those regions that are at least
:data:`MIN_SECRET_LENGTH` characters long (shorter ones such as ``return m, s`` occur everywhere)
and that the source notebooks do not also show outside a region (signatures, imports: what the
student notebooks legitimately contain). Notebooks and other JSON files are also scanned string by
string, since their raw text escapes the lines of a cell.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _configured_repository() -> str:
    """``repository.url`` of the book's ``_config.yml``: the one setting of the student
    edition's address, empty until it is published (the book then shows no link to it)."""
    import yaml

    config = Path(__file__).resolve().parents[2] / "_config.yml"
    if not config.is_file():
        return ""
    return (yaml.safe_load(config.read_text(encoding="utf-8")).get("repository") or {}).get(
        "url"
    ) or ""


STUDENT_REPOSITORY = _configured_repository()

# What never leaves the instructors' repository (patterns on POSIX paths; "dir/" = everything
# under dir). autograder/ holds the assignment sources (solutions and hidden tests), the hidden
# tests' prologue and the wrong implementations derived from the solutions; the tests and the
# benchmark listed read solutions/ or autograder/; this module and its test need solutions/.
EXCLUDED = (
    "solutions/",
    "autograder/",
    "tests/test_exercises.py",
    "tests/test_grading_*.py",
    "bench/bench_grading.py",
    "tests/test_publish.py",
    "src/optreg/publish.py",
)
# Exceptions to EXCLUDED: nbgrader's course configuration (folder names and stubs, no secrets).
KEPT = ("autograder/nbgrader_config.py",)

MIN_SECRET_LENGTH = 25

# Lines of a solution that are, by design, the package's own public code (the book shows it):
# they are no leak in that file, and nowhere else. Keyed by exported path.
SHARED_WITH_PACKAGE: dict[str, frozenset[str]] = {
    "src/optreg/augmentation/image.py": frozenset({"return images[:, :, ::-1].copy()"}),
    "src/optreg/augmentation/text.py": frozenset(
        {
            "words[i], words[j] = words[j], words[i]",
            "i, j = rng.choice(len(words), size=2, replace=False)",
            "words[i] = options[rng.integers(len(options))]",
            "return kept if kept else [words[rng.integers(len(words))]]",
        }
    ),
}

REGION = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN)")
MARKER = re.compile(r"^[ \t]*#+[ \t]*(BEGIN|END)[ \t]+(SOLUTION|HIDDEN)[^\n]*", re.MULTILINE)

_AT = f", <{STUDENT_REPOSITORY}>," if STUDENT_REPOSITORY else ","
STUDENT_NOTE = f"""\
## Student edition

This is the **student edition** of the course{_AT} exported from the
instructors' repository by `python -m optreg.publish`. It holds the book, the `optreg` package,
the labs and the exercise notebooks in `exercises/`. The nbgrader source notebooks
(`solutions/`), the autograder's sources with the hidden tests, and the tests that need them are
not part of it: where this README mentions them, it describes the instructors' copy. Check an
exercise before handing it in with `optreg grade --validate exercises/NN_name/NN_name.ipynb`.

"""


class ExportError(RuntimeError):
    """The export cannot be made (bad arguments) or would leak (see :class:`Leak`)."""


@dataclass(frozen=True)
class Leak:
    path: str  # relative to the export
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def _excluded(path: str) -> bool:
    if path in KEPT:
        return False
    return any(
        path.startswith(p) if p.endswith("/") else fnmatch.fnmatchcase(path, p) for p in EXCLUDED
    )


def repository_files(root: Path) -> list[str]:
    """What ``git add -A`` would commit: tracked files plus untracked ones not ignored."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = {f for f in listing.split("\0") if f}
    return sorted(f for f in files if (root / f).is_file())  # drops deleted-but-tracked files


def _git_ignored(root: Path, path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=root).returncode == 0


def student_files(root: Path) -> list[str]:
    return [f for f in repository_files(root) if not _excluded(f)]


def _cell_sources(notebook: Path) -> Iterator[tuple[dict, str]]:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        source = cell.get("source", "")
        yield cell, "".join(source) if isinstance(source, list) else source


def secret_lines(root: Path) -> dict[str, str]:
    """Secret line -> the source notebook it comes from (see the module docstring)."""
    secret: dict[str, str] = {}
    public: set[str] = set()
    notebooks = sorted((root / "solutions").rglob("*.ipynb"))
    if not notebooks:
        raise ExportError(
            f"no source notebooks under {root / 'solutions'}: run the export from "
            "the instructors' repository"
        )
    for notebook in notebooks:
        name = notebook.relative_to(root).as_posix()
        for cell, source in _cell_sources(notebook):
            is_answer = cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)
            # An answer cell without markers is replaced as a whole by nbgrader's stub.
            lines = source.splitlines()
            inside = bool(is_answer) and not any(REGION.match(line) for line in lines)
            for line in lines:
                region = REGION.match(line)
                if region:
                    inside = region.group(1) == "BEGIN"
                    continue
                text = line.strip()
                if inside:
                    if len(text) >= MIN_SECRET_LENGTH:
                        secret.setdefault(text, name)
                else:
                    public.add(text)
    # The hidden tests live in plain Python files read only by the grader. Their lines are
    # secret unless a committed (staged) public file already holds them: hidden tests share
    # idioms and package calls with the public code, and those are no secret.
    committed = _public_committed_lines(root)
    for hidden in sorted((root / "autograder" / "hidden").glob("*.py")):
        name = hidden.relative_to(root).as_posix()
        for line in hidden.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if len(text) >= MIN_SECRET_LENGTH and text not in committed:
                secret.setdefault(text, name)
    return {line: name for line, name in secret.items() if line not in public}


def _public_committed_lines(root: Path) -> set[str]:
    """Lines of the files git tracks (its index) that the student edition exports."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    lines: set[str] = set()
    for name in filter(None, listing.split("\0")):
        path = root / name
        if _excluded(name) or not path.is_file():
            continue
        try:
            lines.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        except UnicodeDecodeError:
            continue
    return lines


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _texts(path: Path) -> list[str]:
    """The file's text, and for JSON (notebooks) each of its strings, decoded."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    texts = [raw]
    if raw.lstrip()[:1] in ("{", "["):
        try:
            texts.extend(_strings(json.loads(raw)))
        except ValueError:
            pass
    return texts


def find_leaks(folder: Path, secret: dict[str, str]) -> list[Leak]:
    """Every file under ``folder`` holding a region marker or a secret line."""
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        allowed = SHARED_WITH_PACKAGE.get(name, frozenset())
        for text in _texts(path):
            marker = MARKER.search(text)
            if marker:
                leaks.append(Leak(name, f"nbgrader region marker {marker.group(0).strip()!r}"))
                break
            found = next(
                (
                    line.strip()
                    for line in text.splitlines()
                    if line.strip() in secret and line.strip() not in allowed
                ),
                None,
            )
            if found:
                leaks.append(
                    Leak(
                        name,
                        f"line from a solution or hidden test of {secret[found]}: {found[:80]!r}",
                    )
                )
                break
    return leaks


def _add_student_note(folder: Path) -> None:
    readme = folder / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True) if readme.exists() else []
    # Before the first section, so that the README still opens with its two commands.
    at = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    readme.write_text("".join(lines[:at]) + STUDENT_NOTE + "".join(lines[at:]), encoding="utf-8")


def export(root: Path, outdir: Path) -> list[str]:
    """Write the student edition of the repository at ``root`` into ``outdir`` (which must not
    exist or be empty); returns the exported paths. Raises :class:`ExportError` naming the
    leaking files, without creating ``outdir``, when the export would leak."""
    root, outdir = Path(root).resolve(), Path(outdir).resolve()
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ExportError(f"OUTDIR must not exist or be an empty folder: {outdir}")
    if outdir == root or (root in outdir.parents and not _git_ignored(root, outdir)):
        # Else the next export would list this one's files as untracked and copy them again.
        raise ExportError(
            "OUTDIR must be outside the repository or in a git-ignored folder "
            f"such as _build/: {outdir}"
        )
    secret = secret_lines(root)
    files = student_files(root)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # Build next to OUTDIR and move it in place only once the scan is clean.
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        for name in files:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, staging / name)
        _add_student_note(staging)
        leaks = find_leaks(staging, secret)
        if leaks:
            raise ExportError(
                "refusing to export the student edition; these files hold "
                "solution or hidden-test text:\n" + "\n".join(f"  {leak}" for leak in leaks)
            )
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp's folder is private; the export is not
        if outdir.exists():
            outdir.rmdir()
        os.replace(staging, outdir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return files


def _find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "solutions").is_dir() and (folder / "_config.yml").is_file():
            return folder
    raise ExportError(f"no instructors' repository (with solutions/ and _config.yml) above {start}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m optreg.publish",
        description="Write the student edition of the course repository (no solutions, no "
        "hidden tests) into OUTDIR; exit 1 if any exported file would leak them.",
    )
    parser.add_argument(
        "outdir", type=Path, metavar="OUTDIR", help="new or empty folder, outside the repository"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the instructors' repository (default: found above the current folder)",
    )
    args = parser.parse_args(argv)
    try:
        root = args.root or _find_root(Path.cwd().resolve())
        files = export(root, args.outdir)
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    print(
        f"student edition: {len(files)} files written to {args.outdir} "
        f"(repository {STUDENT_REPOSITORY or 'not set: repository.url in _config.yml'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
