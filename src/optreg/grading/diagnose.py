"""Named mistakes: when a graded function fails, say which known wrong variant it behaves like.

Next to an assignment's hidden tests, ``autograder/hidden/aNN_name_mistakes.py`` (read by the
grader only) catalogues the usual ways its functions go wrong::

    PROBES = {"sgd_step": lambda: [probe(np.ones(3), np.arange(3.0), 0.1)]}
    MISTAKES = [
        Mistake(
            "sgd_uphill",                          # its id (counted in the class summary)
            function="sgd_step",                   # the graded function it concerns
            title="a step up the gradient",        # what the feedback calls it
            edits=[("sgd_step", "theta - ", "theta + ")],  # the wrong variant
            explanation="...",                     # one or two sentences for the student
            check="...",                           # what to check
            section="01_optimizers#gradient-descent-and-its-trouble",  # book section
        ),
    ]

A mistake's wrong variant is the solution with ``edits`` applied (``(answer cell, old, new)``,
as in ``autograder/cases.py``). ``PROBES`` gives, per graded function, inputs of the grader's
own (a fresh set per call of the factory; never the hidden tests' inputs): ``probe(*args)`` calls
the function itself, ``scenario(run)`` several (a backward pass on its own forward's cache, or
only the documented part of a result).

When a test cell fails, :meth:`Catalogue.explain` (in the grader's process) runs, for each
student function the cell called, the reference and every variant on the probes, here, calls
the student's function on the same probes through the :class:`~optreg.grading.student.Student`
proxy (the values come back as plain data), and names the mistakes whose variant the student's
outputs match on every probe while the reference does not. Variants are the instructor's code
run in the grader's process; nothing of the student's runs here. Diagnosis only explains a
failure: the verdicts (and so the points) are decided before it and never read it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import nbformat
import numpy as np

RTOL, ATOL = 1e-6, 1e-9  # a student's output "is" a variant's within these
ENV_BOOK_URL = "OPTREG_BOOK_URL"


class CatalogueError(ValueError):
    """A mistake catalogue that cannot be used (an edit that does not apply, a bad entry)."""


@dataclass(frozen=True)
class Probe:
    args: tuple
    kwargs: dict
    scenario: object = None  # or: a function of the implementation (see :func:`scenario`)

    def run(self, functions, name: str):
        """The output of ``functions.<name>`` on this probe (``functions``: the reference, a
        variant or the student's proxy)."""
        if self.scenario is not None:
            return self.scenario(functions)
        return getattr(functions, name)(*self.args, **self.kwargs)


def probe(*args, **kwargs) -> Probe:
    """One call of a graded function on the grader's own inputs."""
    return Probe(args, kwargs)


def scenario(run) -> Probe:
    """A probe that needs several functions, e.g. a backward pass on its own forward's cache:
    ``run(f)`` calls ``f.batchnorm_forward(...)`` then ``f.batchnorm_backward(...)``."""
    return Probe((), {}, run)


class _Functions:
    """A namespace's functions as attributes, like the student's proxy."""

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name: str):
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Mistake:
    """One known wrong implementation of a graded function (see the module docstring)."""

    id: str
    function: str
    title: str
    edits: list[tuple[str, str, str]]
    explanation: str
    check: str
    section: str  # "NN_chapter#heading-slug" of the rendered book

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.id):
            raise CatalogueError(f"mistake id must be snake_case, got {self.id!r}")
        if not re.fullmatch(r"\d\d_[a-z_]+#[a-z][a-z0-9-]*", self.section):
            raise CatalogueError(
                f"{self.id}: section must be 'NN_chapter#heading-slug', got {self.section!r}"
            )
        if not self.edits or any(len(e) != 3 for e in self.edits):
            raise CatalogueError(f"{self.id}: edits must be (answer cell, old, new) triples")


@dataclass
class Named:
    """A mistake named for one function of one student."""

    mistake: Mistake
    function: str  # the function whose outputs matched (the mistake's own, or one using it)

    def summary(self) -> dict:
        """What the class summary counts (plain data, kept in the student's result row)."""
        m = self.mistake
        return {"id": m.id, "function": m.function, "title": m.title}


def mistakes_path(hidden_tests: Path) -> Path:
    """``autograder/hidden/aNN_name_mistakes.py`` next to ``aNN_name.py``."""
    hidden_tests = Path(hidden_tests)
    return hidden_tests.with_name(f"{hidden_tests.stem}_mistakes.py")


def _load_module(path: Path):
    name = f"optreg_mistakes_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def book_base_url(root: Path) -> str:
    """Where the rendered book lives: ``$OPTREG_BOOK_URL``, else ``html.baseurl`` of the
    book's ``_config.yml``, else ``""`` (links relative to the book's root)."""
    if os.environ.get(ENV_BOOK_URL):
        return os.environ[ENV_BOOK_URL].rstrip("/") + "/"
    config = Path(root) / "_config.yml"
    if config.is_file():
        import yaml

        html = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("html") or {}
        if html.get("baseurl"):
            return str(html["baseurl"]).rstrip("/") + "/"
    return ""


def book_sections(root: Path, chapter: str) -> dict[str, str]:
    """{anchor: heading} of ``book/<chapter>.ipynb``: the ids Sphinx gives its sections
    (docutils' ``make_id`` of the heading text) and the chapter's explicit ``(label)=``."""
    from docutils.nodes import make_id

    path = Path(root) / "book" / f"{chapter}.ipynb"
    if not path.is_file():
        return {}
    sections = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            heading = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
            if heading:
                sections.setdefault(make_id(heading.group(1)), heading.group(1))
            label = re.match(r"^\(([\w-]+)\)=\s*$", line)
            if label:
                sections.setdefault(label.group(1), label.group(1))
    return sections


def solution_cells(solution: nbformat.NotebookNode) -> dict[str, str]:
    """{grade id: source} of the solution's code cells that define things (imports, answers,
    the course's helpers), in notebook order; test cells and demonstrations are left out."""
    cells = {}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if cell.cell_type == "code" and meta.get("grade_id") and not meta.get("grade"):
            cells[meta["grade_id"]] = cell.source
    return cells


def implementation(cells: dict[str, str], edits=()) -> dict:
    """The namespace of the solution's cells with ``edits`` applied, run here (trusted code)."""
    cells = dict(cells)
    for cell, old, new in edits:
        if cell not in cells or old not in cells[cell]:
            raise CatalogueError(f"edit {old!r} does not apply to answer cell {cell!r}")
        cells[cell] = cells[cell].replace(old, new, 1)
    namespace: dict = {"__name__": "__solution__"}
    for grade_id, source in cells.items():
        exec(compile(source, f"<solution cell {grade_id}>", "exec"), namespace)  # noqa: S102
    return namespace


def same(a, b) -> bool:
    """Equal as plain data: arrays within RTOL/ATOL (NaN = NaN), lists and tuples alike."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple | dict) or isinstance(b, list | tuple | dict):
        return False
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    if x.shape != y.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True))


_FAILED = object()  # what an implementation "returned" when it raised


def _outputs(namespace: dict, function: str, probes: list[Probe]) -> list:
    results = []
    for p in probes:
        try:
            with np.errstate(all="ignore"):
                results.append(p.run(_Functions(namespace), function))
        except Exception:  # a variant that cannot handle a probe just does not match there
            results.append(_FAILED)
    return results


def _matches(got: list, want: list) -> bool:
    """Same outputs on every probe (raising on a probe matches raising there)."""
    return all(
        (g is _FAILED) == (w is _FAILED) and (w is _FAILED or same(g, w))
        for g, w in zip(got, want, strict=True)
    )


@dataclass
class Catalogue:
    """An assignment's named mistakes, with the reference and variants ready to run."""

    assignment: str
    mistakes: list[Mistake]
    probes: dict[str, object]  # function -> factory of a fresh list of probes
    reference: dict
    variants: dict[str, dict] = field(default_factory=dict)  # mistake id -> namespace
    book_url: str = ""
    sections: dict[str, dict[str, str]] = field(default_factory=dict)  # chapter -> {id: title}
    time_limit: float = 20.0  # seconds of student calls per submission at most

    @classmethod
    def load(cls, path: Path, solution: Path, root: Path | None = None) -> Catalogue:
        """The catalogue at ``path``, its variants built from the ``solution`` notebook."""
        path, solution = Path(path), Path(solution)
        module = _load_module(path)
        mistakes = list(getattr(module, "MISTAKES", []))
        probes = dict(getattr(module, "PROBES", {}))
        ids = [m.id for m in mistakes]
        if len(set(ids)) != len(ids):
            raise CatalogueError(f"{path.name}: duplicate mistake ids")
        for m in mistakes:
            if m.function not in probes:
                raise CatalogueError(f"{path.name}: {m.id}: no PROBES for {m.function}")
        cells = solution_cells(nbformat.read(solution, as_version=4))
        root = Path(root) if root is not None else path.resolve().parents[2]
        chapters = {m.section.split("#")[0] for m in mistakes}
        return cls(
            assignment=solution.stem,
            mistakes=mistakes,
            probes=probes,
            reference=implementation(cells),
            variants={m.id: implementation(cells, m.edits) for m in mistakes},
            book_url=book_base_url(root),
            sections={c: book_sections(root, c) for c in chapters},
        )

    def candidates(self, function: str) -> list[tuple[Mistake, list, list]]:
        """(mistake, its variant's outputs, the reference's) for each mistake whose variant
        of ``function`` differs from the reference on the probes."""
        if function not in self.probes:
            return []
        want = _outputs(self.reference, function, self.probes[function]())
        found = []
        for m in self.mistakes:
            got = _outputs(self.variants[m.id], function, self.probes[function]())
            if not _matches(got, want):
                found.append((m, got, want))
        return found

    def diagnose(
        self, function: str, student, alive=lambda: True, stop: float = float("inf")
    ) -> list[Named]:
        """The mistakes the student's ``function`` (called through the proxy) matches;
        nothing if the student's process stopped on a probe (``alive()`` false) or the time
        ``stop`` (``time.monotonic()``) came first."""
        candidates = self.candidates(function)
        if not candidates:
            return []
        outputs = []
        for p in self.probes[function]():
            if time.monotonic() >= stop:
                return []
            try:
                outputs.append(p.run(student, function))
            except Exception:  # the student's code raised (StudentFailure), or a bad value
                if not alive():
                    return []
                outputs.append(_FAILED)
        return [
            Named(m, function)
            for m, variant, reference in candidates
            if _matches(outputs, variant) and not _matches(outputs, reference)
        ]

    def explain(self, verdicts: dict, calls: CallLog, student, process) -> dict[str, list[Named]]:
        """{failed cell: named mistakes} after every verdict of a submission is decided.

        ``calls`` says which functions each cell called (each is diagnosed once); nothing
        more is called once the student's process stopped (a restart would rerun every cell),
        after the submission's deadline or after :attr:`time_limit` seconds. The verdicts are
        only read."""
        failed = {g: calls.called.get(g, []) for g, v in verdicts.items() if not v.passed}
        calls.cell = None  # the probes' calls belong to no cell
        stop = min(process.deadline, time.monotonic() + self.time_limit)
        by_function: dict[str, list[Named]] = {}

        def alive() -> bool:  # calling a stopped process would restart it: rerun every cell
            return process.proc is not None and process.proc.poll() is None

        for function in dict.fromkeys(f for functions in failed.values() for f in functions):
            if alive() and time.monotonic() < stop:
                by_function[function] = self.diagnose(function, student, alive, stop)
        named = {}
        for cell, functions in failed.items():
            found: dict[str, Named] = {}  # one note per mistake, on its own function if called
            for n in (n for f in functions for n in by_function.get(f, [])):
                if n.mistake.id not in found or n.function == n.mistake.function:
                    found[n.mistake.id] = n
            if found:
                named[cell] = list(found.values())
        return named

    # -- what the student reads ------------------------------------------------------------
    def link(self, mistake: Mistake) -> tuple[str, str]:
        """(URL, "Chapter heading") of a mistake's book section."""
        chapter, anchor = mistake.section.split("#")
        heading = self.sections.get(chapter, {}).get(anchor, anchor)
        return f"{self.book_url}book/{chapter}.html#{anchor}", heading

    def texts(self, named: list[Named]) -> tuple[str, str]:
        """(HTML, plain text) of a failed cell's note naming its mistakes. The HTML uses only
        the tags the sanitized feedback keeps (strong, em, code, ul, li, a)."""
        intro = (
            "Your outputs match a known mistake on the grader's own test inputs (this note "
            "explains the failure; it does not change the points)."
        )
        items, lines = [], [intro]
        for n in named:
            m = n.mistake
            url, heading = self.link(m)
            via = "" if n.function == m.function else f" (through {m.function})"
            title = f"Likely mistake in {n.function}{via}: {m.title}."
            items.append(
                f"<li><strong>{escape(title)}</strong> {escape(m.explanation)}<ul>"
                f"<li><em>What to check:</em> {escape(m.check)}</li>"
                f'<li><em>In the book:</em> <a href="{escape(url)}">{escape(heading)}</a></li>'
                "</ul></li>"
            )
            lines += [
                f"{title} {m.explanation}",
                f"  What to check: {m.check}",
                f"  In the book: {heading} ({url})",
            ]
        html = f"<em>{escape(intro)}</em><ul>{''.join(items)}</ul>"
        return html, "\n".join(lines) + "\n"

    def output(self, named: list[Named]) -> nbformat.NotebookNode:
        """A test cell's extra output naming its mistakes (HTML, and plain text)."""
        html, plain = self.texts(named)
        return nbformat.NotebookNode(
            output_type="display_data",
            data={"text/html": html, "text/plain": plain},
            metadata={"optreg": {"mistakes": [n.mistake.id for n in named]}},
        )


def load_catalogue(hidden_tests: Path, solution: Path | None = None) -> Catalogue | None:
    """The catalogue next to ``hidden_tests`` (None if the assignment has none)."""
    path = mistakes_path(hidden_tests)
    if not path.is_file():
        return None
    hidden_tests = Path(hidden_tests).resolve()
    root = hidden_tests.parents[2]
    if solution is None:
        assignment = hidden_tests.stem[1:]  # aNN_name -> NN_name
        solution = root / "solutions" / assignment / f"{assignment}.ipynb"
    return Catalogue.load(path, solution, root)


class CallLog:
    """Stands in for a :class:`~optreg.grading.student.StudentProcess` in a ``Student``, noting
    which of the student's functions each test cell called (set :attr:`cell` before it)."""

    def __init__(self, process):
        self._process = process
        self.cell: str | None = None
        self.called: dict[str, list[str]] = {}

    def call(self, name: str, args: tuple, kwargs: dict):
        functions = self.called.setdefault(self.cell, [])
        if name not in functions:
            functions.append(name)
        return self._process.call(name, args, kwargs)

    def __getattr__(self, name: str):
        return getattr(self._process, name)
