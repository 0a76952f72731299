"""Learning-management systems: their submission downloads in, their grade imports out.

In: the zip a course's LMS gives for "download all submissions", or that zip unpacked.

* **Moodle**: a folder per submission, ``Full Name_12345_assignsubmission_file_/<file>``, or
  flat files ``Full Name_12345_assignsubmission_file_<file>``; ``12345`` is the participant
  id that Moodle's grading worksheet calls ``Participant 12345``.
* **Canvas**: flat files ``lastnamefirstname_12345_67890_<file>`` (``12345`` the user id,
  ``67890`` the submission's file id), ``lastnamefirstname_late_12345_67890_<file>`` when
  Canvas marked it late, and ``<file>-1.ipynb``, ``-2``, ... for resubmissions: the latest
  (highest file id, then highest suffix) counts, the others are ignored (noted in the row).
* a folder per student, ``<student_id>/<file>`` (GitHub Classroom, nbgrader's ``submitted/``),
  or flat ``<student_id>_<file>``, possibly all under one top folder.

The student id is the LMS's user id (never a name: two students called the same stay two);
the name, the late flag and the zip entry's time (taken as UTC) are kept. An entry that fits
none of these is refused by name, with the layouts expected, before anything is graded.

Out: :func:`write_export` writes the CSV each LMS imports into its gradebook, matched by the
ids read on intake (Canvas: ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>``,
with Canvas' "Points Possible" row; Moodle: the grading worksheet's ``Identifier, Full name,
Email address, Status, Grade, Maximum grade``).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# The LMS writes the ids; names and file names are the students' own text, so ids are ASCII
# digits without a leading zero, a Moodle folder's id is its LAST ``_<id>_assign..._`` (greedy
# name), and a flat file that parses more than one way is refused (both of its ends are typed
# by students).
MOODLE_FOLDER = re.compile(
    r"^(?P<name>.+)_(?P<id>[1-9][0-9]*)_assign(?:submission|feedback)_[A-Za-z0-9]+_$"
)
MOODLE_FILE = re.compile(r"_(?P<id>[1-9][0-9]*)_assignsubmission_file_")
CANVAS_FILE = re.compile(r"(?P<late>_late)?_(?P<id>[1-9][0-9]*)_(?P<attempt>[1-9][0-9]*)_")
RESUBMISSION = re.compile(r"^(?P<stem>.+?)-(?P<n>\d+)(?P<ext>\.[^.]+)$")
LAYOUTS = (
    "expected a folder per student '<student_id>/<file>', Moodle's "
    "'Full Name_12345_assignsubmission_file_/<file>' (or the same prefix on a flat file), "
    "Canvas's 'lastnamefirstname_12345_67890_<file>' (with '_late_' when late), or "
    "'<student_id>_<file>'"
)
EXPORTS = ("canvas", "moodle")
MAX_FILES = 1000  # per student: a notebook and what it reads, not a flood of inodes


@dataclass
class Owner:
    """Whose an archive entry is, as the LMS's name for it says."""

    student_id: str
    name: str = ""
    late: bool = False
    lms: str = ""
    file: str = ""  # the file's own name (flat layouts), without the LMS's prefix
    attempt: str = ""  # Canvas' submission file id


def moodle_folder(name: str) -> Owner | None:
    found = MOODLE_FOLDER.match(name)
    return Owner(found["id"], found["name"], lms="moodle") if found else None


def flat_owners(filename: str) -> list[Owner]:
    """Every way ``filename`` reads as a flat file of a Moodle or Canvas download: none, one,
    or (an ambiguous name, refused) several."""
    for lms, pattern in (("moodle", MOODLE_FILE), ("canvas", CANVAS_FILE)):
        owners: dict[tuple[str, str], Owner] = {}
        for start in range(1, len(filename)):
            found = pattern.match(filename, start)
            if found is None or found.end() == len(filename):
                continue
            ids = (found["id"], found.groupdict().get("attempt") or "")
            late = lms == "canvas" and bool(found["late"])
            name, file = filename[:start], filename[found.end() :]
            owners.setdefault(ids, Owner(found["id"], name, late, lms, file, ids[1]))
        if owners:
            return list(owners.values())
    return []


def _resubmission(filename: str) -> tuple[str, int]:
    """(the file's name without Canvas' ``-N`` resubmission suffix, N)."""
    found = RESUBMISSION.match(filename)
    if found:
        return found["stem"] + found["ext"], int(found["n"])
    return filename, 0


def _zip_time(member: zipfile.ZipInfo) -> str:
    return datetime(*member.date_time).strftime("%Y-%m-%d %H:%M:%S UTC")


def _refuse(refused: dict[str, str], student: str, why: str) -> None:
    refused[student] = "; ".join(filter(None, [refused.get(student), why]))


def _owners(members, refused: dict[str, str]) -> list[tuple[zipfile.ZipInfo, tuple, Owner]]:
    """Each member's owner; raises ValueError naming the members of no known layout."""
    from optreg.grading.submissions import STUDENT_ID, clean_text, strip_top

    read, unknown, ambiguous = [], [], False
    for member, parts in strip_top(members):
        name = repr(clean_text(member.filename)[:200])
        owners = [moodle_folder(parts[0])] if len(parts) > 1 else flat_owners(parts[0])
        owners = [o for o in owners if o is not None]
        if len(owners) > 1:  # a name typed to look like a classmate's entry: nobody's work
            ids = ", ".join(o.student_id for o in owners)
            for o in owners:
                _refuse(refused, o.student_id, f"{name} could be any of {ids}: refused")
            ambiguous = True
            continue
        read.append((member, parts, owners[0] if owners else None))
    recognised = ambiguous or any(o is not None for _, _, o in read)
    for i, (member, parts, owner) in enumerate(read):
        if owner is None and not recognised:
            owner = _generic_owner(parts, STUDENT_ID)
            read[i] = (member, parts, owner)
        if owner is None:
            unknown.append(member.filename)
    if unknown:
        names = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise ValueError(f"entries of no known layout: {names}{more}; {LAYOUTS}")
    claims: dict[str, dict[str, str]] = {}
    for member, _, owner in read:
        claims.setdefault(owner.student_id, {}).setdefault(owner.name, member.filename)
    for student, names in claims.items():
        if len(names) > 1:  # one id, two names: never silently a resubmission
            entries = " and ".join(repr(clean_text(e)[:200]) for e in names.values())
            _refuse(refused, student, f"{entries} both claim id {student}: refused both")
    return [(m, p, o) for m, p, o in read if len(claims[o.student_id]) == 1]


def _extract(zf: zipfile.ZipFile, member: zipfile.ZipInfo, dest: Path, student: str, key: str):
    """Extract one member to ``dest/student/key``; returns why not, or None."""
    folder = (dest / student).resolve()
    target = (folder / key).resolve()
    parts = Path(key).parts
    if not parts or any(p in ("", ".", "..") or len(p.encode()) > 255 for p in parts):
        return "its path has an empty, '.', '..' or over-255-byte part"
    if folder not in target.parents:
        return "it points outside the student's folder"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(member) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        if target.is_file():  # nothing half-written stays
            target.unlink()
        return f"it cannot be extracted ({type(exc).__name__}: {exc})"
    return None


def unpack(archive: Path, dest: Path) -> tuple[Path, dict[str, dict], dict[str, str], list[str]]:
    """Extract an LMS zip into ``dest/<student_id>/<file>``.

    Returns (dest, {student id: {"name", "late", "submitted_at", "lms", "notes"}}, {student id
    or "": why refused}, notes). Raises ValueError naming the entries that fit no layout. A
    member that cannot be extracted makes its student invalid (named in ``refused``)."""
    from optreg.grading.submissions import clean_text, safe_members

    dest.mkdir(parents=True, exist_ok=True)
    refused: dict[str, str] = {}
    meta: dict[str, dict] = {}
    with zipfile.ZipFile(archive) as zf:
        try:
            read = _owners(safe_members(zf, archive, refused), refused)
        except ValueError as exc:
            raise ValueError(f"{archive.name}: {exc}") from None
        chosen: dict[tuple[str, str], tuple[tuple, zipfile.ZipInfo, Owner]] = {}
        for member, parts, owner in read:
            rel = owner.file if len(parts) == 1 else "/".join(parts[1:])
            key, order = rel, (member.date_time, 0, 0)
            if owner.lms == "canvas":  # the latest attempt, then the -N suffix, counts
                key, n = _resubmission(rel)
                order = (int(owner.attempt), member.date_time, n)
            slot = (owner.student_id, key)
            if slot in chosen:
                older, newer = sorted([chosen[slot], (order, member, owner)], key=lambda c: c[0])
                info = meta.setdefault(owner.student_id, {"notes": []})
                info["notes"].append(f"ignored {older[1].filename} (resubmitted later)")
                chosen[slot] = newer
            else:
                chosen[slot] = (order, member, owner)
        files = Counter(student for student, _ in chosen)
        for student in (s for s, n in files.items() if n > MAX_FILES):
            _refuse(refused, student, f"{files[student]} files, more than {MAX_FILES}: refused")
        for (student, key), (_, member, owner) in sorted(chosen.items()):
            info = meta.setdefault(student, {"notes": []})
            info.update(name=owner.name, lms=owner.lms)
            if files[student] > MAX_FILES:
                continue
            problem = _extract(zf, member, dest, student, key)
            if problem:
                name = repr(clean_text(member.filename)[:200])
                _refuse(refused, student, f"archive member {name}: {problem}; refused")
                continue
            info["late"] = info.get("late", False) or owner.late
            if key.endswith(".ipynb"):
                info["submitted_at"] = max(info.get("submitted_at", ""), _zip_time(member))
    return dest, meta, refused, []


def _generic_owner(parts: tuple[str, ...], student_id: re.Pattern) -> Owner | None:
    if len(parts) > 1:
        return Owner(parts[0]) if student_id.match(parts[0]) else None
    student, _, rest = parts[0].partition("_")
    return Owner(student, file=rest) if rest and student_id.match(student) else None


def write_export(lms: str, out: Path, rows: list[dict]) -> Path:
    """``OUT/<lms>_grades.csv``: the grades in the CSV ``lms`` imports (module docstring)."""
    from optreg.grading.runner import write_atomic
    from optreg.grading.submissions import csv_cell

    if lms not in EXPORTS:
        raise ValueError(f"--export: unknown LMS {lms!r}; expected one of {', '.join(EXPORTS)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    assignment = rows[0]["assignment"] if rows else ""
    if lms == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        top = max((float(r["max_score"]) for r in rows), default=0.0)
        writer.writerow(["    Points Possible", "", "", "", "", f"{top:g}"])
        for r in rows:
            name = csv_cell(r.get("name") or r["student_id"])
            writer.writerow([name, csv_cell(r["student_id"]), "", "", "", f"{float(r['score']):g}"])
    else:
        writer.writerow(
            ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade"]
        )
        for r in rows:
            writer.writerow(
                [
                    f"Participant {r['student_id']}",
                    csv_cell(r.get("name") or r["student_id"]),
                    "",
                    _moodle_status(r),
                    f"{float(r['score']):.2f}",
                    f"{float(r['max_score']):.2f}",
                ]
            )
    path = Path(out) / f"{lms}_grades.csv"
    write_atomic(path, buffer.getvalue())
    return path


def _moodle_status(row: dict) -> str:
    if row["status"] == "missing":
        return "No submission"
    graded = "Graded" if not row.get("needs_manual_grade") else "Not graded"
    return f"Submitted for grading - {graded}"
