"""The built book in headless Chromium: every page loads without JavaScript errors, its images
load, its math is typeset by the local MathJax, no table is shown as Markdown or printed text
instead of rendered, and each chapter's sliders change its figure.

Builds the book first when `_build/html` is missing or stale (the command of `make book`),
serves it on localhost and saves a screenshot of each page to `_build/screenshots/`.
Needs Debian's `chromium` and `chromium-driver` (installed by `make test`'s set-up).
"""

from __future__ import annotations

import functools
import http.server
import re
import tempfile
import threading
from pathlib import Path

import pytest
from book_build import (
    HTML,
    ROOT,
    book_lock,
    ensure_built,
    page_source,
    raw_markdown_tables,
    text_tables,
    toc_files,
)
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = [n for n in toc_files() if Path(n).name[:2].isdigit() or Path(n).name == "intro"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- the base class' signature
        pass


@pytest.fixture(scope="module")
def server():
    ensure_built()
    with book_lock(exclusive=False):  # no rebuild while the browser reads the pages
        yield from serve()


def serve():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ]:
        options.add_argument(flag)
    profile = tempfile.TemporaryDirectory(prefix="optreg-chromium-")
    options.add_argument(f"--user-data-dir={profile.name}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()
    profile.cleanup()


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) { done("no mathjax"); return; }
MathJax.startup.promise.then(() => done("typeset"), (e) => done("error: " + e));
"""

UNTYPESET_TEXT = """
const article = document.querySelector("article") || document.body;
const copy = article.cloneNode(true);
copy.querySelectorAll("pre, code, script, style, mjx-container, .optreg-widget")
    .forEach((e) => e.remove());
return copy.textContent;
"""

BROKEN_IMAGES = """
return Array.from(document.images)
  .filter((img) => !(img.complete && img.naturalWidth > 0))
  .map((img) => (img.currentSrc || img.src).slice(0, 80));
"""

SCROLL_THROUGH = """
const done = arguments[arguments.length - 1];
let y = 0;
function step() {
  window.scrollTo(0, y);
  y += window.innerHeight;
  if (y < document.body.scrollHeight + window.innerHeight) setTimeout(step, 30);
  else { window.scrollTo(0, 0); setTimeout(done, 200); }
}
step();
"""


# What the reader sees of the page, without the cells' source code (which may well build a
# Markdown table as a string).
VISIBLE_TEXT = """
const article = document.querySelector("article") || document.body;
const inputs = Array.from(article.querySelectorAll(".cell_input"));
inputs.forEach((e) => { e.dataset.display = e.style.display; e.style.display = "none"; });
const text = article.innerText;
inputs.forEach((e) => { e.style.display = e.dataset.display; });
return text;
"""

# Text outputs of cells (printed or returned), not the package source they list.
OUTPUT_TEXTS = """
return Array.from(document.querySelectorAll(".cell_output pre"))
  .filter((pre) => !pre.closest("[class*=highlight-python]"))
  .map((pre) => pre.innerText);
"""


def has_math(name: str) -> bool:
    text = page_source(name).read_text()
    return bool(re.search(r"\$[^$\n]+\$|\$\$|\\begin\{", text))


def severe_errors(driver) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]


def open_page(driver, url: str) -> str:
    driver.get(url)
    driver.execute_async_script(SCROLL_THROUGH)  # loads lazy images
    return driver.execute_async_script(WAIT_FOR_MATHJAX)


@pytest.mark.parametrize("name", toc_files())
def test_page_loads_cleanly(server, browser, name):
    browser.get_log("browser")  # drop what earlier pages left
    state = open_page(browser, f"{server}/{name}.html")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name.replace('/', '_')}.png"))
    assert not state.startswith("error"), state
    assert browser.execute_script(BROKEN_IMAGES) == []
    if has_math(name):
        assert state == "typeset", f"{name}: MathJax did not run ({state})"
        assert browser.find_elements(By.CSS_SELECTOR, "mjx-container")
        text = browser.execute_script(UNTYPESET_TEXT)
        for raw in ["$$", "\\(", "\\[", "\\begin{"]:
            assert raw not in text, f"{name}: raw TeX {raw!r} left on the page"
    raw = raw_markdown_tables(browser.execute_script(VISIBLE_TEXT))
    assert not raw, f"{name}: Markdown tables shown as text: {raw}"
    printed = [row for text in browser.execute_script(OUTPUT_TEXTS) for row in text_tables(text)]
    assert not printed, f"{name}: tables printed as text instead of rendered: {printed}"
    errors = severe_errors(browser)
    assert not errors, f"{name}: JavaScript errors {errors}"


def figure_of(widget) -> str:
    return widget.find_element(By.CSS_SELECTOR, ".optreg-panels").get_attribute("innerHTML")


@pytest.mark.parametrize("name", CHAPTERS)
def test_sliders_change_the_figure(server, browser, name):
    browser.get_log("browser")
    open_page(browser, f"{server}/{name}.html")
    widgets = browser.find_elements(By.CSS_SELECTOR, ".optreg-widget")
    assert widgets, f"{name} has no interactive figure"
    moved = 0
    for k, widget in enumerate(widgets):
        assert widget.find_elements(By.CSS_SELECTOR, ".optreg-panels svg, .optreg-panels img"), (
            f"{name}: widget {k} shows no figure"
        )
        for slider in widget.find_elements(By.CSS_SELECTOR, "input[type=range]"):
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
            before, value = figure_of(widget), slider.get_attribute("value")
            key = Keys.ARROW_LEFT if value == slider.get_attribute("max") else Keys.ARROW_RIGHT
            slider.send_keys(key)
            assert slider.get_attribute("value") != value, f"{name}: slider did not move"
            assert figure_of(widget) != before, f"{name}: widget {k}'s figure did not change"
            moved += 1
        for select in widget.find_elements(By.CSS_SELECTOR, "select"):
            before = figure_of(widget)
            browser.execute_script(
                "arguments[0].selectedIndex = (arguments[0].selectedIndex + 1) % "
                "arguments[0].options.length; arguments[0].dispatchEvent(new Event('change'));",
                select,
            )
            assert figure_of(widget) != before, f"{name}: a drop-down did not change the figure"
        widget.screenshot(str(SCREENSHOTS / f"{name.replace('/', '_')}-widget{k}.png"))
    assert moved >= 1, f"{name}: no slider to move"
    assert severe_errors(browser) == []
