"""Unit tests of the grading pieces that need no kernel: submissions, rebuild, reports, CLI."""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from pathlib import Path

import nbformat
import pytest

from optreg.cli import main
from optreg.grading.course import find_course_root
from optreg.grading.execute import HideHiddenTests, hidden_lines, strip_hidden
from optreg.grading.report import question_table, write_summary
from optreg.grading.runner import CSV_COLUMNS, write_grades_csv
from optreg.grading.submissions import (
    InvalidNotebook,
    collect,
    find_notebook,
    read_tolerant,
    rebuild,
    unpack_zip,
)

ROOT = find_course_root(Path(__file__).parent)
ASSIGNMENT = "02_schedules"


def _release():
    return nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _graded_ids(nb):
    return [_gid(c) for c in nb.cells if _gid(c)]


def test_rebuild_keeps_answers_and_restores_everything_else():
    release = _release()
    student = copy.deepcopy(release)
    answer = next(c for c in student.cells if _gid(c) == "one_cycle")
    answer.source = "def one_cycle(*args):\n    return 42"
    test = next(c for c in student.cells if _gid(c) == "test_one_cycle")
    test.source = "pass"                                   # edited test
    test.metadata["nbgrader"]["points"] = 1000             # inflated points
    student.cells.append(copy.deepcopy(test))              # duplicated test
    retyped = next(c for c in student.cells if _gid(c) == "test_plateau_step")
    retyped.cell_type = "markdown"                         # re-typed test
    student.cells = [c for c in student.cells if _gid(c) != "test_power_schedule"]  # deleted
    fake = nbformat.v4.new_code_cell("pass")
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 99}
    student.cells.append(fake)                             # invented graded cell

    rebuilt, notes = rebuild(student, release)

    assert _graded_ids(rebuilt) == _graded_ids(release)   # same graded cells, same order
    by_id = {_gid(c): c for c in rebuilt.cells if _gid(c)}
    assert by_id["one_cycle"].source == "def one_cycle(*args):\n    return 42"
    for gid in ("test_one_cycle", "test_plateau_step", "test_power_schedule"):
        original = next(c for c in release.cells if _gid(c) == gid)
        assert by_id[gid].source == original.source
        assert by_id[gid].cell_type == "code"
        assert by_id[gid].metadata["nbgrader"] == original.metadata["nbgrader"]
    assert "nbgrader" not in rebuilt.cells[-1].metadata   # the invented cell is plain now
    assert any("duplicate" in n for n in notes)
    assert any("missing cell test_power_schedule" in n for n in notes)
    nbformat.validate(rebuilt)


def test_read_tolerant_rejects_non_notebooks(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    with pytest.raises(InvalidNotebook, match="not valid JSON"):
        read_tolerant(bad)
    bad.write_text('{"no": "cells"}')
    with pytest.raises(InvalidNotebook, match="no list of cells"):
        read_tolerant(bad)


def test_read_tolerant_repairs_broken_cells(tmp_path):
    path = tmp_path / "odd.ipynb"
    path.write_text('{"cells": [{"cell_type": "code", "source": ["a = ", "1"]}, 7, '
                    '{"cell_type": "weird"}, {"cell_type": "markdown", "source": "# t"}]}')
    nb = read_tolerant(path)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown"]
    assert nb.cells[0].source == "a = 1"
    nbformat.validate(nb)


def test_find_notebook_exact_renamed_and_missing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (tmp_path / "a" / "other.ipynb").write_text("{}")
    assert find_notebook(tmp_path / "a", ASSIGNMENT) == (tmp_path / "a" / f"{ASSIGNMENT}.ipynb",
                                                        [])
    (tmp_path / "b" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "b" / ".ipynb_checkpoints" / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (tmp_path / "b" / "schedules_v2.ipynb").write_text("{}")
    path, notes = find_notebook(tmp_path / "b", ASSIGNMENT)
    assert path.name == "schedules_v2.ipynb" and "expected" in notes[0]
    (tmp_path / "c").mkdir()
    assert find_notebook(tmp_path / "c", ASSIGNMENT)[0] is None


def test_collect_skips_files_and_bad_ids(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "bad id!").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    subs, warnings = collect(tmp_path, ASSIGNMENT)
    assert [s.student_id for s in subs] == ["alice"]
    assert len(warnings) == 2


def test_unpack_zip_layouts(tmp_path):
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.writestr("export/alice/02_schedules.ipynb", "{}")
        zf.writestr("export/bob/work/02_schedules.ipynb", "{}")
    out = unpack_zip(nested, tmp_path / "n")
    assert (out / "alice" / "02_schedules.ipynb").is_file()
    assert (out / "bob" / "work" / "02_schedules.ipynb").is_file()
    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.writestr("carol_1234_02_schedules.ipynb", "{}")
    out = unpack_zip(flat, tmp_path / "f")
    assert (out / "carol" / "1234_02_schedules.ipynb").is_file()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.ipynb", "{}")
    with pytest.raises(ValueError, match="outside"):
        unpack_zip(evil, tmp_path / "e")
    assert not (tmp_path.parent / "escape.ipynb").exists()


def test_hidden_tests_stripped_from_feedback_cells():
    source = "x = 1\n### BEGIN HIDDEN TESTS\nsecret_reference_value = 12345678\n" \
             "### END HIDDEN TESTS\ny = 2"
    assert "secret" not in strip_hidden(source)
    assert strip_hidden(source).startswith("x = 1") and strip_hidden(source).endswith("y = 2")
    nb = nbformat.v4.new_notebook()
    test = nbformat.v4.new_code_cell(source)
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "solution": False,
                                 "locked": True}
    test.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="secret_reference_value = 1"),
        nbformat.v4.new_output("error", ename="AssertionError",
                               evalue="quote: secret_reference_value = 12345678",
                               traceback=["secret_reference_value = 12345678"]),
    ]
    own = nbformat.v4.new_code_cell("print(1)")
    own.outputs = [nbformat.v4.new_output("stream", name="stdout", text="leak")]
    nb.cells = [test, own]
    assert hidden_lines(source) == {"secret_reference_value = 12345678"}
    nb, _ = HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "secret" not in text and "leak" not in text
    assert "AssertionError" in text


def test_grades_csv_and_summary(tmp_path):
    rows = [
        {"student_id": "a", "assignment": ASSIGNMENT, "score": 3.0, "max_score": 3.0,
         "status": "graded", "message": 'said "hi", then left', "cells": {"q1": 1.0, "q2": 2.0}},
        {"student_id": "b", "assignment": ASSIGNMENT, "score": 1.0, "max_score": 3.0,
         "status": "graded", "message": "", "cells": {"q1": 0.0, "q2": 1.0}},
        {"student_id": "c", "assignment": ASSIGNMENT, "score": 0.0, "max_score": 3.0,
         "status": "missing", "message": "no notebook", "cells": {}},
    ]
    write_grades_csv(tmp_path / "grades.csv", rows)
    parsed = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert list(parsed[0]) == CSV_COLUMNS
    assert [(r["student_id"], r["score"], r["status"]) for r in parsed] == [
        ("a", "3", "graded"), ("b", "1", "graded"), ("c", "0", "missing")]
    assert parsed[0]["message"] == 'said "hi", then left'
    table = {e["question"]: e for e in question_table(rows, {"q1": 1.0, "q2": 2.0})}
    assert (table["q1"]["full"], table["q1"]["zero"]) == (1, 2)
    assert (table["q2"]["full"], table["q2"]["partial"], table["q2"]["zero"]) == (1, 1, 1)
    assert table["TOTAL"]["mean"] == pytest.approx(4 / 3)
    write_summary(tmp_path, rows, {"q1": 1.0, "q2": 2.0})
    assert (tmp_path / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| q2 | 2 | 1.00 | 1 | 1 | 1 |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "summary.csv").read_text().startswith("question,points")


@pytest.mark.parametrize("argv", [
    ["grade"],
    ["grade", "99_nothing", ".", "--out", "x"],
    ["grade", ASSIGNMENT, "/no/such/folder", "--out", "x"],
    ["grade", ASSIGNMENT, ".", "--out", "x", "--jobs", "0"],
])
def test_cli_rejects_bad_arguments(argv, capsys):
    assert main(argv) == 2
    assert "optreg grade" in capsys.readouterr().err


def test_validate_missing_file_fails(tmp_path):
    assert main(["grade", "--validate", str(tmp_path / "none.ipynb")]) != 0
