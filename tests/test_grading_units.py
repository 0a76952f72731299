"""Unit tests of the grading pieces that need no sandbox: the wire format, the checks,
submissions, rebuild, reports, CLI."""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from optreg.cli import main
from optreg.grading import wire
from optreg.grading.checks import Failed, close, equal, grades
from optreg.grading.course import find_course_root
from optreg.grading.lms import unpack
from optreg.grading.report import question_table, write_summary
from optreg.grading.runner import CSV_COLUMNS, write_grades_csv
from optreg.grading.submissions import (
    InvalidNotebook,
    collect,
    find_notebook,
    link_problem,
    read_tolerant,
    rebuild,
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
    test.source = "pass"  # edited test
    test.metadata["nbgrader"]["points"] = 1000  # inflated points
    student.cells.append(copy.deepcopy(test))  # duplicated test
    retyped = next(c for c in student.cells if _gid(c) == "test_plateau_step")
    retyped.cell_type = "markdown"  # re-typed test
    student.cells = [c for c in student.cells if _gid(c) != "test_power_schedule"]  # deleted
    fake = nbformat.v4.new_code_cell("pass")
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 99}
    student.cells.append(fake)  # invented graded cell

    rebuilt, notes = rebuild(student, release)

    assert _graded_ids(rebuilt) == _graded_ids(release)  # same graded cells, same order
    by_id = {_gid(c): c for c in rebuilt.cells if _gid(c)}
    assert by_id["one_cycle"].source == "def one_cycle(*args):\n    return 42"
    for gid in ("test_one_cycle", "test_plateau_step", "test_power_schedule"):
        original = next(c for c in release.cells if _gid(c) == gid)
        assert by_id[gid].source == original.source
        assert by_id[gid].cell_type == "code"
        assert by_id[gid].metadata["nbgrader"] == original.metadata["nbgrader"]
    assert "nbgrader" not in rebuilt.cells[-1].metadata  # the invented cell is plain now
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
    path.write_text(
        '{"cells": [{"cell_type": "code", "source": ["a = ", "1"]}, 7, '
        '{"cell_type": "weird"}, {"cell_type": "markdown", "source": "# t"}]}'
    )
    nb = read_tolerant(path)
    assert [c.cell_type for c in nb.cells] == ["code", "markdown"]
    assert nb.cells[0].source == "a = 1"
    nbformat.validate(nb)


def test_find_notebook_exact_renamed_and_missing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (tmp_path / "a" / "other.ipynb").write_text("{}")
    assert find_notebook(tmp_path / "a", ASSIGNMENT) == (tmp_path / "a" / f"{ASSIGNMENT}.ipynb", [])
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


def test_unpack_zip_layouts(tmp_path):  # the generic layouts; LMS ones: test_grading_lms_attacks
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        zf.writestr("export/alice/02_schedules.ipynb", "{}")
        zf.writestr("export/bob/work/02_schedules.ipynb", "{}")
    out = unpack(nested, tmp_path / "n")[0]
    assert (out / "alice" / "02_schedules.ipynb").is_file()
    assert (out / "bob" / "work" / "02_schedules.ipynb").is_file()
    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.writestr("carol_1234_02_schedules.ipynb", "{}")
    out = unpack(flat, tmp_path / "f")[0]
    assert (out / "carol" / "1234_02_schedules.ipynb").is_file()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.ipynb", "{}")
        zf.writestr("dave/02_schedules.ipynb", "{}")
        zf.writestr("erin/../../02_schedules.ipynb", "{}")
    out, _, refused, _ = unpack(evil, tmp_path / "e")  # only the bad members are refused
    assert "outside" in refused[""] and "escape.ipynb" in refused[""]
    assert "outside" in refused["erin"]
    assert (out / "dave" / "02_schedules.ipynb").is_file()
    assert not (tmp_path.parent / "escape.ipynb").exists()


def test_wire_round_trip_gives_fresh_plain_values():
    rng = np.random.default_rng(3)
    value = [
        1,
        2.5,
        float("nan"),
        None,
        True,
        "x",
        (np.arange(6).reshape(2, 3), np.float32(0.5)),
        {"lr": np.float64(0.1), 3: [np.zeros((0, 2)), np.array([True, False])]},
        rng,
    ]
    frame = json.dumps({"value": wire.encode(value)}).encode()
    back = wire.decode(wire.parse_frame(frame)["value"])
    assert back[:2] == [1, 2.5] and back[2] != back[2] and back[3:6] == [None, True, "x"]
    array, half = back[6]
    assert type(array) is np.ndarray and array.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(half) is float and half == 0.5
    assert back[7]["lr"] == 0.1 and back[7][3][0].shape == (0, 2)
    assert back[8].random() == rng.random()  # the generator's state crossed over


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"a": ["object", [1], ""]}, "dtype"),
        ({"a": ["float64", [3], "AAAA"]}, "does not fit"),
        ({"a": ["float64", [-1], ""]}, "shape"),
        ({"x": 1}, "unknown value tag"),
        ({"a": 1, "t": []}, "malformed"),
        ({"c": 0}, "unknown value tag"),  # no callbacks accepted here
        ({"g": {"bit_generator": "MT19937"}}, "generator"),
        ({"d": [[[1], 2]]}, "malformed dict"),
    ],
)
def test_wire_decode_refuses_anything_else(raw, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(raw)
    deep: list = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(deep)


def test_wire_encode_refuses_objects():
    for value in (object(), np.array([object()]), {(1, 2): 3}, lambda: 1, np.complex128(1j)):
        with pytest.raises(wire.WireError):
            wire.encode(value)
    with pytest.raises(wire.WireError, match="not valid JSON"):
        wire.parse_frame(b"{nope")


def test_checks_compare_and_explain():
    close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]), "x")
    close(float("nan"), float("nan"), "nan matches nan")
    with pytest.raises(Failed, match="expected shape"):
        close([1.0], [1.0, 2.0], "x")
    with pytest.raises(Failed, match="first difference at flat index 1"):
        close([1.0, 3.0], [1.0, 2.0], "x")
    with pytest.raises(Failed, match="expected a number"):
        close(None, 1.0, "x")
    equal((1, [2, "a"]), [1, (2, "a")], "tuples and lists alike")
    with pytest.raises(Failed, match="expected 2, got 1"):
        equal(1, 2, "x")
    with pytest.raises(ValueError, match="points"):
        grades("t", points=0)


def test_links_are_refused(tmp_path):
    (tmp_path / "alice").mkdir()
    real = tmp_path / "alice" / f"{ASSIGNMENT}.ipynb"
    real.write_text("{}")
    assert link_problem(tmp_path / "alice", real) is None
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / f"{ASSIGNMENT}.ipynb").symlink_to(real)
    (tmp_path / "carol").symlink_to(tmp_path / "alice", target_is_directory=True)
    (tmp_path / "dave").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.ipynb"
    outside.write_text("{}")
    (tmp_path / "dave" / f"{ASSIGNMENT}.ipynb").hardlink_to(outside)
    subs = {s.student_id: s for s in collect(tmp_path, ASSIGNMENT)[0]}
    assert subs["alice"].problem is None
    assert "symbolic link" in subs["bob"].problem and "symbolic link" in subs["carol"].problem
    assert "hard link" in subs["dave"].problem


def test_grades_csv_and_summary(tmp_path):
    rows = [
        {
            "student_id": "a",
            "assignment": ASSIGNMENT,
            "score": 3.0,
            "max_score": 3.0,
            "status": "graded",
            "message": 'said "hi", then left',
            "cells": {"q1": 1.0, "q2": 2.0},
        },
        {
            "student_id": "b",
            "assignment": ASSIGNMENT,
            "score": 1.0,
            "max_score": 3.0,
            "status": "graded",
            "message": "",
            "cells": {"q1": 0.0, "q2": 1.0},
        },
        {
            "student_id": "c",
            "assignment": ASSIGNMENT,
            "score": 0.0,
            "max_score": 3.0,
            "status": "missing",
            "message": "no notebook",
            "cells": {},
        },
    ]
    write_grades_csv(tmp_path / "grades.csv", rows)
    parsed = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert list(parsed[0]) == CSV_COLUMNS
    assert [(r["student_id"], r["score"], r["status"]) for r in parsed] == [
        ("a", "3", "graded"),
        ("b", "1", "graded"),
        ("c", "0", "missing"),
    ]
    assert parsed[0]["message"] == 'said "hi", then left'
    table = {e["question"]: e for e in question_table(rows, {"q1": 1.0, "q2": 2.0})}
    assert (table["q1"]["full"], table["q1"]["zero"]) == (1, 2)
    assert (table["q2"]["full"], table["q2"]["partial"], table["q2"]["zero"]) == (1, 1, 1)
    assert table["TOTAL"]["mean"] == pytest.approx(4 / 3)
    write_summary(tmp_path, rows, {"q1": 1.0, "q2": 2.0})
    assert (tmp_path / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| q2 | 2 | 1.00 | 1 | 1 | 1 |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "summary.csv").read_text().startswith("question,points")


@pytest.mark.parametrize(
    "argv",
    [
        ["grade"],
        ["grade", "99_nothing", ".", "--out", "x"],
        ["grade", ASSIGNMENT, "/no/such/folder", "--out", "x"],
        ["grade", ASSIGNMENT, ".", "--out", "x", "--jobs", "0"],
    ],
)
def test_cli_rejects_bad_arguments(argv, capsys):
    assert main(argv) == 2
    assert "optreg grade" in capsys.readouterr().err


def test_validate_missing_file_fails(tmp_path):
    assert main(["grade", "--validate", str(tmp_path / "none.ipynb")]) != 0
