"""Showing the package's own source in a page (``show_source``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SourceCode", "show_source"]


# --------------------------------------------------------------------------------------------
# Showing the package's own source in a page
# --------------------------------------------------------------------------------------------
@dataclass
class SourceCode:
    """The source of a package object, rendered as a highlighted code block.

    Pages call ``show_source(optreg.optimizers.Adam.update_step)`` instead of copying code,
    so the book always shows the code the figures were computed with.
    """

    code: str
    title: str

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.code else "```"
        return f"*{self.title}*\n\n{fence}python\n{self.code}\n{fence}\n"

    def __repr__(self) -> str:
        return self.code


def show_source(obj: Any) -> SourceCode:
    """The dedented source of a function, method or class, labelled with its qualified name."""
    import inspect
    import textwrap

    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    module = getattr(obj, "__module__", "")
    return SourceCode(code, f"{module}.{getattr(obj, '__qualname__', '')}")
