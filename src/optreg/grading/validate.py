"""``optreg grade --validate NOTEBOOK``: nbgrader's validation with an honest exit status.

``nbgrader validate`` prints failures but exits 0; this returns 1 when a test cell fails, a
read-only cell was changed, a cell changed type, or the notebook cannot be run.
"""

from __future__ import annotations

from pathlib import Path


def validate(notebook: Path, timeout: int = 30) -> int:
    from nbgrader.validator import Validator
    from traitlets.config import Config

    notebook = Path(notebook)
    if not notebook.is_file():
        print(f"no such notebook: {notebook}")
        return 2
    config = Config()
    config.Execute.timeout = timeout
    try:
        results = Validator(config=config).validate(str(notebook))
    except Exception as exc:  # unreadable notebook, kernel failure, ...
        print(f"VALIDATION FAILED: {type(exc).__name__}: {exc}")
        return 1
    problems = 0
    for cell in results.get("type_changed", []):
        problems += 1
        print(
            f"CELL TYPE CHANGED (was {cell['new_type']}, now {cell['old_type']}):\n"
            f"{cell['source'][:300]}\n"
        )
    for cell in results.get("changed", []):
        problems += 1
        print(f"READ-ONLY CELL CHANGED:\n{cell['source'][:300]}\n")
    for cell in results.get("failed", []):
        problems += 1
        print(f"TEST FAILED:\n{cell['source'][:300]}\n---\n{cell['raw_error'][-1500:]}\n")
    if problems:
        print(f"VALIDATION FAILED: {problems} problem(s) in {notebook.name}")
        return 1
    print(f"Success! All visible tests pass in {notebook.name}.")
    return 0
