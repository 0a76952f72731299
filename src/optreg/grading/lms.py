"""Learning-management systems: their submission downloads in, their grade imports out.

In: the zip a course's LMS gives for "download all submissions", or that zip unpacked.

* **Moodle**: a folder per submission, ``Full Name_12345_assignsubmission_file_/<file>``, or
  flat files ``Full Name_12345_assignsubmission_file_<file>``; ``12345`` is the participant
  id that Moodle's grading worksheet calls ``Participant 12345``.
* **Canvas**: flat files ``lastnamefirstname_12345_67890_<file>`` (``12345`` the user id,
  ``67890`` the submission's file id), ``lastnamefirstname_late_12345_67890_<file>`` when
  Canvas marked it late, and ``<file>-1.ipynb``, ``-2``, ... for resubmissions: the latest
  (highest suffix, then highest file id) counts, the others are ignored (noted in the row).
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_\w+?_$")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>.+)$")
CANVAS_FILE = re.compile(
    r"^(?P<name>[^_/]+?)(?P<late>_late)?_(?P<id>\d+)_(?P<attempt>\d+)_(?P<file>.+)$"
)
RESUBMISSION = re.compile(r"^(?P<stem>.+?)-(?P<n>\d+)(?P<ext>\.[^.]+)$")
LAYOUTS = (
    "expected a folder per student '<student_id>/<file>', Moodle's "
    "'Full Name_12345_assignsubmission_file_/<file>' (or the same prefix on a flat file), "
    "Canvas's 'lastnamefirstname_12345_67890_<file>' (with '_late_' when late), or "
    "'<student_id>_<file>'"
)
EXPORTS = ("canvas", "moodle")


@dataclass
class Owner:
    """Whose an archive entry is, as the LMS's name for it says."""

    student_id: str
    name: str = ""
    late: bool = False
    lms: str = ""
    file: str = ""  # the file's own name (flat layouts), without the LMS's prefix


def moodle_folder(name: str) -> Owner | None:
    found = MOODLE_FOLDER.match(name)
    return Owner(found["id"], found["name"], lms="moodle") if found else None


def flat_owner(filename: str) -> Owner | None:
    """The owner of a flat file of a Moodle or Canvas download, or None."""
    for lms, pattern in (("moodle", MOODLE_FILE), ("canvas", CANVAS_FILE)):
        found = pattern.match(filename)
        if found:
            late = lms == "canvas" and bool(found["late"])
            return Owner(found["id"], found["name"], late, lms, found["file"])
    return None


def _resubmission(filename: str) -> tuple[str, int]:
    """(the file's name without Canvas' ``-N`` resubmission suffix, N)."""
    found = RESUBMISSION.match(filename)
    if found:
        return found["stem"] + found["ext"], int(found["n"])
    return filename, 0


def _zip_time(member: zipfile.ZipInfo) -> str:
    return datetime(*member.date_time).strftime("%Y-%m-%d %H:%M:%S UTC")


def unpack(archive: Path, dest: Path) -> tuple[Path, dict[str, dict], dict[str, str], list[str]]:
    """Extract an LMS zip into ``dest/<student_id>/<file>``.

    Returns (dest, {student id: {"name", "late", "submitted_at", "lms", "notes"}}, {student id
    or "": why refused}, notes). Raises ValueError naming the entries that fit no layout."""
    from optreg.grading.submissions import STUDENT_ID, safe_members, strip_top

    dest.mkdir(parents=True, exist_ok=True)
    refused: dict[str, str] = {}
    meta: dict[str, dict] = {}
    unknown: list[str] = []
    with zipfile.ZipFile(archive) as zf:
        members = safe_members(zf, archive, refused)
        chosen: dict[tuple[str, str], tuple[tuple[int, int], zipfile.ZipInfo, Owner]] = {}
        for member, parts in strip_top(members):
            owner = moodle_folder(parts[0]) if len(parts) > 1 else flat_owner(parts[0])
            if owner is None:
                owner = _generic_owner(parts, STUDENT_ID)
            if owner is None:
                unknown.append(member.filename)
                continue
            rel = owner.file if len(parts) == 1 else "/".join(parts[1:])
            key, order = rel, (0, 0)
            if owner.lms == "canvas":
                key, n = _resubmission(rel)
                order = (n, int(CANVAS_FILE.match(parts[0])["attempt"]))
            slot = (owner.student_id, key)
            if slot in chosen:
                older, newer = sorted([chosen[slot], (order, member, owner)], key=lambda c: c[0])
                info = meta.setdefault(owner.student_id, {"notes": []})
                info["notes"].append(f"ignored {older[1].filename} (resubmitted later)")
                chosen[slot] = newer
            else:
                chosen[slot] = (order, member, owner)
        if unknown:
            names = ", ".join(repr(u) for u in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(
                f"{archive.name}: entries of no known layout: {names}{more}; {LAYOUTS}"
            )
        for (student, key), (_, member, owner) in sorted(chosen.items()):
            target = dest / student / key
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            info = meta.setdefault(student, {"notes": []})
            info.update(name=owner.name, lms=owner.lms)
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
    from optreg.grading.submissions import clean_text

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
            name = clean_text(r.get("name") or r["student_id"])
            writer.writerow([name, r["student_id"], "", "", "", f"{float(r['score']):g}"])
    else:
        writer.writerow(
            ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade"]
        )
        for r in rows:
            writer.writerow(
                [
                    f"Participant {r['student_id']}",
                    clean_text(r.get("name") or r["student_id"]),
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
