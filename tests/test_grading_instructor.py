"""The instructor's term, as an nbgrader course runs it: LMS zips in (Canvas and Moodle, built
here exactly as the LMS names them), ``optreg grade`` into the course's nbgrader gradebook,
stock ``nbgrader export`` and the formgrader's API seeing every student, a manual score given
as the formgrader gives it surviving a regrade, the LMS's grade-import CSVs out, regrades that
are explicit and never mix two versions of the tests."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

A = "05_regularization"
OPTREG = [sys.executable, "-m", "optreg.cli"]
NBGRADER = str(Path(sys.executable).parent / "nbgrader")


def course_copy(base: Path) -> Path:
    """A course root of its own (the tests change its hidden tests): the config, the source
    notebook and the hidden tests of ``A``."""
    root = base / "course"
    (root / "autograder" / "hidden").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", root / "autograder")
    shutil.copy(ROOT / "autograder" / "hidden" / f"a{A}.py", root / "autograder" / "hidden")
    shutil.copytree(ROOT / "solutions" / A, root / "solutions" / A)
    return root


def notebook(solved: bool = True, edits=()) -> str:
    return nbformat.writes(cases.student_notebook(ROOT, A, edits, solved=solved))


def member(zf: zipfile.ZipFile, name: str, text: str, when: tuple) -> None:
    zf.writestr(zipfile.ZipInfo(name, date_time=when), text)


def grade(root: Path, source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*OPTREG, "grade", A, str(source), "--out", str(out), "--course-root", str(root)]
        + ["--course-dir", str(root / "autograder" / "workspace"), "--jobs", "2", *extra],
        capture_output=True,
        text=True,
        timeout=900,
    )


def rows_of(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def written_cell() -> tuple[str, float]:
    (gid, points), *_ = cases.written_points(ROOT, A).items()
    return gid, float(points)


BEFORE, AFTER = (2026, 3, 1, 10, 0, 0), (2026, 3, 3, 9, 30, 0)
DUE = "2026-03-02T00:00:00Z"


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    """A Canvas "download submissions" zip: two students both called Jane Doe (user ids 101,
    102), and Bob Smith (103), late, who submitted a stub and then resubmitted (``-1``)."""
    base = tmp_path_factory.mktemp("canvas")
    root = course_copy(base)
    archive = base / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        member(zf, f"doejane_101_9001_{A}.ipynb", notebook(), BEFORE)
        member(zf, f"doejane_102_9002_{A}.ipynb", notebook(solved=False), BEFORE)
        member(zf, f"smithbob_late_103_9003_{A}.ipynb", notebook(solved=False), AFTER)
        member(zf, f"smithbob_late_103_9010_{A}-1.ipynb", notebook(), AFTER)
    out = base / "out"
    done = grade(root, archive, out, "--due", DUE, "--late-penalty", "zero", "--export", "canvas")
    assert done.returncode == 0, done.stderr[-3000:]
    return root, archive, out, done


def test_canvas_ids_names_late_and_resubmissions(canvas):
    root, _, out, _ = canvas
    rows = rows_of(out / "grades.csv")
    assert sorted(rows) == ["101", "102", "103"]  # the same name stays two students
    assert rows["101"]["name"] == rows["102"]["name"] == "doejane"
    full = float(rows["101"]["auto_score"])
    assert full > 0 and float(rows["102"]["auto_score"]) == 0
    # Bob's resubmission (-1, the solved one) counts, and it is late: nbgrader's 'zero' penalty
    assert float(rows["103"]["auto_score"]) == full
    assert rows["103"]["late"] == "yes" and rows["101"]["late"] == "no"
    assert float(rows["103"]["late_penalty"]) == full and float(rows["103"]["score"]) == 0
    assert "9003" in rows["103"]["message"] and "resubmitted" in rows["103"]["message"]
    assert rows["103"]["submitted_at"].startswith("2026-03-03 09:30:00")


def test_stock_nbgrader_export_lists_every_graded_student(canvas):
    root, _, out, _ = canvas
    db = root / "autograder" / "workspace" / "gradebook.db"
    target = out.parent / "nbgrader_export.csv"
    done = subprocess.run(
        [NBGRADER, "export", f"--CourseDirectory.db_url=sqlite:///{db}", "--to", str(target)],
        cwd=root / "autograder",  # the documented place: the folder of nbgrader_config.py
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    exported = {r["student_id"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
    ours = rows_of(out / "grades.csv")
    assert sorted(exported) == sorted(ours)
    for sid, row in ours.items():
        assert float(exported[sid]["score"]) == float(row["score"])
        assert float(exported[sid]["max_score"]) == float(row["max_score"])
        assert float(exported[sid]["late_submission_penalty"]) == float(row["late_penalty"])
    assert exported["103"]["timestamp"].startswith("2026-03-03 09:30:00")
    with sqlite3.connect(db) as con:  # written by two workers' results, one writer: intact
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert exported["103"]["duedate"].startswith("2026-03-02 00:00:00")


def test_formgrader_sees_each_submission_and_the_written_answer(canvas):
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from optreg.grading.gradebook import Course

    root, _, _, _ = canvas
    course = Course.at(root, root / "autograder" / "workspace")
    api = NbGraderAPI(coursedir=CourseDirectory(config=course.config()), config=course.config())
    submissions = {s["student"]: s for s in api.get_submissions(A)}
    assert sorted(submissions) == ["101", "102", "103"]
    assert all(s["autograded"] for s in submissions.values())  # the formgrader's "autograded"
    gid, _ = written_cell()
    notebooks = {s["student"]: s for s in api.get_notebook_submissions(A, A)}
    assert notebooks["101"]["needs_manual_grade"]  # the written answer waits for a human
    with course.gradebook() as gb:
        cell = gb.find_grade(gid, A, A, "101")
        assert cell.auto_score is None and cell.needs_manual_grade
        assert cell.max_score > 0
    # the notebook the formgrader renders: the autograded copy, with the grader's verdicts
    autograded = course.student_dir("autograded", "101", A) / f"{A}.ipynb"
    cells = nbformat.read(autograded, 4).cells
    assert any(c.metadata.get("nbgrader", {}).get("grade_id") == gid for c in cells)


@pytest.fixture(scope="module")
def formgrader(canvas):
    """The stock formgrader (nbgrader's Jupyter server extension), started from the
    documented place, ``autograder/``, as an instructor would start it; yields a function
    that calls it as the browser does."""
    root = canvas[0]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "OPTREG_COURSE_DIR": str(root / "autograder" / "workspace")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "server", f"--port={port}"]
        + ["--no-browser", "--allow-root", "--IdentityProvider.token=t0ken", "--ip=127.0.0.1"],
        cwd=root / "autograder",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def call(path: str, data: dict | None = None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/formgrader/{path}",
            data=None if data is None else json.dumps(data).encode(),
            method="GET" if data is None else "PUT",
            headers={"Authorization": "token t0ken", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            text = reply.read().decode()
        return json.loads(text) if path.startswith("api/") else text

    deadline = time.monotonic() + 120
    while True:
        try:
            call("api/status")
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(1)
    yield call
    server.terminate()
    server.wait(timeout=30)


def test_formgrader_server_shows_the_submissions(formgrader):
    gid, points = written_cell()
    submissions = {s["student"]: s for s in formgrader(f"api/submissions/{A}")}
    assert sorted(submissions) == ["101", "102", "103"]
    assert all(s["autograded"] and s["submitted"] for s in submissions.values())
    assert submissions["101"]["max_written_score"] == points
    assert submissions["101"]["needs_manual_grade"]
    notebooks = {s["student"]: s for s in formgrader(f"api/submitted_notebooks/{A}/{A}")}
    page = formgrader(f"submissions/{notebooks['101']['id']}/")  # the grading page
    assert gid in page and "test_" in page  # the written answer and the autograded cells


def test_manual_score_counts_and_survives_a_regrade(canvas, formgrader):
    from optreg.grading.gradebook import Course

    root, archive, out, _ = canvas
    course = Course.at(root, root / "autograder" / "workspace")
    gid, points = written_cell()
    before = rows_of(out / "grades.csv")
    notebooks = {s["student"]: s for s in formgrader(f"api/submitted_notebooks/{A}/{A}")}
    (cell,) = [
        g
        for g in formgrader(f"api/grades?submission_id={notebooks['101']['id']}")
        if g["name"] == gid
    ]
    saved = formgrader(f"api/grade/{cell['id']}", {"manual_score": points})  # "Save" in the UI
    assert saved["manual_score"] == points and not saved["needs_manual_grade"]
    again = grade(root, archive, out, "--due", DUE, "--late-penalty", "zero", "--export", "canvas")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming: 3 students already graded" in again.stdout  # nothing changed: none graded
    rows = rows_of(out / "grades.csv")
    page = (out / "feedback" / "101" / f"{A}.html").read_text()  # remade: it shows the total
    assert f"Score: {float(rows['101']['score'])} / {float(rows['101']['max_score'])}" in page
    assert float(rows["101"]["score"]) == float(before["101"]["score"]) + points
    assert rows["101"]["manual_score"] == f"{points:g}"
    canvas_rows = list(csv.reader(io.StringIO((out / "canvas_grades.csv").read_text())))
    assert canvas_rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert canvas_rows[1][0].strip() == "Points Possible"
    assert canvas_rows[1][5] == before["101"]["max_score"]
    assert {r[1]: r[5] for r in canvas_rows[2:]} == {k: r["score"] for k, r in rows.items()}
    regraded = grade(root, archive, out, "--due", DUE, "--late-penalty", "zero", "--regrade", "101")
    assert regraded.returncode == 0, regraded.stderr[-2000:]
    assert "[1/1] 101:" in regraded.stdout
    assert rows_of(out / "grades.csv")["101"]["score"] == rows["101"]["score"]
    with course.gradebook() as gb:
        assert gb.find_grade(gid, A, A, "101").manual_score == points


def test_unknown_regrade_id_changes_nothing(canvas):
    root, archive, out, _ = canvas
    before = (out / "grades.csv").read_bytes()
    refused = grade(root, archive, out, "--regrade", "999")
    assert refused.returncode == 1
    assert "--regrade: no submission from 999" in refused.stderr and "101" in refused.stderr
    assert (out / "grades.csv").read_bytes() == before


def test_moodle_zip_folders_with_spaces_and_flat_files(tmp_path):
    root = course_copy(tmp_path)
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        member(zf, f"Jane Doe_201_assignsubmission_file_/{A}.ipynb", notebook(), BEFORE)
        member(zf, f"Jane Doe_202_assignsubmission_file_/{A}.ipynb", notebook(False), BEFORE)
        member(zf, f"Ana María López_203_assignsubmission_file_{A}.ipynb", notebook(), AFTER)
    out = tmp_path / "out"
    done = grade(root, archive, out, "--export", "moodle", "--due", DUE)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = rows_of(out / "grades.csv")
    assert sorted(rows) == ["201", "202", "203"]
    # Moodle's names carry no late flag: the zip entry's time against the due date decides
    assert rows["203"]["late"] == "yes" and rows["201"]["late"] == "no"
    assert rows["203"]["late_penalty"] == "0"  # the configured method: none
    assert rows["201"]["name"] == rows["202"]["name"] == "Jane Doe"
    assert rows["203"]["name"] == "Ana María López"
    sheet = list(csv.reader(io.StringIO((out / "moodle_grades.csv").read_text(encoding="utf-8"))))
    assert sheet[0] == [
        "Identifier",
        "Full name",
        "Email address",
        "Status",
        "Grade",
        "Maximum grade",
    ]
    by_id = {r[0]: r for r in sheet[1:]}
    assert sorted(by_id) == ["Participant 201", "Participant 202", "Participant 203"]
    for sid, row in rows.items():
        assert float(by_id[f"Participant {sid}"][4]) == float(row["score"])
        assert float(by_id[f"Participant {sid}"][5]) == float(row["max_score"])
    assert by_id["Participant 203"][1] == "Ana María López"


def test_unrecognised_entry_is_named_and_nothing_is_graded(tmp_path):
    root = course_copy(tmp_path)
    archive = tmp_path / "odd.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        member(zf, f"Jane Doe_201_assignsubmission_file_/{A}.ipynb", notebook(), BEFORE)
        member(zf, "notes for the TA.txt", "hello", BEFORE)
    out = tmp_path / "out"
    done = grade(root, archive, out)
    assert done.returncode == 1
    assert "'notes for the TA.txt'" in done.stderr and "assignsubmission_file_" in done.stderr
    assert not (out / "grades.csv").exists()
    assert not (root / "autograder" / "workspace" / "gradebook.db").exists()


def test_changed_tests_are_not_mixed_and_late_notebooks_are_graded(tmp_path):
    root = course_copy(tmp_path)
    folder = tmp_path / "class"
    cases.write_notebook(cases.student_notebook(ROOT, A), folder / "ann" / f"{A}.ipynb")
    (folder / "ben").mkdir()  # nothing submitted yet
    out = tmp_path / "out"
    first = grade(root, folder, out)
    assert first.returncode == 0, first.stderr[-2000:]
    assert rows_of(out / "grades.csv")["ben"]["status"] == "missing"
    # ben's notebook arrives late: the next run grades ben, and only ben
    cases.write_notebook(cases.student_notebook(ROOT, A), folder / "ben" / f"{A}.ipynb")
    second = grade(root, folder, out)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "[1/1] ben:" in second.stdout
    rows = rows_of(out / "grades.csv")
    assert rows["ben"]["status"] == "graded" and rows["ben"]["score"] == rows["ann"]["score"]
    # a hidden test changes: the next run refuses to mix the two versions of the tests
    hidden = root / "autograder" / "hidden" / f"a{A}.py"
    hidden.write_text(hidden.read_text() + "\n# tightened tolerance\n")
    before = (out / "grades.csv").read_bytes()
    refused = grade(root, folder, out)
    assert refused.returncode == 1
    assert "changed since 2 student(s) were graded" in refused.stderr
    assert "--regrade all" in refused.stderr
    assert (out / "grades.csv").read_bytes() == before
    regraded = grade(root, folder, out, "--regrade", "all")
    assert regraded.returncode == 0, regraded.stderr[-2000:]
    assert "[2/2]" in regraded.stdout
    after = rows_of(out / "grades.csv")
    assert {r["tests_fingerprint"] for r in after.values()} != {
        r["tests_fingerprint"] for r in rows.values()
    }
    assert len({r["tests_fingerprint"] for r in after.values()}) == 1


def test_stock_commands_work_from_the_config_folder(tmp_path):
    """``cd autograder && nbgrader ...``: nbgrader 0.9 ignores ``--config FILE`` ("Unrecognized
    alias") but reads ``nbgrader_config.py`` from the folder it runs in."""
    root = course_copy(tmp_path)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OPTREG_COURSE_DIR": str(root / "autograder" / "workspace"),  # the copy's own
    }
    here = root / "autograder"

    def nbgrader(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [NBGRADER, *args], cwd=here, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Unrecognized" not in done.stderr and "No nbgrader_config.py" not in done.stderr
        return done

    nbgrader("generate_assignment", A, "--force")
    released = root / "exercises" / A / f"{A}.ipynb"
    assert released.is_file()
    hidden_source = (root / "autograder" / "hidden" / f"a{A}.py").read_text()
    submitted = root / "autograder" / "workspace" / "submitted" / "carol" / A
    cases.write_notebook(cases.student_notebook(ROOT, A), submitted / f"{A}.ipynb")
    nbgrader("autograde", A, "--student", "carol", "--force")
    from nbgrader.api import Gradebook

    db = root / "autograder" / "workspace" / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:  # graded by the sandboxed grader, hidden tests too
        sub = gb.find_submission(A, "carol")
        auto = sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades)
        most = sub.max_score
    _, written = written_cell()
    assert auto == most - written
    autograded = root / "autograder" / "workspace" / "autograded" / "carol" / A / f"{A}.ipynb"
    verdicts = [  # the sandboxed grader's verdicts, not a kernel's outputs (nbgrader's Execute)
        o.get("text", "")
        for c in nbformat.read(autograded, 4).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
        for o in c.outputs
    ]
    assert verdicts and all("passed, every check of this cell" in v for v in verdicts)
    nbgrader("generate_feedback", A, "--student", "carol", "--force")
    feedback = root / "autograder" / "workspace" / "feedback" / "carol" / A / f"{A}.html"
    page = feedback.read_text()
    assert "Score" in page
    for line in hidden_source.splitlines():  # no line of the hidden tests is in the feedback
        line = line.strip()
        if len(line) > 30 and not line.startswith(("#", '"""', "from ", "import ")):
            assert line not in page, line
    nbgrader("export", "--to", str(tmp_path / "export.csv"))
    assert "carol" in (tmp_path / "export.csv").read_text()


def test_output_for_students_reveals_no_solution(tmp_path):
    """OUT holds the students' feedback folders and the instructor's files, never the source
    notebook, a gradebook, or a line of the solutions or hidden tests."""
    root = course_copy(tmp_path)
    folder = tmp_path / "class"
    cases.write_notebook(
        cases.student_notebook(ROOT, A, solved=False), folder / "st" / f"{A}.ipynb"
    )
    (folder / "gone").mkdir()
    out = tmp_path / "out"
    done = grade(root, folder, out)
    assert done.returncode == 0, done.stderr[-2000:]
    source = nbformat.read(root / "solutions" / A / f"{A}.ipynb", 4)
    stub = cases.student_notebook(ROOT, A, solved=False)
    release = "\n".join(cell.source for cell in stub.cells)  # what every student sees
    secret = [
        line.strip()
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
        for line in cell.source.splitlines()
        if len(line.strip()) > 25 and line.strip() not in release
    ]
    secret += [
        line.strip()
        for line in (root / "autograder" / "hidden" / f"a{A}.py").read_text().splitlines()
        if len(line.strip()) > 30 and not line.strip().startswith(("#", "from ", "import "))
    ]
    assert len(secret) > 10
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".db" or p.name == "source.ipynb"]
    for path in files:
        text = html.unescape(path.read_text(errors="replace"))
        leaked = [line for line in secret if line in text]
        assert not leaked, (path, leaked[:3])
    feedback = sorted(str(p.relative_to(out / "feedback")) for p in (out / "feedback").rglob("*"))
    assert feedback == ["gone", f"gone/{A}.html", "st", f"st/{A}.html"]
    assert "FOR THE STUDENTS" in (out / "README.txt").read_text()


def test_exchange_collect_then_grade_the_submitted_folder(tmp_path):
    """nbgrader's exchange: release_assignment, a student's fetch_assignment and submit,
    collect, then ``optreg grade`` on the course's own ``submitted/`` (its time kept, its
    files left as nbgrader wrote them)."""
    root = course_copy(tmp_path)
    shutil.copytree(ROOT / "exercises" / A, root / "exercises" / A)
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)
    workspace = root / "autograder" / "workspace"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OPTREG_COURSE_DIR": str(workspace),
    }

    def nbgrader(cwd: Path, *args: str) -> None:
        done = subprocess.run(
            [NBGRADER, *args, f"--Exchange.root={exchange}"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]

    nbgrader(root / "autograder", "release_assignment", A)
    student = tmp_path / "student"
    student.mkdir()
    nbgrader(student, "fetch_assignment", A, "--course", "optreg")
    cases.write_notebook(cases.student_notebook(ROOT, A), student / A / f"{A}.ipynb")
    nbgrader(student, "submit", A, "--course", "optreg")
    nbgrader(root / "autograder", "collect", A)
    submitted = workspace / "submitted"
    (who,) = [p.name for p in submitted.iterdir()]
    folder = submitted / who / A
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert "timestamp.txt" in before
    done = grade(root, submitted, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    row = rows_of(tmp_path / "out" / "grades.csv")[who]
    assert row["status"] == "graded" and float(row["auto_score"]) > 0
    assert row["submitted_at"] == before["timestamp.txt"].decode().strip()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # untouched
    again = grade(root, submitted, tmp_path / "out")
    assert "resuming: 1 students already graded" in again.stdout
