"""Static checks of the book: its sources, its offline assets and the built HTML.

The HTML checks build the book first when `_build/html` is missing or older than its sources
(the same command as `make book`; cached execution makes an unchanged rebuild quick).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import pytest
from book_build import (
    HTML,
    ROOT,
    book_lock,
    build,
    ensure_built,
    html_pages,
    page_source,
    toc_files,
)
from bs4 import BeautifulSoup

# ------------------------------------------------------------------------------------ sources


def code_cells(path: Path) -> list[str]:
    """The code of a page: notebook code cells, or MyST ``{code-cell}`` blocks."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text())
        return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", path.read_text(), flags=re.S)


def package_lines() -> set[str]:
    """Distinctive lines of the package's source (long, not imports, not comments)."""
    lines = set()
    for source in (ROOT / "src" / "optreg").rglob("*.py"):
        for line in source.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not line.startswith(("import ", "from ", "#", '"', "'")):
                lines.add(line)
    return lines


CHAPTERS = [name for name in toc_files() if "/labs/" not in name]


def test_every_toc_entry_has_a_source():
    for name in toc_files():
        assert page_source(name).exists()


def test_toc_lists_the_six_chapters_labs_exercises_and_bibliography():
    names = [Path(n).name for n in toc_files()]
    for expected in ["intro", "01_optimizers", "02_schedules", "03_initialization",
                     "04_normalization", "05_regularization", "06_augmentation",
                     "lab1_optimizers", "lab2_normalization_regularization", "exercises",
                     "bibliography"]:
        assert expected in names, f"{expected} missing from _toc.yml"


@pytest.mark.parametrize("name", CHAPTERS)
def test_pages_with_code_import_optreg(name):
    cells = code_cells(page_source(name))
    if cells:
        assert any(re.search(r"^\s*(import optreg|from optreg)", c, flags=re.M) for c in cells)


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_algorithm_code_is_copied_into_a_page(name):
    """Pages show the package's source (show_source) instead of re-typing it."""
    lines = package_lines()
    for cell in code_cells(page_source(name)):
        assert not re.search(r"def (update_step|build_state|forward|backward)\b", cell), cell
        stripped = [line.strip() for line in cell.splitlines()]
        for i in range(len(stripped) - 2):
            window = stripped[i:i + 3]
            assert not all(line in lines for line in window), (
                f"{name}: lines copied from src/optreg:\n" + "\n".join(window))


@pytest.mark.parametrize("name", [n for n in CHAPTERS if n.split("/")[-1][:2].isdigit()])
def test_every_chapter_has_a_widget_and_shows_package_source(name):
    code = "\n".join(code_cells(page_source(name)))
    assert "show_source(" in code
    assert re.search(r"_explorer\(|Explorer\(", code)


def test_no_page_links_to_solutions():
    for name in toc_files():
        text = page_source(name).read_text()
        assert "solutions/" not in text, f"{name} mentions solutions/"


def test_bibliography_has_the_papers_of_the_issue():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = re.findall(r"@\w+\{(\w+),", bib)
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys"
    for key in ["polyak1964", "nesterov1983", "duchi2011", "hinton2012rmsprop", "zeiler2012",
                "kingma2015", "dozat2016", "loshchilov2019", "reddi2018", "smith2017",
                "glorot2010", "he2015", "saxe2014", "ioffe2015", "ba2016", "srivastava2014",
                "gal2016", "wilson2017", "wei2019"]:
        assert key in keys
    for entry in re.split(r"\n(?=@)", bib)[1:]:
        for field in ("author", "title", "year"):
            assert re.search(rf"^\s*{field}\s*=", entry, flags=re.M), (field, entry[:60])


# ----------------------------------------------------------------------- offline assets code


def load_offline_assets():
    spec = importlib.util.spec_from_file_location(
        "offline_assets", ROOT / "book" / "_ext" / "offline_assets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def fake_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_offline_assets_refuses_a_tarball_with_the_wrong_hash(tmp_path):
    assets = load_offline_assets()
    package = assets.PACKAGES[1]
    (tmp_path / package.tarball_name).write_bytes(b"not the published tarball")
    with pytest.raises(Exception, match="does not match its published integrity"):
        assets.fetch_tarball(package, tmp_path, use_npm=False)
    assert not (tmp_path / package.tarball_name).exists()  # removed, so the next build refetches


def test_offline_assets_unpacks_only_the_selected_files(tmp_path):
    assets = load_offline_assets()
    data = fake_tarball({"package/es5/tex-mml-chtml.js": b"mathjax",
                         "package/es5/output/chtml/fonts/woff-v2/a.woff": b"font",
                         "package/es5/tex-svg.js": b"unused", "package/../evil.js": b"x",
                         "package/LICENSE": b"license"})
    package = assets.NpmPackage("mathjax", "0", assets.integrity_of(data),
                                ("es5/tex-mml-chtml.js", "es5/output/chtml", "LICENSE"),
                                "mathjax")
    assert assets.integrity_of(data) == package.integrity
    assets.unpack(package, data, tmp_path)
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == ["mathjax/LICENSE", "mathjax/output/chtml/fonts/woff-v2/a.woff",
                     "mathjax/tex-mml-chtml.js"]


# ---------------------------------------------------------------------------- the built HTML


@pytest.fixture(scope="module")
def built():
    ensure_built()
    return HTML


CDN = re.compile(r"https?://(?:[\w-]+\.)*(?:cdn|unpkg|jsdelivr|cdnjs|googleapis|gstatic|"
                 r"bootstrapcdn|mathjax\.org|polyfill\.io)[\w.-]*/", re.I)


def loaded_urls(soup: BeautifulSoup) -> list[str]:
    """Every URL the page loads by itself (scripts, styles, images, fonts), not plain links."""
    urls = [t.get("src") for t in soup.find_all(["script", "img", "iframe", "source"])]
    urls += [t.get("href") for t in soup.find_all("link")
             if set(t.get("rel", [])) & {"stylesheet", "preload", "icon", "modulepreload"}]
    for style in soup.find_all("style"):
        urls += re.findall(r"url\(([^)]+)\)", style.text)
    for script in soup.find_all("script", src=False):
        urls += CDN.findall(script.text)
    return [u for u in urls if u]


def test_every_page_is_built(built):
    for page in html_pages():
        assert page.exists(), page


@pytest.mark.parametrize("name", toc_files())
def test_pages_load_nothing_from_the_network(built, name):
    soup = BeautifulSoup((built / f"{name}.html").read_text(), "html.parser")
    external = [u for u in loaded_urls(soup) if re.match(r"(https?:)?//", u.strip("'\" "))]
    assert not external, f"{name} loads {external}"
    assert not CDN.search(str(soup)), f"{name} names a CDN: {CDN.search(str(soup)).group(0)}"


def test_no_cdn_anywhere_in_html_or_css(built):
    for path in list(built.rglob("*.html")) + list(built.glob("_static/*.css")):
        match = CDN.search(path.read_text(errors="ignore"))
        assert match is None, f"{path.relative_to(built)} names {match.group(0)}"


def test_mathjax_and_widget_manager_are_served_locally(built):
    static = built / "_static" / "vendor"
    assert (static / "mathjax" / "tex-mml-chtml.js").stat().st_size > 100_000
    assert list((static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (static / "require.js").exists()
    assert (static / "html-manager" / "embed-amd.js").stat().st_size > 100_000
    intro = (built / "book" / "01_optimizers.html").read_text()
    assert "_static/vendor/mathjax/tex-mml-chtml.js" in intro


def test_nothing_from_solutions_is_built_or_linked(built):
    assert not [p for p in built.rglob("*") if "solutions" in p.parts]
    for path in built.rglob("*.html"):
        soup = BeautifulSoup(path.read_text(errors="ignore"), "html.parser")
        for tag in soup.find_all(["a", "link", "script", "img"]):
            target = tag.get("href") or tag.get("src") or ""
            assert "solutions/" not in target, f"{path.relative_to(built)} links {target}"


def test_exercises_page_links_every_student_notebook(built):
    soup = BeautifulSoup((built / "book" / "exercises.html").read_text(), "html.parser")
    targets = [a.get("href", "") for a in soup.find_all("a")]
    for name in ["01_optimizers", "02_schedules", "03_initialization", "04_normalization",
                 "05_regularization", "06_augmentation"]:
        assert any(f"exercises/{name}/{name}.ipynb" in t for t in targets), name


def test_launch_buttons_open_the_page_on_binder_and_colab(built):
    html = (built / "book" / "01_optimizers.html").read_text()
    assert "mybinder.org/v2/gh/" in html and "01_optimizers.ipynb" in html
    assert "colab.research.google.com/github/" in html


def test_each_chapter_has_a_static_widget_with_frames(built):
    for name in CHAPTERS:
        if not Path(name).name[:2].isdigit():
            continue
        soup = BeautifulSoup((built / f"{name}.html").read_text(), "html.parser")
        widgets = soup.select("div.optreg-widget")
        assert widgets, f"{name} has no widget"
        for widget in widgets:
            data = json.loads(soup.find(id=widget["id"] + "-data").string)
            sizes = [len(c["texts"]) for c in data["controls"]]
            assert len(data["frames"]) == __import__("math").prod(sizes)


def test_exercises_page_links_existing_student_notebooks():
    text = (ROOT / "book" / "exercises.md").read_text()
    linked = set(re.findall(r"/blob/main/(exercises/[\w/]+\.ipynb)", text))
    assert len(linked) == 6
    for path in linked:
        assert (ROOT / path).exists(), path


def test_unchanged_rebuild_executes_no_notebook(built):
    """`make book` twice in a row: the second run takes every output from the cache."""
    with book_lock(exclusive=True):
        result = build()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Executing notebook" not in result.stdout + result.stderr
