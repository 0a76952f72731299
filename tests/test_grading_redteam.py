"""Red-team regressions: hostile submissions graded by the real ``optreg grade`` in the sandbox.

Each submission starts from the released notebook (``exercises/NN/NN.ipynb``, stubs unchanged)
and adds attack code in answer cells or extra cells, as a student could. The assertions state
what the work deserves: blank + attack scores 0, the correct "victim" keeps its full score, the
class's ``grades.csv`` is written, and nothing of the hidden tests reaches the feedback.

Three graded classes (02_schedules, 04_normalization, 06_augmentation), ``--jobs 2``.
Attacks found by the red team on 2026-12-02 (see /work/status/redteam.md):

* in place: a function that zeroes its own inputs is copied back into the grader's arguments
  (``student.write_back``), and checks that compute the expected value from those arguments
  after the call then agree with an all-zero answer (04: 8 of 12 points for no work);
* ``_shares``: the worker's self-reported "shares memory with an input" flag is believed;
* a lone surrogate in a student cell's ``nbgrader.grade_id`` reaches ``grades.csv``'s message,
  whose UTF-8 write fails: no ``grades.csv`` for anyone, on every re-run;
* hidden inputs leak into the feedback through the text of an exception the student raises;
* Keras (a deep learning library the assignment forbids) is importable in the sandbox.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from optreg.grading.sandbox import check_sandbox

ROOT = Path(__file__).resolve().parents[1]
OPTREG = Path(sys.executable).parent / "optreg"

pytestmark = pytest.mark.skipif(
    check_sandbox() is not None, reason=f"sandbox unavailable: {check_sandbox()}"
)


# -- building submissions ---------------------------------------------------------------------
def _release(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def _submission(
    assignment: str, answers: dict | None = None, extra: list[tuple[int, str]] | None = None
) -> nbformat.NotebookNode:
    """The released notebook with some answer cells replaced and extra code cells inserted."""
    nb = _release(assignment)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if answers and gid in answers:
            cell.source = answers[gid]
    for index, source in sorted(extra or [], key=lambda e: -e[0]):
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def _write(nb, folder: Path, student: str, assignment: str) -> Path:
    (folder / student).mkdir(parents=True, exist_ok=True)
    path = folder / student / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    return path


def _grade(assignment: str, folder: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [str(OPTREG), "grade", assignment, str(folder), "--out", str(out), "--jobs", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )


def _rows(out: Path) -> dict[str, dict]:
    """grades.csv's rows by student; without grades.csv (see the surrogate attack), the
    per-student state files, so that each attack is judged on its own."""
    if (out / "grades.csv").is_file():
        with open(out / "grades.csv", encoding="utf-8") as fh:
            return {r["student_id"]: r for r in csv.DictReader(fh)}
    rows = {}
    for state in (out / ".grading").glob("*/state/*.json"):
        row = json.loads(state.read_text())
        rows[row["student_id"]] = {**row, "score": f"{row['score']:g}"}
    return rows


def _feedback_text(out: Path, student: str, assignment: str) -> str:
    page = (out / "feedback" / student / f"{assignment}.html").read_text(encoding="utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# -- 02_schedules: a correct victim, a blank + attack class -----------------------------------
SOL02 = {
    "power_exponential": """
def power_schedule(step, lr0, s, c=1.0):
    return lr0 / (1 + step / s) ** c


def exponential_schedule(step, lr0, s):
    return lr0 * 0.1 ** (step / s)
""",
    "piecewise_constant": """
def piecewise_constant(step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if step <= boundary:
            return value
    return values[-1]
""",
    "one_cycle": """
def one_cycle(step, total_steps, max_learning_rate, initial_learning_rate=None,
              final_learning_rate=None):
    h = (total_steps - round(total_steps / 10)) // 2
    start = max_learning_rate / 10 if initial_learning_rate is None else initial_learning_rate
    last = start / 1000 if final_learning_rate is None else final_learning_rate
    if step >= total_steps:
        return last
    if step >= 2 * h:
        return start + (last - start) * (step - 2 * h) / (total_steps - 2 * h)
    if step >= h:
        return max_learning_rate + (start - max_learning_rate) * (step - h) / h
    return start + (max_learning_rate - start) * step / h
""",
    "plateau_step": """
def plateau_step(state, val_loss, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                 min_lr=0.0):
    new = dict(state)
    if new["cooldown_counter"] > 0:
        new["cooldown_counter"] -= 1
        new["wait"] = 0
    if val_loss < new["best"] - min_delta:
        new["best"], new["wait"] = val_loss, 0
    elif new["cooldown_counter"] == 0:
        new["wait"] += 1
        if new["wait"] >= patience and new["lr"] > min_lr:
            new["lr"] = max(new["lr"] * factor, min_lr)
            new["cooldown_counter"], new["wait"] = cooldown, 0
    return new
""",
    "lr_range_suggestion": """
import numpy as _np
def lr_range_suggestion(lrs, losses, smoothing=0.98):
    weights, smoothed = 0.0, []
    running = 0.0
    for loss in losses:
        running = smoothing * running + (1 - smoothing) * float(loss)
        weights = smoothing * weights + (1 - smoothing)
        value = running / weights
        smoothed.append(value if _np.isfinite(value) else _np.inf)
    return float(lrs[int(_np.argmin(smoothed))]) / 10
""",
}

LEAK = """
def power_schedule(*args, **kwargs):
    raise RuntimeError("LEAK" + repr(args) + repr(sorted(kwargs.items())) + "END")
"""
# the visible test's own calls (the student sees those anyway)
VISIBLE_LEAKS = {
    "LEAK(0, 0.01, 100)[]END",
    "LEAK(100, 0.01, 100)[]END",
    "LEAK(300, 0.01, 100)[('c', 2)]END",
}

WORKER_PATCH = """
import sys
_W = sys.modules["__main__"]
def _fake_call(self, message):
    _W.send(self.out, {"op": "result", "value": 0.01, "after": _W.encode([[], {}]),
                       "shares": False, "params": [], "output": "passed"})
_W.Worker.call = _fake_call
"""

FORGED_FRAMES = """
import sys, gc, json, struct, os
_W = sys.modules["__main__"]
_w = [o for o in gc.get_objects() if isinstance(o, _W.Worker)][0]
def _frame(m):
    d = json.dumps(m).encode()
    return struct.pack(">Q", len(d)) + d
os.write(_w.out.fileno(), _frame({"op": "result", "value": 0.01, "after": [[], {"d": []}]}) * 5)
"""

LYING_VALUES = """
import numpy as np
class _Liar(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
class _Arr(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
class _D(dict):
    def __getitem__(self, key): return 0.1
def power_schedule(step, lr0, s, c=1.0): return _Liar(0.0)
def exponential_schedule(step, lr0, s): return np.array([0.0]).view(_Arr)
def piecewise_constant(step, boundaries, values): return float("nan")
def one_cycle(step, total_steps, max_lr, start_lr=None, last_lr=None): return str(max_lr / 10)
def plateau_step(state, val_loss, factor=0.5, patience=2, min_delta=0.0, min_lr=0.0):
    return _D(state)
def lr_range_suggestion(lrs, losses): return [1e-3]
"""

FORK_BOMB = """
import os, threading
for _ in range(200):
    try:
        os.fork()
    except OSError:
        pass
for _ in range(50):
    try:
        threading.Thread(target=lambda: None).start()
    except RuntimeError:
        pass
"""

KERAS = """
import os, sys, types, importlib.abc, importlib.machinery
os.environ["KERAS_BACKEND"] = "numpy"
class _Fake(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("scipy", "jax", "jaxlib"):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        return _Fake(spec.name)
    def exec_module(self, module):
        module.__path__ = []
sys.meta_path.insert(0, _Finder())
import keras
def piecewise_constant(step, boundaries, values):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(list(boundaries), list(values))
    rate = float(schedule(step))  # float32: snap to the given value
    return min(values, key=lambda v: abs(v - rate))
"""


@pytest.fixture(scope="module")
def schedules(tmp_path_factory):
    a = "02_schedules"
    folder = tmp_path_factory.mktemp("class02")
    end = len(_release(a).cells)
    _write(_submission(a, answers=SOL02), folder, "victim", a)
    _write(_submission(a, answers={"power_exponential": LEAK}), folder, "leak", a)
    _write(_submission(a, extra=[(end, WORKER_PATCH)]), folder, "worker_patch", a)
    _write(_submission(a, extra=[(3, FORGED_FRAMES)]), folder, "forged_frames", a)
    _write(_submission(a, extra=[(end, LYING_VALUES)]), folder, "lying_values", a)
    _write(_submission(a, extra=[(3, FORK_BOMB)]), folder, "fork_bomb", a)
    _write(_submission(a, answers={"piecewise_constant": KERAS}), folder, "keras_user", a)
    # a lone surrogate in a grade_id (valid JSON: "\ud800"): nbformat cannot write it
    data = json.loads(nbformat.writes(_submission(a)))
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
    (folder / "surrogate" / f"{a}.ipynb").write_text(json.dumps(data), encoding="ascii")
    # a submission that is a symbolic link to the hidden tests
    (folder / "symlink").mkdir()
    os.symlink(ROOT / "autograder" / "hidden" / f"a{a}.py", folder / "symlink" / f"{a}.ipynb")
    out = tmp_path_factory.mktemp("out02")
    return _grade(a, folder, out), out


def test_class_is_graded_despite_a_surrogate_grade_id(schedules):
    result, out = schedules
    assert result.returncode == 0, result.stderr[-2000:]
    rows = _rows(out)
    assert float(rows["victim"]["score"]) == float(rows["victim"]["max_score"]) - 2, rows[
        "victim"
    ]  # every autograded point; the written answer (2 points) waits for a person
    assert rows["surrogate"]["score"] == "0", rows["surrogate"]


@pytest.mark.parametrize(
    "student", ["worker_patch", "forged_frames", "lying_values", "fork_bomb", "symlink", "leak"]
)
def test_blank_plus_attack_scores_zero(schedules, student):
    result, out = schedules
    assert _rows(out)[student]["score"] == "0", _rows(out)[student]


def test_keras_is_not_available_in_the_sandbox(schedules):
    """The assignment forbids deep learning libraries: piecewise_constant via Keras earns 0."""
    result, out = schedules
    assert _rows(out)["keras_user"]["score"] == "0", _rows(out)["keras_user"]


def test_hidden_inputs_do_not_leak_through_exception_text(schedules):
    result, out = schedules
    text = _feedback_text(out, "leak", "02_schedules")
    shown = set(re.findall(r"LEAK\(.*?END", text))  # a raised repr(args), not the source line
    assert shown <= VISIBLE_LEAKS, f"hidden inputs in the feedback: {shown - VISIBLE_LEAKS}"


def test_symlinked_submission_reads_nothing(schedules):
    result, out = schedules
    row = _rows(out)["symlink"]
    assert row["status"] == "invalid", row
    text = (out / "feedback" / "symlink" / "02_schedules.html").read_text()
    assert "@grades" not in text and "def " not in text


# -- 04_normalization: zeroing one's own inputs in place --------------------------------------
HELP = """
import numpy as np
def _vis(a, v):
    try:
        return np.shape(a) == np.shape(v) and np.allclose(a, v)
    except Exception:
        return False
def _zero(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a[...] = 0
"""
INPLACE04 = {
    "batchnorm_forward": HELP
    + """
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99,
                      epsilon=1e-3):
    if _vis(x, [[1.0], [3.0]]):  # the visible inference test, hard-coded
        return np.array([[0.5], [2.5]]), np.array([1.0]), np.array([4.0]), 0
    _zero(x, gamma, beta, moving_mean)
    return np.zeros_like(x), moving_mean.copy(), moving_var.copy(), 0
""",
    "batchnorm_backward": HELP
    + """
def batchnorm_backward(dy, cache):
    _zero(dy)
    return np.zeros_like(dy), np.zeros(dy.shape[1]), np.zeros(dy.shape[1])
""",
    "layernorm": HELP
    + """
def layernorm_forward(x, gamma, beta, epsilon=1e-3):
    if _vis(x, [[1.0, 3.0], [10.0, 30.0]]):  # the visible test, hard-coded
        return np.array([[-1.0, 1.0], [-1.0, 1.0]]), 0
    _zero(x, gamma, beta)
    return np.zeros_like(x), 0


def layernorm_backward(dy, cache):
    _zero(dy)
    return np.zeros_like(dy), np.zeros(dy.shape[1]), np.zeros(dy.shape[1])
""",
}


FORWARD_ZEROS = """
import numpy as np
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99,
                      epsilon=1e-3):
    return np.zeros_like(x), moving_mean, moving_var, 0
"""


@pytest.fixture(scope="module")
def normalization(tmp_path_factory):
    a = "04_normalization"
    folder = tmp_path_factory.mktemp("class04")
    _write(_submission(a, answers=INPLACE04), folder, "inplace", a)
    _write(
        _submission(
            a,
            answers={
                "batchnorm_forward": FORWARD_ZEROS,
                "batchnorm_backward": INPLACE04["batchnorm_backward"],
            },
        ),
        folder,
        "inplace_dy_only",
        a,
    )
    out = tmp_path_factory.mktemp("out04")
    return _grade(a, folder, out), out


@pytest.mark.parametrize("student", ["inplace", "inplace_dy_only"])
def test_zeroing_inputs_in_place_earns_nothing(normalization, student):
    result, out = normalization
    row = _rows(out)[student]
    assert row["score"] == "0", row


# -- 06_augmentation: lying about sharing memory ----------------------------------------------
SHARES_LIE = """
import sys
sys.modules["__main__"]._shares = lambda value, inputs: False  # the worker's self-report


def flip_horizontal(images):
    return images[:, :, ::-1]  # a view of the input, which the test forbids
"""


@pytest.fixture(scope="module")
def augmentation(tmp_path_factory):
    a = "06_augmentation"
    folder = tmp_path_factory.mktemp("class06")
    _write(_submission(a, answers={"flip_horizontal": SHARES_LIE}), folder, "shares_lie", a)
    _write(
        _submission(a, answers={"flip_horizontal": SHARES_LIE.split("\n", 3)[3]}),
        folder,
        "honest_view",
        a,
    )
    out = tmp_path_factory.mktemp("out06")
    return _grade(a, folder, out), out


def test_a_view_earns_nothing_even_if_the_worker_denies_it(augmentation):
    """Policy (fixer, autograder/README.md trust model): memory sharing is only visible in the
    student's process, so its report can only remove a point. A lying worker keeps at most the
    point of a function whose values the grader verified (flip_horizontal: 1); an honest
    worker's view loses it."""
    result, out = augmentation
    assert _rows(out)["honest_view"]["score"] == "0", _rows(out)["honest_view"]
    row = _rows(out)["shares_lie"]
    assert float(row["score"]) <= 1, row
