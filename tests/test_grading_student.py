"""What a student runs: ``optreg grade --validate`` in plain text (one line per failing check,
a final count, no colour codes, no kernel chatter), from a light install (``optreg[student]``:
no TensorFlow, Keras, Jupyter Book in any process, the kernel's included)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

A = "05_regularization"
HEAVY = ("tensorflow", "keras", "jupyter_book", "sphinx", "myst_nb", "scipy", "ipywidgets")
POISON = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in HEAVY)


def light_validate(notebook: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``optreg grade --validate`` where importing any heavy package fails, in this process and
    in the kernel (a ``sitecustomize`` on PYTHONPATH runs in every Python started)."""
    (tmp_path / "poison").mkdir(exist_ok=True)
    (tmp_path / "poison" / "sitecustomize.py").write_text(POISON)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "poison")}
    code = "import sys\nfrom optreg.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "grade", "--validate", str(notebook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_the_poison_works(tmp_path):
    (tmp_path / "poison").mkdir()
    (tmp_path / "poison" / "sitecustomize.py").write_text(POISON)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "poison")}
    done = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "tensorflow" in done.stderr


def test_validate_plain_lines_and_count_without_tensorflow(tmp_path):
    label, edits, failing = cases.MUTANTS[A][0]
    bad = cases.write_notebook(cases.student_notebook(ROOT, A, edits), tmp_path / "bad.ipynb")
    done = light_validate(bad, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "\x1b" not in out  # no ANSI colour codes
    assert "TCP" not in out and "WARNING" not in out  # nothing of the kernel's own
    lines = done.stdout.strip().splitlines()
    tests = sum(
        c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade", False)
        for c in nbformat.read(bad, 4).cells
    )
    count = f"VALIDATION FAILED: {len(lines) - 1} problem(s), {tests} visible test cell(s)"
    assert lines[-1] == f"{count} in bad.ipynb"
    failed = {re.match(r"FAILED (\S+): ", line)[1] for line in lines[:-1]}
    assert failed and failed <= set(failing), (failed, failing)  # one line per failing cell
    assert all(len(line) < 400 for line in lines)


def test_validate_success_and_unanswered_written_answer(tmp_path):
    good = cases.write_notebook(cases.student_notebook(ROOT, A), tmp_path / "good.ipynb")
    done = light_validate(good, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Success! All ") and "\x1b" not in done.stdout
    assert done.stdout.count("\n") == 1
    released = ROOT / "exercises" / A / f"{A}.ipynb"
    stub = light_validate(released, tmp_path)
    assert stub.returncode == 1
    (written,) = cases.written_points(ROOT, A)
    assert f"NOT ANSWERED {written}: write your answer in this cell" in stub.stdout


def test_student_extra_is_light():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    light = project["dependencies"] + project["optional-dependencies"]["student"]
    names = {re.match(r"[A-Za-z0-9_.\-]+", r)[0].lower() for r in light}
    assert {"numpy", "matplotlib", "nbgrader", "notebook", "ipykernel"} <= names
    assert not names & {"tensorflow", "keras", "jupyter-book", "sphinxcontrib-bibtex"}
    assert "optreg[course]" in project["optional-dependencies"]["dev"]  # make setup: all
