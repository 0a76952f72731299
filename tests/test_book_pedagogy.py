"""Every chapter ends like a textbook section: a summary, exercises with hidden worked answers,
and links to the graded notebook and the lab that practise it.

Checked on the notebook sources, and on the built HTML: `_build/html` (built first when stale,
like the other book tests), or the folder named by ``OPTREG_BOOK_HTML`` (a private build).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from book_build import HTML, ROOT, book_lock, ensure_built
from bs4 import BeautifulSoup

CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("0[1-6]_*.ipynb"))
# The lab that practises each chapter (see the labs' introductions).
LABS = {
    "01": "lab1_optimizers",
    "02": "lab1_optimizers",
    "03": "lab1_optimizers",
    "04": "lab2_normalization_regularization",
    "05": "lab2_normalization_regularization",
    "06": "lab2_normalization_regularization",
}
ANSWER = re.compile(r"^:::\{admonition\} Answer\s*\n:class: dropdown\s*$", re.M)
QUESTION = re.compile(r"^\*\*\d+\.", re.M)
MIN_EXERCISES = 3


def markdown(name: str) -> str:
    notebook = json.loads((ROOT / "book" / f"{name}.ipynb").read_text())
    return "\n\n".join(
        "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"
    )


def sections(text: str) -> list[tuple[str, str]]:
    """The level-2 sections of a page, as (title, body) in order."""
    parts = re.split(r"^## +(.+)$", text, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


def test_the_six_chapters_are_found():
    assert [c[:2] for c in CHAPTERS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_ends_with_summary_then_exercises(name):
    titles = [title for title, _ in sections(markdown(name))]
    assert titles[-2:] == ["Summary", "Exercises"], f"{name} ends with {titles[-2:]}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_summary_has_five_to_eight_points(name):
    body = dict(sections(markdown(name)))["Summary"]
    points = re.findall(r"^\* ", body, flags=re.M)
    assert 5 <= len(points) <= 8, f"{name}: {len(points)} summary points"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_hidden_worked_answer(name):
    body = dict(sections(markdown(name)))["Exercises"]
    questions, answers = QUESTION.findall(body), ANSWER.findall(body)
    assert len(questions) >= MIN_EXERCISES, f"{name}: {len(questions)} exercises"
    assert len(answers) == len(questions), f"{name}: {len(answers)} answers"
    # each answer block is closed and not empty
    for block in re.findall(r":class: dropdown\n(.*?)\n:::\s*$", body, flags=re.S | re.M):
        assert len(block.split()) >= 15, f"{name}: an answer is too short to be worked"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_links_the_graded_notebook_and_its_lab(name):
    body = dict(sections(markdown(name)))["Exercises"]
    assert re.search(r"\{doc\}`[^`]*exercises>?`", body), f"{name}: no link to the exercises page"
    assert f"`{name}`" in body, f"{name}: the graded notebook is not named"
    lab = LABS[name[:2]]
    assert re.search(rf"\{{doc\}}`[^`]*labs/{lab}>?`", body), f"{name}: no link to {lab}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_glued_numbers_are_defined_by_the_chapter_code(name):
    """Every {glue} name the text uses is glued by a code cell of the same chapter."""
    notebook = json.loads((ROOT / "book" / f"{name}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    used = set(re.findall(r"\{glue(?::\w+)?\}`([\w]+)", markdown(name)))
    glue_lines = [line for line in code.splitlines() if "glue(" in line]
    literal = {w for line in glue_lines for w in re.findall(r"(?<!f)[\"'](\w+)[\"']", line)}
    patterns = [
        re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(p))
        for p in re.findall(r"glue\(\s*f[\"']([^\"']+)[\"']", code)
    ]
    missing = [
        u for u in used if u not in literal and not any(re.fullmatch(p, u) for p in patterns)
    ]
    assert not missing, f"{name}: glued names without a glue() call: {missing}"


@pytest.mark.parametrize(
    "name", CHAPTERS + ["labs/lab1_optimizers", "labs/lab2_normalization_regularization"]
)
def test_no_section_or_paragraph_is_repeated(name):
    """A cell copied over another (a bad merge or notebook edit) shows up as a repeated level-2
    title or a repeated paragraph of text."""
    titles = [title for title, _ in sections(markdown(name))]
    assert len(titles) == len(set(titles)), f"{name}: repeated sections {titles}"
    paragraphs = [p.strip() for p in markdown(name).split("\n\n") if len(p.strip()) > 200]
    repeated = {p[:80] for p in paragraphs if paragraphs.count(p) > 1}
    assert not repeated, f"{name}: repeated paragraphs {sorted(repeated)}"


# ---------------------------------------------------------------------------- the built HTML


@pytest.fixture(scope="module")
def html() -> Path:
    private = os.environ.get("OPTREG_BOOK_HTML")
    if private:
        return Path(private)
    ensure_built()
    return HTML


def page(html: Path, name: str) -> BeautifulSoup:
    with book_lock(exclusive=False):
        return BeautifulSoup((html / "book" / f"{name}.html").read_text(), "html.parser")


@pytest.mark.parametrize("name", CHAPTERS)
def test_built_chapter_shows_summary_exercises_and_dropdown_answers(html, name):
    soup = page(html, name)
    headings = [h.get_text(" ", strip=True).rstrip("#").strip() for h in soup.find_all("h2")]
    assert any(h.endswith("Summary") for h in headings), headings
    assert any(h.endswith("Exercises") for h in headings), headings
    exercises = soup.find("section", id="exercises")
    assert exercises is not None
    dropdowns = exercises.select("div.admonition.dropdown")
    assert len(dropdowns) >= MIN_EXERCISES
    assert all("Answer" in d.find(class_="admonition-title").get_text() for d in dropdowns)


@pytest.mark.parametrize("name", CHAPTERS)
def test_built_chapter_links_resolve_to_the_exercises_page_and_the_lab(html, name):
    soup = page(html, name)
    hrefs = {a.get("href", "").split("#")[0] for a in soup.select("section#exercises a")}
    assert "exercises.html" in hrefs, hrefs
    lab = f"labs/{LABS[name[:2]]}.html"
    assert lab in hrefs, hrefs
    for href in ("exercises.html", lab):
        assert (html / "book" / href).exists()


@pytest.mark.parametrize("name", CHAPTERS)
def test_built_chapter_has_no_unresolved_glue(html, name):
    text = page(html, name).get_text()
    assert "{glue" not in text and "glue:text" not in text
