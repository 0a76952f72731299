"""``optreg grade --validate NOTEBOOK``: nbgrader's validation, in plain text, with an honest
exit status.

``nbgrader validate`` prints failures but exits 0, with the kernel's coloured tracebacks. This
runs the same checks (nbgrader's ``Validator``: the notebook executed, each visible test cell
scored, read-only cells compared with their checksums) and prints one plain line per failing
check (no ANSI colour codes, no messages of the kernel's own), then a final count; it returns 1
when a test cell fails, a read-only cell was changed, a cell changed type, or the notebook
cannot be run. It needs nbgrader and a Jupyter kernel only (``pip install optreg[student]``).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """``text`` without terminal colour codes and other control characters."""
    text = ANSI.sub("", str(text))
    return "".join(ch for ch in text if ch >= " " or ch in "\n\t")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in plain(text).splitlines() if line.strip()]
    return lines[-1].rstrip(":")[:300] if lines else "failed"


def _label(cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return gid if gid else plain(cell.source.strip().splitlines()[0][:60] if cell.source else "")


@contextlib.contextmanager
def _quiet_stderr():
    """The kernel inherits file descriptor 2 and logs there ("Kernel is running over TCP
    without encryption", ...): send it elsewhere while the notebook runs."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def check(notebook: Path, timeout: int = 30) -> tuple[list[str], int]:
    """(one line per problem, number of checks) for ``notebook``. Raises on an unreadable
    notebook or a kernel that cannot run it."""
    import logging

    from nbformat import read
    from nbgrader import utils
    from nbgrader.validator import Validator
    from traitlets.config import Config

    config = Config()
    config.Execute.timeout = timeout
    validator = Validator(config=config)
    validator.log.setLevel(logging.CRITICAL)
    nb = read(str(notebook), as_version=4)
    checks = sum(utils.is_grade(c) and c.cell_type == "code" for c in nb.cells)
    changed_type = validator._get_type_changed_cells(nb)
    if changed_type:
        return [
            f"CELL TYPE CHANGED: {_label(c)} was {c.metadata.nbgrader.cell_type}, "
            f"now {c.cell_type}: restore it from the released notebook"
            for c in changed_type
        ], checks
    with utils.chdir(str(notebook.parent.resolve())), _quiet_stderr():
        nb = validator._preprocess(nb)
    problems = [
        f"READ-ONLY CELL CHANGED: {_label(c)}: restore it from the released notebook"
        for c in validator._get_changed_cells(nb)
    ]
    for cell in validator._get_failed_cells(nb):
        if cell.cell_type == "markdown":  # a written answer, graded by hand
            problems.append(f"NOT ANSWERED {_label(cell)}: write your answer in this cell")
        else:
            problems.append(f"FAILED {_label(cell)}: {_last_line(validator._extract_error(cell))}")
    return problems, checks


def validate(notebook: Path, timeout: int = 30) -> int:
    notebook = Path(notebook)
    if not notebook.is_file():
        print(f"no such notebook: {notebook}")
        return 2
    try:
        problems, checks = check(notebook, timeout)
    except Exception as exc:  # unreadable notebook, kernel failure, ...
        print(f"VALIDATION FAILED: {type(exc).__name__}: {_last_line(str(exc))}")
        return 1
    for line in problems:
        print(line)
    if problems:
        print(
            f"VALIDATION FAILED: {len(problems)} problem(s), {checks} visible test cell(s) in "
            f"{notebook.name}"
        )
        return 1
    print(
        f"Success! All {checks} visible test cells pass in {notebook.name} "
        "(the grader also runs hidden tests)."
    )
    return 0
