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
import yaml
from book_build import (
    HOSTILE_ENVIRONMENT,
    HTML,
    ROOT,
    book_lock,
    build,
    built_fingerprint,
    current_fingerprint,
    ensure_built,
    hermetic_module,
    html_pages,
    is_stale,
    page_source,
    raw_markdown_tables,
    text_tables,
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
    for expected in [
        "intro",
        "01_optimizers",
        "02_schedules",
        "03_initialization",
        "04_normalization",
        "05_regularization",
        "06_augmentation",
        "lab1_optimizers",
        "lab2_normalization_regularization",
        "exercises",
        "bibliography",
    ]:
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
            window = stripped[i : i + 3]
            assert not all(line in lines for line in window), (
                f"{name}: lines copied from src/optreg:\n" + "\n".join(window)
            )


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
    for key in [
        "polyak1964",
        "nesterov1983",
        "duchi2011",
        "hinton2012rmsprop",
        "zeiler2012",
        "kingma2015",
        "dozat2016",
        "loshchilov2019",
        "reddi2018",
        "smith2017",
        "glorot2010",
        "he2015",
        "saxe2014",
        "ioffe2015",
        "ba2016",
        "srivastava2014",
        "gal2016",
        "wilson2017",
        "wei2019",
    ]:
        assert key in keys
    for entry in re.split(r"\n(?=@)", bib)[1:]:
        for field in ("author", "title", "year"):
            assert re.search(rf"^\s*{field}\s*=", entry, flags=re.M), (field, entry[:60])


# ----------------------------------------------------------------------- offline assets code


def load_offline_assets():
    spec = importlib.util.spec_from_file_location(
        "offline_assets", ROOT / "book" / "_ext" / "offline_assets.py"
    )
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
    data = fake_tarball(
        {
            "package/es5/tex-mml-chtml.js": b"mathjax",
            "package/es5/output/chtml/fonts/woff-v2/a.woff": b"font",
            "package/es5/tex-svg.js": b"unused",
            "package/../evil.js": b"x",
            "package/LICENSE": b"license",
        }
    )
    package = assets.NpmPackage(
        "mathjax",
        "0",
        assets.integrity_of(data),
        ("es5/tex-mml-chtml.js", "es5/output/chtml", "LICENSE"),
        "mathjax",
    )
    assert assets.integrity_of(data) == package.integrity
    assets.unpack(package, data, tmp_path)
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == [
        "mathjax/LICENSE",
        "mathjax/output/chtml/fonts/woff-v2/a.woff",
        "mathjax/tex-mml-chtml.js",
    ]


# ---------------------------------------------------------------------------- the built HTML


@pytest.fixture(scope="module")
def built():
    ensure_built()
    return HTML


CDN = re.compile(
    r"https?://(?:[\w-]+\.)*(?:cdn|unpkg|jsdelivr|cdnjs|googleapis|gstatic|"
    r"bootstrapcdn|mathjax\.org|polyfill\.io)[\w.-]*/",
    re.I,
)


def loaded_urls(soup: BeautifulSoup) -> list[str]:
    """Every URL the page loads by itself (scripts, styles, images, fonts), not plain links."""
    urls = [t.get("src") for t in soup.find_all(["script", "img", "iframe", "source"])]
    urls += [
        t.get("href")
        for t in soup.find_all("link")
        if set(t.get("rel", [])) & {"stylesheet", "preload", "icon", "modulepreload"}
    ]
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


def load_extension(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STUDENT_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
REPOSITORY_HOSTS = re.compile(
    r"https?://(?:www\.)?(?:github\.com|mybinder\.org|"
    r"colab\.research\.google\.com)/",
    re.I,
)


@pytest.mark.parametrize("name", toc_files())
def test_every_link_leads_somewhere(built, name):
    """Links inside the book reach a built file; links to a repository, Binder or Colab exist
    only once the student edition's URL (repository.url) is set, and then lead to it."""
    page = built / f"{name}.html"
    soup = BeautifulSoup(page.read_text(), "html.parser")
    for link in soup.find_all("a", href=True):
        href = link["href"]
        if href.startswith(("#", "mailto:", "javascript:")):
            continue
        if re.match(r"[a-z]+://", href):
            if STUDENT_URL:
                owner_repo = STUDENT_URL.removeprefix("https://github.com/")
                assert not REPOSITORY_HOSTS.match(href) or owner_repo in href, href
            else:
                assert not REPOSITORY_HOSTS.match(href), f"{name} links {href}"
            continue
        target = page.parent / href.split("#")[0].split("?")[0]
        assert target.exists(), f"{name}: {href} leads nowhere"
    if not STUDENT_URL:
        assert not soup.select(".dropdown-launch-buttons, a.btn-source-repository-button")


def test_exercise_notebooks_are_downloads_from_the_book(built):
    soup = BeautifulSoup((built / "book" / "exercises.html").read_text(), "html.parser")
    downloads = [a["href"] for a in soup.select("a.reference.download")]
    names = sorted(Path(href).name for href in downloads)
    assert names == [
        f"{p.name}.ipynb" for p in sorted((ROOT / "exercises").iterdir()) if p.is_dir()
    ]
    for href in downloads:
        notebook = json.loads(((built / "book") / href).read_text())
        assert notebook["cells"], href


def test_launch_buttons_open_the_page_on_binder_and_colab_once_the_url_is_set(built):
    html = (built / "book" / "01_optimizers.html").read_text()
    if not STUDENT_URL:
        assert "mybinder.org" not in html and "colab.research.google.com" not in html
        assert "launch-buttons" not in html
        return
    owner_repo = STUDENT_URL.removeprefix("https://github.com/")
    assert f"mybinder.org/v2/gh/{owner_repo}/" in html and "01_optimizers.ipynb" in html
    assert f"colab.research.google.com/github/{owner_repo}/" in html


class FakeConfig:
    def __init__(self, url: str):
        self.html_theme_options = {
            "repository_url": url,
            "repository_branch": "main",
            "launch_buttons": {
                "notebook_interface": "jupyterlab",
                "thebe": False,
                "binderhub_url": "https://mybinder.org",
                "colab_url": "https://colab.research.google.com",
            },
        }
        self.myst_substitutions = {"other": "kept"}


def test_student_edition_links_follow_the_one_setting():
    extension = load_extension("student_edition")
    unset = FakeConfig("")
    extension.configure(None, unset)
    assert unset.html_theme_options["use_repository_button"] is False
    assert unset.html_theme_options["launch_buttons"] == {
        "notebook_interface": "jupyterlab",
        "thebe": False,
    }
    assert unset.myst_substitutions == {
        "other": "kept",
        "student_repository": "",
        "student_blob": "",
        "student_colab": "",
    }
    published = FakeConfig("https://github.com/some-course/optreg-student")
    extension.configure(None, published)
    assert published.html_theme_options["use_repository_button"] is True
    assert published.html_theme_options["launch_buttons"]["binderhub_url"]
    assert published.myst_substitutions["student_blob"] == (
        "https://github.com/some-course/optreg-student/blob/main/"
    )
    assert published.myst_substitutions["student_colab"] == (
        "https://colab.research.google.com/github/some-course/optreg-student/blob/main/"
    )
    with pytest.raises(Exception, match="https://github.com/OWNER/REPO"):
        extension.configure(None, FakeConfig("https://gitlab.example.org/course"))


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
    linked = set(re.findall(r"\{download\}`[^`<]*<\.\./(exercises/[\w/]+\.ipynb)>`", text))
    assert len(linked) == 6
    for path in linked:
        assert (ROOT / path).exists(), path


def test_unchanged_rebuild_executes_no_notebook(built):
    """`make test` then `make book`: the second build, under the caller's own environment (not
    the tests' hostile one), takes every output from the cache of the first."""
    with book_lock(exclusive=True):
        # In a shared checkout a page, the package or the labs' results may have changed since
        # the first build (a sweep writing results): then executing again is right, not stale.
        changed = is_stale()
        result = build()
    assert result.returncode == 0, result.stdout[-3000:]
    if not changed:
        assert "Executing notebook" not in result.stdout + result.stderr
    assert built_fingerprint() == current_fingerprint()


# ------------------------------------------------------------------------- hermetic execution

# Code that draws: matplotlib calls (not its settings), the package's plot_* helpers, widgets.
DRAWS = re.compile(
    r"\bplt\.(?!rcParams\b|style\b|rc\b|close\b)\w+\(|\.subplots\(|"
    r"\bplot_\w+\(|_explorer\(|\bExplorer\("
)


def draws_a_figure(code: str) -> bool:
    return bool(DRAWS.search(re.sub(r"#.*", "", code)))


def shown_code_cells(path: Path) -> list[tuple[str, list[str]]]:
    """The code and tags of the code cells the page shows (``remove-cell`` leaves one out)."""
    notebook = json.loads(path.read_text())
    cells = [
        ("".join(c["source"]), c.get("metadata", {}).get("tags", []))
        for c in notebook["cells"]
        if c["cell_type"] == "code"
    ]
    return [(code, tags) for code, tags in cells if "remove-cell" not in tags]


def test_draws_a_figure_tells_drawing_cells_from_others():
    for code in [
        "fig, ax = plt.subplots()",
        "plt.plot(x, y)",
        "momentum_explorer()",
        "plot_curves(runs, 'loss')",
        "Explorer(draw, [Slider('a', [1])])",
        "axes = fig.subplots(1, 2)",
    ]:
        assert draws_a_figure(code), code
    for code in [
        "import matplotlib.pyplot as plt",
        "plt.rcParams.update({'figure.dpi': 100})",
        "show_source(plot_curves)",
        "print(1)  # plt.plot(x)",
        "plt.close('all')",
    ]:
        assert not draws_a_figure(code), code


NOTEBOOK_PAGES = [n for n in toc_files() if page_source(n).suffix == ".ipynb"]


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_every_cell_that_draws_shows_its_figure(built, name):
    """The built page has an image (matplotlib's PNG) or a static widget (whose SVG the browser
    test sees drawn) below each executed cell that draws, whatever the environment the tests
    built it in (book_build.HOSTILE_ENVIRONMENT)."""
    sources = shown_code_cells(page_source(name))
    soup = BeautifulSoup((built / f"{name}.html").read_text(), "html.parser")
    cells = soup.select("div.cell")
    assert len(cells) == len(sources), f"{name}: {len(cells)} cells in the HTML, {len(sources)}"
    drawing = [
        (code, cell)
        for (code, tags), cell in zip(sources, cells, strict=True)
        if draws_a_figure(code) and "skip-execution" not in tags
    ]
    assert drawing, f"{name} draws nothing"
    blank = [
        code.splitlines()[0]
        for code, cell in drawing
        if not cell.select(".cell_output img, .cell_output svg, .cell_output .optreg-widget")
    ]
    assert not blank, f"{name}: cells drawing no image: {blank}"
    for image in soup.select(".cell_output img"):
        src = image.get("src", "")
        assert src.startswith("data:") or (built / name).parent.joinpath(src).is_file(), src


def test_kernels_get_the_books_environment_not_the_callers(tmp_path):
    hermetic = hermetic_module()
    env = hermetic.kernel_environment({**HOSTILE_ENVIRONMENT, "HOME": "/home/x"}, tmp_path)
    assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["KERAS_BACKEND"] == "tensorflow" and env["PYTHONHASHSEED"] == "0"
    assert "MATPLOTLIBRC" not in env and env["HOME"] == "/home/x"
    for name in ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR"):
        assert Path(env[name]).is_relative_to(tmp_path)


def test_the_cache_key_changes_with_settings_code_and_data(tmp_path, monkeypatch):
    hermetic = hermetic_module()
    package, data = tmp_path / "pkg", tmp_path / "results"
    package.mkdir()
    data.mkdir()
    (package / "a.py").write_text("x = 1\n")
    (data / "metrics.json").write_text("{}")
    key = hermetic.fingerprint(tmp_path, ["results"], package)
    assert hermetic.fingerprint(tmp_path, ["results"], package) == key  # deterministic
    (data / "metrics.json").write_text('{"loss": 1}')
    changed_data = hermetic.fingerprint(tmp_path, ["results"], package)
    (package / "a.py").write_text("x = 2\n")
    changed_code = hermetic.fingerprint(tmp_path, ["results"], package)
    monkeypatch.setitem(hermetic.KERNEL_ENVIRONMENT, "OMP_NUM_THREADS", "2")
    changed_settings = hermetic.fingerprint(tmp_path, ["results"], package)
    assert len({key, changed_data, changed_code, changed_settings}) == 4
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the caller's environment is not part of it
    assert hermetic.fingerprint(tmp_path, ["results"], package) == changed_settings


def test_a_cache_of_other_settings_is_removed(tmp_path):
    hermetic = hermetic_module()
    (tmp_path / ".jupyter_cache" / "old" / "executed").mkdir(parents=True)
    current = hermetic.cache_folder(tmp_path, "new")
    assert [p.name for p in (tmp_path / ".jupyter_cache").iterdir()] == ["new"] == [current.name]


def test_tables_left_as_text_are_recognised():
    """The browser test's detectors: a Markdown table shown raw (as MyST-NB's CommonMark
    rendering of ``display(Markdown(table))`` once did), and a table printed as aligned text."""
    raw = "| run | norm | best val acc |\n|---|---|---:|\n| norm-none | none | 0.708 |"
    assert raw_markdown_tables(raw) == ["|---|---|---:|"]
    assert raw_markdown_tables("a | b, and |x| = 1\nf(x) = |x - 1|") == []
    printed = (
        "initializer     measured var    target\nGlorotNormal        0.004979  0.005000\n"
        "HeNormal            0.006703  0.006667\nOrthogonal: max |W^T W - I| = 0.0"
    )
    assert text_tables(printed) == ["initializer  measured var  target"]
    assert text_tables("bias +0:  0.0% of the units never fire\nepoch 1  loss 0.3") == []
