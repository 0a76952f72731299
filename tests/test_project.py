"""The project skeleton: packaging metadata, the two commands, CI, the console script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NUMPY_MODULES = [
    "optimizers",
    "schedules",
    "initializers",
    "activations",
    "normalization",
    "regularizers",
    "constraints",
    "regularization",
    "augmentation",
    "nn",
    "landscapes",
    "data",
]


def _requirement_name(req: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", req)
    assert match, req
    name = match.group(1).lower().replace("_", "-")
    return name, match.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the conda environment is the whole course: the base install plus the student and course
    # extras (dev's test tools come from pip, `-e .[dev]`)
    extras = project["optional-dependencies"]
    requirements = project["dependencies"] + [
        r for k in ("student", "course") for r in extras[k] if not r.startswith("optreg")
    ]
    pyproject = dict(_requirement_name(r) for r in requirements)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        _requirement_name(d)
        for d in env["dependencies"]
        if isinstance(d, str) and not d.startswith(("python", "pip"))
    )
    assert conda == pyproject, (
        "environment.yml and pyproject.toml disagree: "
        f"only in pyproject {sorted(set(pyproject.items()) - set(conda.items()))}, "
        f"only in environment.yml {sorted(set(conda.items()) - set(pyproject.items()))}"
    )
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace(" ", "") == "python" + project["requires-python"]


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    commands = [line.split("#")[0].strip() for line in head if line.startswith("make ")]
    assert commands == ["make book", "make test"]


def test_ci_runs_make_test_and_nothing_else():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    commands = [line for line in lines if not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def _run(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_console_script_version_and_info():
    optreg = Path(sys.executable).parent / "optreg"
    from optreg import __version__

    result = _run(str(optreg), "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"optreg {__version__}"
    result = _run(str(optreg), "info")
    assert result.returncode == 0, result.stderr
    for needle in ("numpy", "tensorflow", "keras", "nbgrader", "fashion-mnist:", "gpus:"):
        assert needle in result.stdout
    # this machine has no GPU: info must say so rather than guess
    assert "gpus: 0" in result.stdout


def test_numpy_modules_do_not_import_tensorflow():
    code = (
        "import importlib, sys\n"
        f"for m in {NUMPY_MODULES!r}:\n"
        "    importlib.import_module('optreg.' + m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in {'tensorflow', 'keras'})\n"
        "print(bad[:5])\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("ci, expected", [("true", 1), ("", 0)])
def test_a_skipped_test_fails_the_run_under_ci(tmp_path, ci, expected):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_skip.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\n"
        "@pytest.mark.skip(reason='tool missing')\ndef test_skipped():\n    pass\n"
    )
    env = {**os.environ, "CI": ci}
    result = _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(tmp_path),
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == expected, result.stdout
