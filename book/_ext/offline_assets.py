"""Serve MathJax, require.js and the Jupyter widget manager from the book itself.

The built book must work without internet (a cluster, a classroom). Sphinx and MyST-NB load
these three JavaScript packages from CDNs by default; this local Sphinx extension instead
installs pinned versions from the npm registry at build time (with ``npm pack``, or a plain
HTTPS download of the same tarball when npm is absent), checks each tarball against its
published SHA-512 integrity, unpacks the files the book needs into
``_build/.offline-assets/static/vendor/`` and points Sphinx at them:

- ``mathjax_path`` -> ``_static/vendor/mathjax/tex-mml-chtml.js`` (fonts are loaded relative to it);
- ``nb_ipywidgets_js`` -> ``_static/vendor/require.js`` and
  ``_static/vendor/html-manager/embed-amd.js`` (used by pages that embed ipywidgets state);
- sphinx-thebe (unused: no Thebe button) is unhooked, so no page names its CDN copy.

Downloads are cached: an unchanged rebuild touches no network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
REGISTRY = "https://registry.npmjs.org"
ASSETS_DIR = Path("_build") / ".offline-assets"


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm package and the part of it the book serves."""

    name: str
    version: str
    integrity: str  # "sha512-<base64>" as published (`npm view NAME@VERSION dist.integrity`)
    members: tuple[str, ...]  # paths inside the tarball's "package/" folder to copy
    target: str  # folder under vendor/

    @property
    def tarball_name(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    @property
    def tarball_url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


PACKAGES = (
    NpmPackage(
        name="mathjax",
        version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO"
        "+geW0OhGw==",
        # The combined TeX+MathML/CHTML bundle, and what it loads lazily: TeX extensions,
        # the CHTML fonts, the menu and the accessibility components.
        members=("es5/tex-mml-chtml.js", "es5/input", "es5/output/chtml", "es5/ui", "es5/a11y",
                 "es5/sre", "es5/adaptors", "LICENSE"),
        target="mathjax",
    ),
    NpmPackage(
        name="requirejs",
        version="2.3.8",
        integrity="sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFl"
        "yQXSowL6Mw==",
        members=("require.js",),
        target="",
    ),
    NpmPackage(
        name="@jupyter-widgets/html-manager",
        version="1.0.15",
        integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp"
        "47bCrJ3CQA==",
        members=("dist/embed-amd.js", "dist/embed-amd.js.LICENSE.txt", "LICENSE"),
        target="html-manager",
    ),
)
MATHJAX_PATH = "vendor/mathjax/tex-mml-chtml.js"
REQUIRE_JS = "vendor/require.js"
WIDGET_MANAGER_JS = "vendor/html-manager/embed-amd.js"


def integrity_of(data: bytes) -> str:
    """The npm ``dist.integrity`` string of a tarball's bytes."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_tarball(package: NpmPackage, cache: Path, use_npm: bool | None = None) -> bytes:
    """Return the package's tarball, from the cache or the registry, after checking its hash."""
    path = cache / package.tarball_name
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if use_npm is None:
            use_npm = shutil.which("npm") is not None
        spec = f"{package.name}@{package.version}"
        if use_npm:
            LOGGER.info(f"offline assets: npm pack {spec}")
            subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(cache)],
                           check=True, capture_output=True, timeout=300)
        else:
            LOGGER.info(f"offline assets: downloading {package.tarball_url}")
            with urllib.request.urlopen(package.tarball_url, timeout=120) as response:
                path.write_bytes(response.read())
    data = path.read_bytes()
    if integrity_of(data) != package.integrity:
        path.unlink()
        raise ExtensionError(
            f"offline assets: {package.tarball_name} does not match its published integrity "
            f"{package.integrity}; the damaged download was removed, build again to refetch it."
        )
    return data


def unpack(package: NpmPackage, data: bytes, vendor: Path) -> None:
    """Copy the package's selected members into ``vendor/<target>``."""
    target = vendor / package.target
    wanted = tuple(f"package/{member}" for member in package.members)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for entry in archive.getmembers():
            inside = entry.name.startswith(wanted) and entry.isfile()
            if not inside or any(name in (".", "..") for name in Path(entry.name).parts):
                continue
            relative = Path(entry.name).relative_to("package")
            if len(package.members) == 1 and package.members[0] == str(relative):
                relative = Path(relative.name)
            elif relative.parts[0] in ("es5", "dist"):
                relative = Path(*relative.parts[1:])
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(entry)
            assert source is not None  # entry.isfile() above
            destination.write_bytes(source.read())


def install_assets(root: Path, use_npm: bool | None = None) -> Path:
    """Make sure every package is unpacked under ``root/_build/.offline-assets``; return the
    folder to add to ``html_static_path`` (it holds ``vendor/``)."""
    base = root / ASSETS_DIR
    static = base / "static"
    vendor = static / "vendor"
    for package in PACKAGES:
        stamp = vendor / f".{package.tarball_name}.ok"
        if stamp.exists():
            continue
        data = fetch_tarball(package, base / "tarballs", use_npm)
        unpack(package, data, vendor)
        stamp.write_text(package.integrity)
    return static


def configure(app: Sphinx, config: Config) -> None:
    static = install_assets(Path(app.confdir))
    config.html_static_path = [*config.html_static_path, str(static)]
    config.mathjax_path = MATHJAX_PATH
    config.nb_ipywidgets_js = {
        REQUIRE_JS: {},
        # Widget modules other than the bundled core controls are looked up here, never on a CDN.
        WIDGET_MANAGER_JS: {"data-jupyter-widgets-cdn": "_static/vendor/npm/"},
    }


def drop_thebe(app: Sphinx, config: Config) -> None:
    """Unhook sphinx-thebe, which Jupyter Book always loads.

    The book has no Thebe button (launch buttons open Binder or Colab instead), yet the extension
    writes a loader naming a CDN copy of Thebe into every page. Without its event handlers it
    adds nothing to the pages.
    """
    for event in ("env-before-read-docs", "doctree-resolved"):
        for listener in list(app.events.listeners.get(event, [])):
            if getattr(listener.handler, "__module__", "") == "sphinx_thebe":
                app.disconnect(listener.id)


def setup(app: Sphinx) -> dict[str, object]:
    # Priority 900: after myst_nb has registered its own config values.
    app.connect("config-inited", configure, priority=900)
    app.connect("config-inited", drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
