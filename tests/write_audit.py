"""Which files a Python process writes: the source of an audit hook (Python's own audit events)
that logs every file the process opens for writing, renames, removes or creates, one JSON line
``[event, absolute path]`` each, into ``$WRITES_LOG``, a path in which ``{NAME}`` stands for the
environment variable ``NAME`` (``writes-{SLURM_PROCID}.jsonl``: one log per SLURM task).

Run it first in a process (``python -c HOOK + ...``), or install it as ``sitecustomize.py`` on
``PYTHONPATH`` to audit every Python process started with that environment.
"""

from __future__ import annotations

import json
from pathlib import Path

HOOK = """
import json, os, sys
try:  # not audited: no WRITES_LOG, or not a process of the kind it names (no SLURM_PROCID)
    _path = os.environ["WRITES_LOG"].format_map(os.environ)
except KeyError:
    _path = None
if _path:
    _log = open(_path, "a", buffering=1)
    _FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    def _record(event, args):
        try:
            if event == "open":
                path, mode, flags = args
                if not isinstance(path, (str, bytes, os.PathLike)):
                    return
                writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & _FLAGS)
                paths = [path] if writing else []
            elif event in ("os.rename", "os.remove", "os.mkdir", "os.rmdir"):
                paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            else:
                return
            for p in paths:
                _log.write(json.dumps([event, os.path.abspath(os.fsdecode(p))]) + "\\n")
        except Exception:
            pass
    sys.addaudithook(_record)
"""


def read_writes(log: Path) -> list[tuple[str, str]]:
    """The ``(event, path)`` pairs a process logged."""
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()]
