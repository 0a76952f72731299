"""The student edition (``python -m optreg.publish OUTDIR``): nothing from ``solutions/`` or the
autograder's sources, no solution or hidden-test text anywhere, the course itself intact, and the
book's links and launch buttons lead to it.

The leak check here is independent of the one in ``optreg.publish``: it reads the source
notebooks with nbformat and treats as public the lines of the released notebooks in
``exercises/`` (the module uses the source notebooks' own unmarked lines).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from optreg import publish

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
RELEASES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
NEVER_EXPORTED = [
    "tests/test_exercises.py",
    "bench/bench_grading.py",
    "src/optreg/publish.py",
    "tests/test_publish.py",
]


def _regions(source: str, kind: str) -> list[str]:
    """The code between ``### BEGIN <kind>`` and ``### END <kind>`` in a cell."""
    return re.findall(rf"### BEGIN {kind}\n(.*?)### END {kind}", source, flags=re.DOTALL)


def _secret_lines(kind: str) -> set[str]:
    released = {
        line.strip()
        for path in RELEASES
        for cell in nbformat.read(path, 4).cells
        for line in cell.source.splitlines()
    }
    found = {
        line.strip()
        for path in SOURCES
        for cell in nbformat.read(path, 4).cells
        for region in _regions(cell.source, kind)
        for line in region.splitlines()
    }
    return {line for line in found if len(line) >= 25 and line not in released}


def _hidden_test_lines() -> set[str]:
    """The grader-only hidden tests (autograder/hidden/*.py): code lines students never see."""
    released = {
        line.strip()
        for path in RELEASES
        for cell in nbformat.read(path, 4).cells
        for line in cell.source.splitlines()
    }
    lines = {
        line.strip()
        for path in (ROOT / "autograder" / "hidden").glob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    tracked = subprocess.run(
        ["git", "ls-files", "--cached"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    public = {
        line.strip()
        for name in tracked
        if not publish._excluded(name)
        and (ROOT / name).is_file()
        and not name.endswith((".png", ".gz"))
        for line in (ROOT / name).read_text(errors="replace").splitlines()
    }
    return {line for line in lines if len(line) >= 25 and line not in released | public}


SOLUTION_LINES = _secret_lines("SOLUTION")
HIDDEN_LINES = _hidden_test_lines()


def _lines_of(path: Path) -> set[str]:
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, 4).cells
        text = "\n".join(cell.source for cell in cells)
    else:
        text = path.read_text(encoding="utf-8")
    return {line.strip() for line in text.splitlines()}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _git_files(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in out.splitlines() if (root / f).is_file()]


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "student"
    assert publish.main(["--root", str(ROOT), str(out)]) == 0
    return out


def test_the_source_notebooks_have_secrets_to_protect():
    # Otherwise every leak check below would pass vacuously.
    assert len(SOURCES) == 6 and len(RELEASES) == 6
    assert len(SOLUTION_LINES) > 50 and len(HIDDEN_LINES) > 50


def test_nothing_from_solutions_or_the_autograder_sources_is_exported(student):
    files = _files(student)
    assert not [f for f in files if f.startswith("solutions/")]
    assert [f for f in files if f.startswith("autograder/")] == ["autograder/nbgrader_config.py"]
    assert not [f for f in files if re.fullmatch(r"tests/test_grading_.*\.py", f)]
    assert not set(NEVER_EXPORTED) & files


def test_no_solution_or_hidden_test_text_anywhere_in_the_export(student):
    marker = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)")
    for path in sorted(student.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(student).as_posix()
        lines = _lines_of(path)
        assert not [line for line in lines if marker.match(line)], f"{name} has a marker"
        assert not lines & HIDDEN_LINES, f"{name} holds hidden tests: {lines & HIDDEN_LINES}"
        shared = lines & SOLUTION_LINES
        # The only tolerated overlap: lines reviewed as the package's own public code.
        assert shared <= publish.SHARED_WITH_PACKAGE.get(name, set()), f"{name}: {shared}"


def test_lines_declared_shared_are_really_the_package_code():
    for name, lines in publish.SHARED_WITH_PACKAGE.items():
        assert lines <= _lines_of(ROOT / name), name


def test_the_course_is_exported_unchanged(student):
    files = _files(student)
    for folder in ("book/", "src/optreg/", "exercises/", "tests/"):
        assert any(f.startswith(folder) for f in files), folder
    releases = {p.relative_to(ROOT).as_posix() for p in RELEASES}
    assert releases <= files
    for name in files - {"README.md"}:
        assert (student / name).read_bytes() == (ROOT / name).read_bytes(), name
    # Everything else of the repository is there.
    expected = {
        f
        for f in _git_files(ROOT)
        if not f.startswith(("solutions/", "autograder/", "tests/test_grading_"))
        and f not in NEVER_EXPORTED
    } | {"autograder/nbgrader_config.py"}
    assert files == expected


def test_the_readme_says_student_edition_and_still_opens_with_the_two_commands(student):
    text = (student / "README.md").read_text()
    assert "## Student edition" in text and publish.STUDENT_REPOSITORY in text
    head = text.splitlines()[:8]
    assert [line.split("#")[0].strip() for line in head if line.startswith("make ")] == [
        "make book",
        "make test",
    ]
    original = (ROOT / "README.md").read_text()
    assert text.replace(publish.STUDENT_NOTE, "") == original


def test_the_book_and_its_launch_buttons_point_at_the_student_repository(student):
    # One setting: the book's repository.url (empty until the student edition is published;
    # the book then leaves its buttons and links out, see tests/test_book.py).
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == publish.STUDENT_REPOSITORY
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    page = (ROOT / "book" / "exercises.md").read_text()
    downloads = re.findall(r"\{download\}`[^`<]*<\.\./([^>]+)>`", page)
    online = re.findall(r"student_(?:blob|colab) ~ '([^')]+)\)", page)
    assert len(downloads) == 6 and sorted(online) == sorted(downloads * 2)
    for target in downloads:
        assert target.startswith("exercises/") and (student / target).is_file(), target
    if not publish.STUDENT_REPOSITORY:
        return
    # Every GitHub address in the book is the student repository's.
    repo = publish.STUDENT_REPOSITORY.removeprefix("https://github.com/")
    for path in sorted((ROOT / "book").rglob("*")):
        if path.suffix in (".md", ".ipynb"):
            for owner_repo in re.findall(r"github\.com/([\w.-]+/[\w.-]+)", path.read_text()):
                assert owner_repo == repo, f"{path.name} links github.com/{owner_repo}"
    install = [
        path.name
        for path in sorted((ROOT / "book").glob("*.ipynb"))
        if f"git+{publish.STUDENT_REPOSITORY}" in path.read_text()
    ]
    assert "01_optimizers.ipynb" in install


@pytest.fixture()
def repo_copy(tmp_path) -> Path:
    """A git checkout holding the same files as the repository (untracked is enough)."""
    copy = tmp_path / "instructor"
    for name in _git_files(ROOT):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "-A"], cwd=copy, check=True)  # what the course tracks
    return copy


def _longest(lines: set[str]) -> str:
    return max(sorted(lines), key=len)


PLANTS = {
    "hidden test line in a module": (
        "src/optreg/leak.py",
        lambda: f"x = 1\n    {_longest(HIDDEN_LINES)}\n",
    ),
    "solution line in a page": (
        "book/notes.md",
        lambda: f"# Notes\n\n```python\n{_longest(SOLUTION_LINES)}\n```\n",
    ),
    "solution line inside a notebook": (
        "book/extra.ipynb",
        lambda: nbformat.writes(
            nbformat.v4.new_notebook(
                cells=[nbformat.v4.new_code_cell(f"def f(x):\n    {_longest(SOLUTION_LINES)}")]
            )
        ),
    ),
    "region marker": ("tests/data.txt", lambda: "ok\n### BEGIN HIDDEN TESTS\nassert True\n"),
}


@pytest.mark.parametrize("case", sorted(PLANTS))
def test_a_planted_leak_stops_the_export_and_names_the_file(repo_copy, tmp_path, capsys, case):
    name, content = PLANTS[case]
    (repo_copy / name).write_text(content())
    out = tmp_path / "student"
    assert publish.main(["--root", str(repo_copy), str(out)]) == 1
    message = capsys.readouterr().err
    assert name in message and "refusing" in message
    assert not out.exists() and list(tmp_path.iterdir()) == [repo_copy]  # nothing half-written


def test_new_files_under_excluded_folders_stay_behind(repo_copy, tmp_path):
    (repo_copy / "autograder" / "sources" / "a07_new.py").write_text(
        f"# {_longest(HIDDEN_LINES)}\n### BEGIN SOLUTION\n"
    )
    (repo_copy / "tests" / "test_grading_new.py").write_text(f"# {_longest(SOLUTION_LINES)}\n")
    out = tmp_path / "student"
    publish.export(repo_copy, out)
    assert not (out / "autograder" / "sources").exists()
    assert not (out / "tests" / "test_grading_new.py").exists()


def test_bad_output_folders_are_refused(tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert publish.main(["--root", str(ROOT), str(busy)]) == 1
    assert "must not exist or be an empty folder" in capsys.readouterr().err
    assert _files(busy) == {"keep.txt"}
    assert publish.main(["--root", str(ROOT), str(ROOT / "book" / "student")]) == 1
    assert "outside the repository or in a git-ignored folder" in capsys.readouterr().err
    assert not (ROOT / "book" / "student").exists()


def test_an_ignored_folder_inside_the_repository_is_a_valid_output(repo_copy):
    out = repo_copy / "_build" / "student"
    assert publish.main(["--root", str(repo_copy), str(out)]) == 0
    assert (out / "exercises").is_dir() and not (out / "solutions").exists()
    # The export is git-ignored, so a second export does not copy the first one.
    assert publish.main(["--root", str(repo_copy), str(repo_copy / "_build" / "again")]) == 0
    assert not (repo_copy / "_build" / "again" / "_build").exists()


def test_exporting_a_student_edition_again_is_refused(student, tmp_path, capsys):
    # The student edition has no solutions/: it cannot be mistaken for the instructors' copy.
    assert publish.main(["--root", str(student), str(tmp_path / "again")]) == 1
    assert "no source notebooks" in capsys.readouterr().err
