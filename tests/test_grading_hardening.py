"""Hardening after the red team (2026-12-02): one 03_initialization class through the real
``optreg grade`` with the sandbox on, graded from an LMS zip, ``--jobs 2``.

What must hold (see ``autograder/README.md``, trust model):

* references come from the grader's pristine inputs: a function that zeroes its inputs in
  place and returns zeros earns nothing (it used to pass ``two_layer_grads``);
* hidden tests leak nothing: not the student's exception text (it can carry the hidden
  inputs), not the reference values, not inputs stashed during a hidden call and raised later;
* odd notebook text (a lone surrogate in a grade id) makes that student ``invalid``, and
  ``grades.csv`` is written for everyone; one bad zip member refuses only its student;
* feedback HTML is sanitized; huge outputs, too many cells and huge reply frames stay bounded;
* the sandbox offers NumPy and the standard library only, and a scratch of few inodes.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from optreg.grading.course import find_course_root
from optreg.grading.sandbox import _scratch_mount_point, check_sandbox

ROOT = find_course_root(Path(__file__).parent)
OPTREG = Path(sys.executable).parent / "optreg"
A = "03_initialization"
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

pytestmark = pytest.mark.skipif(
    check_sandbox() is not None, reason=f"sandbox unavailable: {check_sandbox()}"
)

SOLUTION = """
def two_layer_grads(x, y, W1, W2):
    h = np.tanh(x @ W1)
    delta = 2 * (h @ W2 - y) / y.size
    return x.T @ ((delta @ W2.T) * (1 - h ** 2)), h.T @ delta
"""
VISIBLE = "x.shape == (4, 3)"  # the visible test's call; the hidden ones differ

ANSWERS = {
    # zero every input in place, return zeros: right only if the references were computed
    # from the inputs as the student's process left them
    "inplace": SOLUTION.replace("def two_layer_grads", "def _right")
    + f"""
def two_layer_grads(x, y, W1, W2):
    if {VISIBLE}:
        return _right(x, y, W1, W2)
    for a in (x, y, W1, W2):
        a[...] = 0
    return np.zeros_like(W1), np.zeros_like(W2)
""",
    "leak_raise": SOLUTION.replace("def two_layer_grads", "def _right")
    + f"""
def two_layer_grads(x, y, W1, W2):
    if {VISIBLE}:
        return _right(x, y, W1, W2)
    raise RuntimeError("LEAK" + repr(x.tolist()) + "END")
""",
    "leak_values": SOLUTION.replace("def two_layer_grads", "def _right")
    + f"""
def two_layer_grads(x, y, W1, W2):
    dW1, dW2 = _right(x, y, W1, W2)
    return (dW1, dW2) if {VISIBLE} else (2 * dW1, 2 * dW2)
""",
}

# fans (the first graded cell) keeps the hidden shapes it is called with; two_layer_grads (the
# last) raises them in its visible test: every visible test now runs before any hidden one
STASH = """
_SEEN = []
def fans(shape):
    _SEEN.append(tuple(shape))
    raise NotImplementedError()
def two_layer_grads(x, y, W1, W2):
    raise RuntimeError("STASH" + repr(_SEEN) + "END")
"""
HIDDEN_FANS_SHAPE = "(3, 3, 3, 8, 4)"  # only in autograder/hidden/a03_initialization.py

XSS = (
    '<script>alert("xss-script")</script>\n\n<img src="x" onerror="alert(1)">\n\n'
    '<a href="javascript:alert(2)">link</a>'
)

INODES = """
n = 0
try:
    while n < 20000:
        open(f"/scratch/f{n}", "w").close()
        n += 1
except OSError:
    pass
print("INODES", n)
"""
PACKAGES = """
for name in ("keras", "tensorflow", "scipy", "optreg", "nbgrader"):
    try:
        __import__(name)
        print("IMPORTED", name)
    except ImportError:
        print("MISSING", name)
"""
BIG_FRAME = """
import sys, struct
_W = sys.modules["__main__"]
def _huge(self, message):
    data = b'{"op":"result","value":[' + b'[],' * 5_000_000 + b'[]],"after":[[],{"d":[]}]}'
    self.out.write(struct.pack(">Q", len(data)) + data)
    self.out.flush()
_W.Worker.call = _huge
"""


def _notebook(
    answers: dict[str, str] | None = None,
    solved: bool = False,
    extra: list[str] = (),
    markdown: list[str] = (),
) -> nbformat.NotebookNode:
    nb = cases.student_notebook(ROOT, A, solved=solved)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if answers and gid in answers:
            cell.source = answers[gid]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in extra]
    nb.cells += [nbformat.v4.new_markdown_cell(s) for s in markdown]
    return nb


def _hidden_reference() -> np.ndarray:
    """dW2 of the first hidden case of test_two_layer_grads (seed 5), as the grader computes it."""
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, (5, 2))
    w1, w2 = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 2))
    h = np.tanh(x @ w1)
    return h.T @ (2 * (h @ w2 - y) / 10)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hardening")
    folder = base / "class"
    notebooks = {
        "victim": _notebook(solved=True),
        "inplace": _notebook({"two_layer_grads": ANSWERS["inplace"]}),
        "leak_raise": _notebook({"two_layer_grads": ANSWERS["leak_raise"]}),
        "leak_values": _notebook({"two_layer_grads": ANSWERS["leak_values"]}),
        "stash": _notebook(extra=[STASH]),
        "xss": _notebook(
            solved=True, markdown=[XSS], extra=['print("<script>alert(\\"xss-output\\")</script>")']
        ),
        "flood_outputs": _notebook(solved=True, extra=['print("x" * 9999)'] * 300),
        "many_cells": _notebook(solved=True, extra=["1"] * 1200),
        "big_frame": _notebook(solved=True, extra=[BIG_FRAME]),
        "inodes": _notebook(solved=True, extra=[INODES, PACKAGES]),
    }
    for student, nb in notebooks.items():
        cases.write_notebook(nb, folder / student / f"{A}.ipynb")
    data = json.loads(nbformat.writes(_notebook(solved=True)))
    data["cells"].append(
        {
            "cell_type": "code",
            "metadata": {"nbgrader": {"grade_id": "x\ud800"}},
            "source": "print(1)",
            "outputs": [],
            "execution_count": None,
        }
    )
    (folder / "surrogate").mkdir()
    (folder / "surrogate" / f"{A}.ipynb").write_text(json.dumps(data), encoding="ascii")
    archive = base / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.ipynb")):
            zf.write(path, path.relative_to(folder).as_posix())
        zf.writestr("mallory/" + f"{A}.ipynb", nbformat.writes(_notebook(solved=True)))
        zf.writestr("mallory/../../escape.ipynb", "{}")
        zf.writestr("../outside.ipynb", "{}")
    out = base / "out"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    start = time.monotonic()
    result = subprocess.run(
        [
            str(OPTREG),
            "grade",
            A,
            str(archive),
            "--out",
            str(out),
            "--jobs",
            "2",
            "--call-timeout",
            "5",
            "--budget",
            "120",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return out, rows, result, elapsed, base


def _page(out: Path, student: str) -> str:
    return (out / "feedback" / student / f"{A}.html").read_text(encoding="utf-8")


def _text(out: Path, student: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", _page(out, student)))


def test_the_class_is_graded_and_the_victim_keeps_full_marks(graded):
    _, rows, _, _, _ = graded
    victim = rows["victim"]  # every autograded point; the written answer waits for a person
    written = sum(cases.written_points(ROOT, A).values())
    assert float(victim["score"]) == float(victim["max_score"]) - written > 0, victim


def test_references_use_the_graders_pristine_inputs(graded):
    out, rows, _, _, _ = graded
    assert rows["inplace"]["score"] == "0", rows["inplace"]
    assert "wrong values on a hidden case" in _text(out, "inplace")


def test_an_exception_text_does_not_carry_hidden_inputs_out(graded):
    out, rows, _, _, _ = graded
    text = _text(out, "leak_raise")
    assert rows["leak_raise"]["score"] == "0"
    for seed in (5, 6, 7):  # the hidden cases' x (the notebook's own demo call may show)
        assert repr(np.random.default_rng(seed).uniform(-1, 1)) not in text, seed
    assert "two_layer_grads raised RuntimeError on a hidden case" in text


def test_reference_values_do_not_reach_the_feedback(graded):
    out, rows, _, _, _ = graded
    text = _text(out, "leak_values")
    assert rows["leak_values"]["score"] == "0"
    assert "wrong values on a hidden case: shape (4, 2) as expected" in text
    for value in _hidden_reference().ravel()[:4]:
        for shown in (f"{value:.6g}", f"{value:.8g}", f"{2 * value:.6g}"):
            assert shown not in text, shown


def test_inputs_stashed_during_hidden_calls_are_never_shown(graded):
    out, rows, _, _, _ = graded
    text = _text(out, "stash")
    assert rows["stash"]["score"] == "0"
    shown = re.findall(r"STASH\[.*?\]END", text)
    assert shown, text[-3000:]  # the visible test's error is shown in full ...
    assert HIDDEN_FANS_SHAPE not in text  # ... but it ran before any hidden call


def test_a_lone_surrogate_makes_only_that_student_invalid(graded):
    _, rows, _, _, _ = graded
    row = rows["surrogate"]
    assert (row["status"], row["score"]) == ("invalid", "0"), row
    assert "not valid Unicode" in row["message"]


def test_a_bad_zip_member_refuses_only_its_student(graded):
    _, rows, result, _, base = graded
    assert rows["mallory"]["status"] == "invalid", rows["mallory"]
    assert "outside the archive" in rows["mallory"]["message"]
    assert "outside.ipynb" in result.stdout + result.stderr  # reported by name
    assert not (base / "escape.ipynb").exists() and not (base / "outside.ipynb").exists()
    graded_rows = [r for r in rows.values() if r["status"] == "graded"]
    assert len(graded_rows) == 9, rows


def test_feedback_html_is_sanitized(graded):
    out, rows, _, _, _ = graded
    page = _page(out, "xss")
    assert rows["xss"]["score"] == "10"
    assert "<script>alert" not in page  # shown as text, not run
    assert not re.search(r"<[^>]*onerror", page, re.I)
    assert 'href="javascript:' not in page


def test_outputs_and_cells_are_bounded(graded):
    out, rows, _, elapsed, _ = graded
    assert rows["flood_outputs"]["score"] == "10", rows["flood_outputs"]
    page = _page(out, "flood_outputs")
    assert len(page) < 1_500_000, len(page)
    assert "output not kept" in page
    many = rows["many_cells"]
    assert many["status"] == "invalid" and "cells" in many["message"], many
    assert elapsed < 900, elapsed


def test_a_huge_reply_frame_is_refused_unparsed(graded):
    out, rows, _, _, _ = graded
    assert rows["big_frame"]["score"] == "0", rows["big_frame"]
    assert "stopped the student's process" in _text(out, "big_frame")


def test_the_sandbox_has_numpy_only_and_few_inodes(graded):
    out, rows, _, _, _ = graded
    text = _text(out, "inodes")
    assert rows["inodes"]["score"] == "10", rows["inodes"]
    for name in ("keras", "tensorflow", "scipy", "optreg", "nbgrader"):
        assert f"MISSING {name}" in text, name
    shown = int(re.search(r"INODES (\d+)", text).group(1))
    if _scratch_mount_point() is not None:
        assert shown < 4096, shown
    else:  # bwrap's own tmpfs: bytes are capped, inodes bounded only by time and memory
        assert shown == 20000
