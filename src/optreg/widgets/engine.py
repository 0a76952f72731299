"""The explorer engine: panels, controls, frames as JSON, the static HTML snippet and the live
``ipywidgets`` view. See ``optreg.widgets``.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "Slider",
    "Line",
    "Plot",
    "Picture",
    "Explorer",
    "png_data_uri",
    "figure_data_uri",
    "landscape_background",
    "render_matplotlib",
    "PALETTE",
]


#: matplotlib's tab10 colours, used in order for lines without a colour
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_LIMIT = 1e6  # coordinates are clipped to +-_LIMIT (a diverging run stays drawable)


@dataclass
class Slider:
    """A control: ``name`` is the keyword passed to ``draw``, ``values`` its finite grid.

    Numbers give a range slider; strings (or ``kind="select"``) give a drop-down list.
    ``default`` (one of ``values``) is the initial position, the middle value by default.
    """

    name: str
    values: Sequence[Any]
    label: str | None = None
    default: Any = None
    fmt: str = "{}"
    kind: str | None = None

    def __post_init__(self) -> None:
        self.values = list(self.values)
        if not self.values:
            raise ValueError(f"values of slider {self.name!r} must not be empty")
        if self.kind is None:
            numeric = all(isinstance(v, int | float | np.number) for v in self.values)
            self.kind = "range" if numeric else "select"
        if self.kind not in ("range", "select"):
            raise ValueError(f"kind must be 'range' or 'select', got {self.kind!r}")
        if self.default is None:
            self.default = self.values[(len(self.values) - 1) // 2]
        if self.default not in self.values:
            raise ValueError(f"default {self.default!r} is not one of the values of {self.name!r}")
        if self.label is None:
            self.label = self.name.replace("_", " ")

    @property
    def default_index(self) -> int:
        return self.values.index(self.default)

    def text(self, value: Any) -> str:
        return self.fmt.format(value)


@dataclass
class Line:
    """A polyline in data coordinates; non-finite points break the line."""

    x: Any
    y: Any
    label: str = ""
    color: str | None = None
    width: float = 2.0
    dash: str | None = None  # SVG dash pattern, e.g. "4 3"
    markers: bool = False  # dots at the points (trajectories)
    opacity: float = 1.0


@dataclass
class Plot:
    """Axes with lines; ``background`` is an image (data URI) spanning exactly xlim x ylim."""

    lines: list[Line]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logx: bool = False
    logy: bool = False
    background: str | None = None
    legend: bool = True
    width: int = 420
    height: int = 320
    note: str = ""  # a line of text under the axes (e.g. a measured figure)


@dataclass
class Picture:
    """An image panel (data URI), drawn with crisp pixels when ``pixelated``."""

    src: str
    title: str = ""
    width: int = 420
    pixelated: bool = True
    note: str = ""


Panel = Plot | Picture


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------
def png_data_uri(
    image: np.ndarray, cmap: str = "gray", vmin: float | None = None, vmax: float | None = None
) -> str:
    """A PNG data URI of a 2-D (colormapped) or HxWx3/4 (RGB[A], floats in [0, 1]) array."""
    import matplotlib.image

    image = np.asarray(image)
    buffer = io.BytesIO()
    if image.ndim == 3:
        matplotlib.image.imsave(buffer, np.clip(image, 0, 1), format="png")
    else:
        matplotlib.image.imsave(buffer, image, cmap=cmap, vmin=vmin, vmax=vmax, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def figure_data_uri(figure: Any, dpi: int = 80) -> str:
    """A PNG data URI of a matplotlib figure (closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def landscape_background(
    function: Any,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    levels: int = 25,
    size: tuple[int, int] = (420, 320),
) -> str:
    """Filled contours of an ``optreg.landscapes`` function (log-spaced levels) as a data URI.

    The image spans the window exactly (no margins), to sit under a :class:`Plot` with the
    same ``xlim``/``ylim``.
    """
    import matplotlib.pyplot as plt

    from optreg.landscapes import contour_grid, get

    function = get(function)
    X, Y, Z = contour_grid(function, xlim, ylim, n=160)
    offset = np.nanmin(Z)
    shifted = Z - offset + 1e-3 * (np.nanmax(Z) - offset + 1e-12)
    level_values = np.geomspace(np.nanmin(shifted), np.nanmax(shifted), levels)
    dpi = 100
    figure = plt.figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.contourf(X, Y, shifted, levels=level_values, cmap="Blues_r", alpha=0.85, norm="log")
    axes.contour(X, Y, shifted, levels=level_values, colors="white", linewidths=0.5, alpha=0.7)
    for mx, my in getattr(function, "minima", []):
        axes.plot(mx, my, marker="*", color="gold", markersize=12, markeredgecolor="black")
    axes.set_xlim(X.min(), X.max())
    axes.set_ylim(Y.min(), Y.max())
    axes.set_axis_off()
    return figure_data_uri(figure, dpi=dpi)


# --------------------------------------------------------------------------------------------
# Serialization of frames
# --------------------------------------------------------------------------------------------
def _round(values: Any) -> list[float | None]:
    """4 significant digits, clipped to +-_LIMIT; NaN and infinities become None (a gap)."""
    out: list[float | None] = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        out.append(float(f"{max(-_LIMIT, min(_LIMIT, v)):.4g}") if math.isfinite(v) else None)
    return out


class _Store:
    """Deduplicates images (data URIs) and lines: frames refer to them by index."""

    def __init__(self) -> None:
        self.images: list[str] = []
        self.lines: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str], int] = {}

    def _ref(self, kind: str, key: str, item: Any, table: list[Any]) -> int:
        if (kind, key) not in self._index:
            self._index[kind, key] = len(table)
            table.append(item)
        return self._index[kind, key]

    def image(self, uri: str | None) -> int | None:
        return None if uri is None else self._ref("image", uri, uri, self.images)

    def line(self, line: Line, color: str) -> int:
        x, y = np.asarray(line.x, dtype=float), np.asarray(line.y, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"line {line.label!r}: x and y shapes differ, {x.shape} vs {y.shape}")
        item = {
            "x": _round(x),
            "y": _round(y),
            "label": line.label,
            "color": color,
            "width": line.width,
            "dash": line.dash,
            "markers": line.markers,
            "opacity": line.opacity,
        }
        return self._ref("line", json.dumps(item), item, self.lines)


def _panel_json(panel: Panel, store: _Store) -> dict[str, Any]:
    if isinstance(panel, Picture):
        return {
            "kind": "picture",
            "src": store.image(panel.src),
            "title": panel.title,
            "width": panel.width,
            "pixelated": panel.pixelated,
            "note": panel.note,
        }
    lines = [
        store.line(line, line.color or PALETTE[i % len(PALETTE)])
        for i, line in enumerate(panel.lines)
    ]
    return {
        "kind": "plot",
        "lines": lines,
        "xlim": list(panel.xlim),
        "ylim": list(panel.ylim),
        "title": panel.title,
        "xlabel": panel.xlabel,
        "ylabel": panel.ylabel,
        "logx": panel.logx,
        "logy": panel.logy,
        "background": store.image(panel.background),
        "legend": panel.legend,
        "width": panel.width,
        "height": panel.height,
        "note": panel.note,
    }


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
@dataclass
class Explorer:
    """Precomputed interactive figure: ``draw(**values) -> list of panels``, one value per slider.

    ``display(explorer)`` shows the static, kernel-free version; ``explorer.interact()`` the
    live ipywidgets one.
    """

    draw: Callable[..., Sequence[Panel]]
    sliders: list[Slider]
    title: str = ""
    caption: str = ""
    _cache: dict[tuple[int, ...], list[Panel]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.sliders]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"sliders must be a non-empty list with distinct names, got {names}")

    @property
    def size(self) -> int:
        """Number of frames (combinations of slider values)."""
        return math.prod(len(s.values) for s in self.sliders)

    def frame(self, **values: Any) -> list[Panel]:
        """The panels for one combination of slider values (cached)."""
        unknown = set(values) - {s.name for s in self.sliders}
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}")
        key = tuple(s.values.index(values.get(s.name, s.default)) for s in self.sliders)
        if key not in self._cache:
            panels = list(
                self.draw(**{s.name: s.values[i] for s, i in zip(self.sliders, key, strict=True)})
            )
            if not panels or not all(isinstance(p, Plot | Picture) for p in panels):
                raise ValueError("draw must return a non-empty list of Plot/Picture panels")
            self._cache[key] = panels
        return self._cache[key]

    def to_json(self) -> dict[str, Any]:
        """Every frame and the controls, as the inline script reads them."""
        store = _Store()
        frames = {}
        for key in itertools.product(*(range(len(s.values)) for s in self.sliders)):
            values = {s.name: s.values[i] for s, i in zip(self.sliders, key, strict=True)}
            frames[",".join(map(str, key))] = [_panel_json(p, store) for p in self.frame(**values)]
        controls = [
            {
                "name": s.name,
                "label": s.label,
                "kind": s.kind,
                "texts": [s.text(v) for v in s.values],
                "index": s.default_index,
            }
            for s in self.sliders
        ]
        return {
            "controls": controls,
            "frames": frames,
            "images": store.images,
            "lines": store.lines,
        }

    def to_html(self) -> str:
        """The self-contained static widget: controls, an SVG figure and the inline script."""
        uid = "optreg-" + uuid.uuid4().hex[:12]
        data = json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/")  # never close the <script> early
        title = f'<div class="optreg-title">{html.escape(self.title)}</div>' if self.title else ""
        caption = (
            f'<div class="optreg-caption">{html.escape(self.caption)}</div>' if self.caption else ""
        )
        return (
            f'<div class="optreg-widget" id="{uid}">{title}'
            f'<div class="optreg-controls"></div><div class="optreg-panels"></div>{caption}'
            f"<noscript>This interactive figure needs JavaScript.</noscript></div>"
            f"<style>{_CSS}</style>"
            f'<script type="application/json" id="{uid}-data">{data}</script>'
            f"<script>{_JS}\nwindow.optregExplorer(document.getElementById({json.dumps(uid)}),"
            f"JSON.parse(document.getElementById({json.dumps(uid + '-data')}).textContent));"
            f"</script>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def interact(self) -> Any:
        """The live version: ipywidgets controls whose callback calls ``draw`` and plots."""
        import ipywidgets
        import matplotlib.pyplot as plt

        controls = {}
        for s in self.sliders:
            options = [(s.text(v), v) for v in s.values]
            if s.kind == "range":
                controls[s.name] = ipywidgets.SelectionSlider(
                    options=options,
                    value=s.default,
                    description=s.label,
                    continuous_update=False,
                    style={"description_width": "initial"},
                )
            else:
                controls[s.name] = ipywidgets.Dropdown(
                    options=options, value=s.default, description=s.label
                )

        def show(**values: Any) -> None:
            render_matplotlib(self.frame(**values), title=self.title)
            plt.show()

        output = ipywidgets.interactive_output(show, controls)
        return ipywidgets.VBox([ipywidgets.HBox(list(controls.values())), output])


def render_matplotlib(panels: Sequence[Panel], title: str = "") -> Any:
    """Draw panels side by side with matplotlib (used by the live widget); returns the figure."""
    import matplotlib.image
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        if isinstance(panel, Picture):
            raw = base64.b64decode(panel.src.split(",", 1)[1])
            ax.imshow(
                matplotlib.image.imread(io.BytesIO(raw)),
                interpolation="nearest" if panel.pixelated else "antialiased",
            )
            ax.set_axis_off()
        else:
            if panel.background is not None:
                raw = base64.b64decode(panel.background.split(",", 1)[1])
                ax.imshow(
                    matplotlib.image.imread(io.BytesIO(raw)),
                    aspect="auto",
                    extent=(*panel.xlim, *panel.ylim),
                )
            for i, line in enumerate(panel.lines):
                ax.plot(
                    line.x,
                    line.y,
                    label=line.label or None,
                    lw=line.width,
                    color=line.color or PALETTE[i % len(PALETTE)],
                    alpha=line.opacity,
                    marker="." if line.markers else None,
                    linestyle="--" if line.dash else "-",
                )
            ax.set_xscale("log" if panel.logx else "linear")
            ax.set_yscale("log" if panel.logy else "linear")
            ax.set_xlim(panel.xlim)
            ax.set_ylim(panel.ylim)
            ax.set_xlabel(panel.xlabel)
            ax.set_ylabel(panel.ylabel)
            if panel.legend and any(line.label for line in panel.lines):
                ax.legend(fontsize="small")
        ax.set_title(panel.title)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------------
# Front end: resources/explorer.js and explorer.css, inlined into every widget
# --------------------------------------------------------------------------------------------
def _resource(name: str) -> str:
    return (resources.files("optreg") / "resources" / name).read_text(encoding="utf-8")


_CSS = _resource("explorer.css")
_JS = _resource("explorer.js")
