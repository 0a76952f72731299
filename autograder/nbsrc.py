"""Building blocks for the nbgrader source notebooks (used by ``make_sources.py``).

Each assignment module in ``autograder/sources/`` lists its cells with the helpers below:
``md`` (teaching text), ``code`` (free cell), ``locked`` (read-only code), ``solution``
(an autograded answer cell; the code between ``### BEGIN SOLUTION``/``### END SOLUTION`` is what
nbgrader removes), and ``tests`` (a graded, locked test cell with visible and hidden tests).

Hidden tests are wrapped in a function ``_hidden_tests()`` whose first lines (``PROLOGUE``)
define the comparison helpers as *local* names built only from literals and methods of built-in
types. Student code that redefines ``np.allclose``, ``assert_allclose``, a global helper, or even
``builtins.sum`` cannot change a verdict: hidden tests never look those names up. ``lint_hidden``
enforces this: every name a hidden test loads must be bound inside the hidden function or be one
of the student's functions under test.
"""

from __future__ import annotations

import ast
import textwrap

import nbformat

SCHEMA_VERSION = 3

# Helpers available to every hidden test (locals of _hidden_tests, see the module docstring).
PROLOGUE = '''\
# Checks written by the grader: they use Python numbers and methods of built-in types only.
_type = (0).__class__.__class__
_float, _int, _bool = (0.0).__class__, (0).__class__, (True).__class__
_list, _tuple = [].__class__, ().__class__

def _fail(message):
    raise AssertionError(message)

def _len(items):
    n = 0
    for _ in items:
        n += 1
    return n

def _range(n):
    out, i = [], 0
    while i < n:
        out.append(i)
        i += 1
    return out

def _sum(items):
    total = 0.0
    for v in items:
        total += v
    return total

def _abs(v):
    return v if v >= 0 else -v

def _max(items):
    best = None
    for v in items:
        if best is None or v > best:
            best = v
    return best

def _min(items):
    best = None
    for v in items:
        if best is None or v < best:
            best = v
    return best

def _sqrt(v):
    return v ** 0.5

def _exp(v):
    return 2.718281828459045 ** v

def _nested(x):
    """A number or (nested) list of Python floats from an array, a number or a list."""
    kind = _type(x)
    if kind is _float or kind is _int or kind is _bool:
        return _float(x)
    if kind is not _list and kind is not _tuple:
        try:
            x = x.tolist()
        except Exception:
            _fail(f"expected a number or an array, got {kind.__name__}")
        kind = _type(x)
        if kind is _float or kind is _int or kind is _bool:
            return _float(x)
        if kind is not _list:
            _fail(f"expected a number or an array, got {kind.__name__}")
    return [_nested(v) for v in x]

def _shape(v):
    dims = []
    while _type(v) is _list:
        dims.append(_len(v))
        if not v:
            break
        v = v[0]
    return _tuple(dims)

def _flat(v, out=None):
    out = [] if out is None else out
    if _type(v) is _list:
        for u in v:
            _flat(u, out)
    else:
        out.append(v)
    return out

def _show(values):
    text = ", ".join(f"{v:.6g}" for v in values[:6])
    return "[" + text + (", ...]" if _len(values) > 6 else "]")

def _close(what, got, want, rtol=1e-6, atol=1e-9):
    """Fail unless got equals want elementwise within atol + rtol*|want| (shapes must agree)."""
    g, w = _nested(got), _nested(want)
    if _shape(g) != _shape(w):
        _fail(f"{what}: expected shape {_shape(w)}, got shape {_shape(g)}")
    gf, wf = _flat(g), _flat(w)
    if _len(gf) != _len(wf):
        _fail(f"{what}: expected {_len(wf)} values, got {_len(gf)} (ragged result?)")
    for i in _range(_len(wf)):
        a, b = gf[i], wf[i]
        if a == b:
            continue
        if not _abs(a - b) <= atol + rtol * _abs(b):
            _fail(f"{what}: expected {_show(wf)} but got {_show(gf)} "
                  f"(first difference at flat index {i}: expected {b:.8g}, got {a:.8g})")
    return gf

def _equal(what, got, want):
    if got != want:
        _fail(f"{what}: expected {want!r}, got {got!r}")

def _true(what, condition):
    if not condition:
        _fail(what)

def _transpose(a):
    return [[a[i][j] for i in _range(_len(a))] for j in _range(_len(a[0]))]

def _matmul(a, b):
    bt = _transpose(b)
    return [[_sum([row[k] * col[k] for k in _range(_len(row))]) for col in bt] for row in a]

def _reshape(flat, shape):
    if not shape:
        return flat[0]
    step = _len(flat) // shape[0]
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in _range(shape[0])]

def _rand(shape, seed, lo=-1.0, hi=1.0):
    """Reproducible pseudo-random numbers (64-bit LCG) as a nested list of the given shape."""
    n = 1
    for d in shape:
        n *= d
    state, out = seed * 2654435761 + 1, []
    for _ in _range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 18446744073709551616
        out.append(lo + (hi - lo) * ((state >> 11) / 9007199254740992.0))
    return _reshape(out, _tuple(shape))

import numpy as _np

def _arr(values, dtype="float64"):
    """A NumPy array holding exactly these values (refuses a replaced numpy.array)."""
    a = _np.array(values, dtype=dtype)
    got, want = _flat(_nested(a)), _flat(_nested(values))
    same = _len(got) == _len(want) and _shape(_nested(a)) == _shape(_nested(values))
    for i in _range(_len(want) if same else 0):
        x, y = got[i], want[i]
        same = same and (x == y or (x != x and y != y))
    if _type(a).__name__ != "ndarray" or not same:
        _fail("numpy.array does not return the values it is given: cannot build test inputs")
    return a

def _call(name, fn, *args, **kwargs):
    """Call the student's function; any exception becomes a readable failure."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # the student's error, reported without our source
        _fail(f"{name} raised {_type(exc).__name__}: {exc}")
'''

_ALLOWED_BUILTINS = {"AssertionError", "Exception", "None", "True", "False"}


def _cell(cell_type: str, source: str, nbgrader: dict | None = None):
    source = textwrap.dedent(source).strip("\n")
    if cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(source)
    else:
        cell = nbformat.v4.new_code_cell(source)
    if nbgrader is not None:
        meta = {"grade": False, "grade_id": "", "locked": False, "schema_version": SCHEMA_VERSION,
                "solution": False, "task": False}
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
        if meta["locked"]:
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
    return cell


def md(text: str):
    return _cell("markdown", text)


def code(text: str):
    return _cell("code", text)


def locked(grade_id: str, text: str):
    return _cell("code", text, {"grade_id": grade_id, "locked": True})


def solution(grade_id: str, text: str):
    text = textwrap.dedent(text)
    if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
        raise ValueError(f"solution cell {grade_id} has no BEGIN/END SOLUTION markers")
    return _cell("code", text, {"grade_id": grade_id, "solution": True})


def lint_hidden(grade_id: str, body: str, student_names: set[str]) -> None:
    """Refuse hidden tests that look up a name student code could have replaced."""
    tree = ast.parse(PROLOGUE + "\n" + body)
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
            bound.update(a.arg for a in node.args.args + node.args.kwonlyargs)
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None:
                    bound.add(extra.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    unknown = loads - bound - student_names - _ALLOWED_BUILTINS
    if unknown:
        raise ValueError(f"hidden tests of {grade_id} look up replaceable names: {sorted(unknown)}")


def tests(grade_id: str, points: int, visible: str, hidden: str, uses: set[str]):
    """A graded test cell: visible asserts, then hidden tests run inside ``_hidden_tests()``.

    ``uses`` names the student functions the hidden tests call (checked by ``lint_hidden``).
    """
    hidden = textwrap.dedent(hidden).strip("\n")
    lint_hidden(grade_id, hidden, uses)
    inner = textwrap.indent(PROLOGUE + "\n" + hidden + "\n", "    ")
    source = (
        textwrap.dedent(visible).strip("\n")
        + "\n\n### BEGIN HIDDEN TESTS\n"
        + "def _hidden_tests():\n"
        + inner
        + "\n_hidden_tests()\n"
        + "### END HIDDEN TESTS"
    )
    return _cell("code", source, {"grade": True, "grade_id": grade_id, "locked": True,
                                  "points": points})


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for i, cell in enumerate(nb.cells):  # stable ids keep regenerated files byte-identical
        cell["id"] = f"cell-{i:03d}"
    return nb
