"""Markdown tables for the book's pages, with numeric columns right-aligned.

A page shows a table computed in a cell with ``display(Markdown(markdown_table(...)))``; the
book renders cells' Markdown as GitHub-flavoured Markdown (``nb_render_markdown_format: gfm``),
whose ``---:`` alignment row right-aligns a column, so that its digits line up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# A number as tables print them: 0.743, -1.2e-03, 1,024, 78%, 0.91 ± 0.01, ×3.5
NUMBER = re.compile(
    r"^[×x~≈]?[-+−]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?%?"
    r"( ?± ?\d*\.?\d+(e[-+]?\d+)?%?)?( ?[×x])?$",
    re.IGNORECASE,
)
# Cells that stand for a missing number and do not make a column textual.
MISSING = {"", "—", "-", "–", "n/a", "nan", "none", "not reached"}


def is_number(text: str) -> bool:
    return bool(NUMBER.match(text.strip()))


def _is_numeric_column(texts: Sequence[str]) -> bool:
    filled = [text for text in texts if text.strip().lower() not in MISSING]
    return bool(filled) and all(is_number(text) for text in filled)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    right_aligned: Sequence[bool] | None = None,
) -> str:
    """A GitHub-flavoured Markdown table; a column whose every filled cell is a number is
    right-aligned (``right_aligned`` says it per column instead, for columns of quantities
    that may read "never"). Cells are converted with ``str`` (format numbers before), ``|``
    escaped."""
    cells = [[_cell(value) for value in row] for row in rows]
    for k, row in enumerate(cells):
        if len(row) != len(header):
            raise ValueError(
                f"rows must have {len(header)} cells like header, row {k} has {len(row)}"
            )
    if right_aligned is not None:
        if len(right_aligned) != len(header):
            raise ValueError(
                f"right_aligned must have {len(header)} entries like header, "
                f"got {len(right_aligned)}"
            )
        numeric = list(right_aligned)
    else:
        numeric = [_is_numeric_column([row[c] for row in cells]) for c in range(len(header))]
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "".join("---:|" if right else "---|" for right in numeric),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
