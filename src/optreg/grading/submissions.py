"""Finding each student's notebook, and repairing its structure before nbgrader sees it.

Submissions come as a folder of ``<student_id>/<anything>.ipynb`` (nbgrader's ``submitted/``
too: its ``timestamp.txt`` is the submission time) or as an LMS zip (:func:`intake`, the layouts
of :mod:`optreg.grading.lms`).

:func:`rebuild` puts a submission back into the shape of the released notebook: every cell
nbgrader knows (by ``grade_id``) gets its metadata, type and, for read-only cells, its content
from the release (nbgrader then restores the hidden tests from the gradebook); duplicates of a
known cell are dropped (nbgrader would abort on them), missing ones are put back, and
``nbgrader`` metadata on the student's own extra cells is removed (inflated points, invented
test cells). Whatever the student wrote in the answer cells is kept.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
IGNORED_PARTS = {".ipynb_checkpoints", "__MACOSX"}
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_ZIP_BYTES = 500 * 1024 * 1024
MAX_CELLS = 1000  # the released notebooks have under 100; more is a flood, not work


BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def clean_text(text) -> str:
    """``text`` safe for CSV, HTML and logs: valid UTF-8 (a lone surrogate from a notebook's
    JSON becomes ``\\ud800``), no control characters but newlines and tabs, and no bidi
    controls (which would show a name reversed)."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(ch for ch in text if ch not in BIDI_CONTROLS)
    return "".join(ch if ch >= " " or ch in "\n\t" else "?" for ch in text)


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a text starting with ``= + - @``, a tab or
    a carriage return gets a leading ``'`` (OWASP's CSV-injection rule); numbers stay numbers."""
    text = clean_text(value)
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def _bad_unicode(value, depth: int = 0) -> bool:
    """Whether a JSON value holds a string that is not valid Unicode (a lone surrogate)."""
    if depth > 64:
        return False
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_bad_unicode(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(
            _bad_unicode(k, depth + 1) or _bad_unicode(v, depth + 1) for k, v in value.items()
        )
    return False


class InvalidNotebook(ValueError):
    """The file is not a notebook we can read."""


@dataclass
class Submission:
    student_id: str
    notebook: Path | None
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # why the submission is refused (graded ``invalid``)
    name: str = ""  # the student's name, as the LMS gives it
    submitted_at: str | None = None  # when it was submitted (nbgrader's timestamp format)
    late: bool = False  # the LMS marked it late


def link_problem(folder: Path, path: Path) -> str | None:
    """Why ``path`` (inside the student's ``folder``) must not be read: it, or a folder on the
    way to it, is a symbolic link, or it is a hard link (it may be any file of the machine)."""
    current = Path(folder)
    if current.is_symlink():
        return "the submission folder is a symbolic link: refused, nothing was read"
    for part in Path(path).relative_to(folder).parts:
        current = current / part
        if current.is_symlink():
            return f"{current.relative_to(folder)} is a symbolic link: refused, nothing was read"
    if Path(path).lstat().st_nlink > 1:
        return f"{Path(path).relative_to(folder)} is a hard link: refused, nothing was read"
    return None


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in folder.rglob("*.ipynb")
            if (p.is_file() or p.is_symlink())
            and not IGNORED_PARTS & set(p.relative_to(folder).parts)
        ),
        key=lambda p: (len(p.relative_to(folder).parts), str(p)),
    )


def find_notebook(folder: Path, assignment: str) -> tuple[Path | None, list[str]]:
    """The student's notebook for ``assignment`` in ``folder`` (and notes on how it was found)."""
    candidates = _notebooks_in(folder)
    exact = [p for p in candidates if p.name == f"{assignment}.ipynb"]
    if exact:
        return exact[0], []
    if not candidates:
        return None, [f"no notebook found (expected {assignment}.ipynb)"]
    names = [p.stem for p in candidates]
    best = difflib.get_close_matches(assignment, names, n=1, cutoff=0.0)
    chosen = candidates[names.index(best[0])] if best else candidates[0]
    note = f"graded {chosen.relative_to(folder)} (expected {assignment}.ipynb)"
    if len(candidates) > 1:
        note += f"; {len(candidates)} notebooks were submitted"
    return chosen, [note]


def safe_members(zf: zipfile.ZipFile, archive: Path, refused: dict) -> list[zipfile.ZipInfo]:
    """The archive's files that stay inside it; the others are reported in ``refused`` as {its
    first path component (the student's folder), or "" when it has none: message}."""
    members = [
        m
        for m in zf.infolist()
        if not m.is_dir() and not IGNORED_PARTS & set(Path(m.filename).parts)
    ]
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise ValueError(f"{archive}: more than {MAX_ZIP_BYTES} bytes uncompressed")
    kept = []
    for m in members:
        parts = Path(m.filename).parts
        if m.filename.startswith("/") or ".." in parts or not parts:
            owner = parts[0] if parts and parts[0] not in ("/", "..") else ""
            name = clean_text(m.filename)[:200]
            refused[owner] = "; ".join(
                filter(
                    None,
                    [
                        refused.get(owner),
                        f"archive member {name!r} points outside the archive: "
                        "refused, not extracted",
                    ],
                )
            )
            continue
        kept.append(m)
    return kept


def strip_top(members: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Each member with its path, less the one top folder an export may put everything in."""
    from optreg.grading.lms import moodle_folder

    parts = [Path(m.filename).parts for m in members]
    tops = {p[0] for p in parts if len(p) > 1}
    strip = len(tops) == 1 and all(len(p) > 2 for p in parts)
    strip = strip and moodle_folder(next(iter(tops))) is None
    return [(m, p[1:] if strip else p) for m, p in zip(members, parts, strict=True)]


def intake(source: Path, assignment: str, unpack_dir: Path) -> tuple[list[Submission], list[str]]:
    """The submissions of ``assignment`` in ``source``: a folder (of student folders, nbgrader's
    ``submitted/``, or an unpacked LMS download) or an LMS zip (:mod:`optreg.grading.lms`)."""
    from optreg.grading import lms

    meta: dict[str, dict] = {}
    refused: dict[str, str] = {}
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source}: not a folder and not a zip; {lms.LAYOUTS}")
        if unpack_dir.exists():
            shutil.rmtree(unpack_dir)
        source, meta, refused, _ = lms.unpack(source, unpack_dir)
        submissions, warnings = collect(source, assignment, timestamps=False)
    else:
        submissions, warnings = collect(source, assignment)
    known = {s.student_id: s for s in submissions}
    for owner, problem in refused.items():  # that student is refused, the class is graded
        if owner in known:
            known[owner].problem = problem
        elif STUDENT_ID.match(owner):  # nothing of hers was extracted: still her row
            known[owner] = Submission(owner, None, problem=problem)
            submissions.append(known[owner])
        else:
            warnings.append(problem)
    submissions.sort(key=lambda s: s.student_id)
    for student, info in meta.items():
        sub = known.get(student)
        if sub is None:
            continue
        sub.name = info.get("name") or sub.name
        sub.late = sub.late or bool(info.get("late"))
        sub.submitted_at = info.get("submitted_at") or sub.submitted_at
        sub.notes += info.get("notes", [])
    return submissions, warnings


def collect(
    folder: Path, assignment: str, timestamps: bool = True
) -> tuple[list[Submission], list[str]]:
    """One :class:`Submission` per student folder, and warnings about skipped entries.

    The submission time is read from ``timestamp.txt`` only in nbgrader's own layout,
    ``submitted/<student>/<assignment>/`` (written by ``nbgrader collect``); anywhere else the
    file is the student's upload, and never decides whether she was late."""
    submissions, warnings = [], []
    from optreg.grading.lms import moodle_folder

    seen: dict[str, str] = {}
    for entry in sorted(Path(folder).iterdir()):
        if entry.name in IGNORED_PARTS or entry.name.startswith("."):
            continue
        if not entry.is_dir():
            warnings.append(f"ignored {entry.name}: not a student folder")
            continue
        moodle = moodle_folder(entry.name)  # an unpacked Moodle download
        student = moodle.student_id if moodle else entry.name
        if not STUDENT_ID.match(student):
            warnings.append(f"ignored folder {entry.name!r}: not a valid student id")
            continue
        if student in seen:  # one id, two folders: never silently one of them
            why = f"folders {seen[student]!r} and {entry.name!r} both claim id {student}"
            for sub in submissions:
                if sub.student_id == student:
                    sub.problem = f"{why}: refused both"
            continue
        seen[student] = entry.name
        name = moodle.name if moodle else ""
        if entry.is_symlink():
            problem = link_problem(entry, entry)
            submissions.append(Submission(student, None, [], problem, name=name))
            continue
        notebook, notes = find_notebook(entry, assignment)
        problem = link_problem(entry, notebook) if notebook is not None else None
        trusted = timestamps and _nbgrader_submitted(folder, entry, notebook, assignment)
        stamp = _timestamp(notebook) if trusted and problem is None else None
        submissions.append(Submission(student, notebook, notes, problem, name, stamp))
    return submissions, warnings


def _nbgrader_submitted(folder: Path, entry: Path, notebook: Path | None, assignment: str) -> bool:
    """Whether ``notebook`` is where ``nbgrader collect`` puts it (then so is timestamp.txt)."""
    return (
        notebook is not None
        and Path(folder).name == "submitted"
        and notebook.parent == entry / assignment
    )


def _timestamp(notebook: Path) -> str | None:
    """The submission time nbgrader's ``submit``/``collect`` left next to the notebook."""
    from nbgrader.utils import parse_utc

    stamp = notebook.parent / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
        text = stamp.read_text(errors="replace").strip()
        try:
            parse_utc(text)
        except (ValueError, OverflowError):
            return None
        return text
    return None


def _as_text(source) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def read_tolerant(path: Path) -> NotebookNode:
    """Read a notebook, rebuilding a valid v4 notebook from whatever cells can be understood."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(
            f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidNotebook(f"{path.name} is not a Jupyter notebook (no list of cells)")
    if len(data["cells"]) > MAX_CELLS:
        raise InvalidNotebook(
            f"{path.name} has {len(data['cells'])} cells, more than the "
            f"{MAX_CELLS} a submission may have"
        )
    if _bad_unicode(data):
        raise InvalidNotebook(
            f"{path.name} contains text that is not valid Unicode (an escaped "
            "lone surrogate such as \\ud800 in its JSON)"
        )
    nb = nbformat.v4.new_notebook()
    for raw in data["cells"]:
        if not isinstance(raw, dict):
            continue
        kind = raw.get("cell_type")
        text = _as_text(raw.get("source", ""))
        if kind == "code":
            cell = nbformat.v4.new_code_cell(text)
        elif kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text)
        elif kind == "raw":
            cell = nbformat.v4.new_raw_cell(text)
        else:
            continue
        meta = raw.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("nbgrader"), dict):
            cell.metadata["nbgrader"] = meta["nbgrader"]
        nb.cells.append(cell)
    return nb


def _grade_id(cell) -> str | None:
    meta = cell.metadata.get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def _is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def rebuild(student: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The student's notebook in the release's shape (see the module docstring)."""
    known = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    notes: list[str] = []
    cells, seen = [], set()
    for cell in student.cells:
        gid = _grade_id(cell)
        if gid not in known:
            if gid is not None or "nbgrader" in cell.metadata:
                notes.append(
                    "removed grading metadata from an extra cell "
                    f"({clean_text(gid)[:60] if gid else 'no id'})"
                )
            cell.metadata.pop("nbgrader", None)
            cells.append(cell)
            continue
        if gid in seen:
            notes.append(f"ignored a duplicate of cell {gid}")
            continue
        seen.add(gid)
        reference = copy.deepcopy(known[gid])
        if _is_solution(reference):  # keep the answer, in the right kind of cell
            reference.source = cell.source
        elif cell.source != known[gid].source or cell.cell_type != known[gid].cell_type:
            notes.append(f"restored read-only cell {gid}")
        cells.append(reference)
    for index, cell in enumerate(release.cells):
        gid = _grade_id(cell)
        if not gid or gid in seen:
            continue
        notes.append(f"restored missing cell {gid}")
        previous = [_grade_id(c) for c in release.cells[:index] if _grade_id(c)]
        position = 0
        for j, existing in enumerate(cells):
            if _grade_id(existing) in previous:
                position = j + 1
        cells.insert(position, copy.deepcopy(cell))
        seen.add(gid)
    nb = nbformat.v4.new_notebook()
    nb.metadata = copy.deepcopy(release.metadata)
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells = cells
    return nb, notes
