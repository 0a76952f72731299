"""Interactive figures that work in a live kernel *and* in the static book.

A widget here is an :class:`Explorer`: a ``draw(**values)`` function that returns panels
(:class:`Plot` with lines over an optional background image, or :class:`Picture`) and a few
controls (:class:`Slider`), each with a finite list of values.

* In the static book, ``display(explorer)`` (or leaving it as the last expression of a cell)
  evaluates ``draw`` for every combination of control values, stores the frames as JSON, and
  emits a self-contained HTML snippet: native ``<input type="range">``/``<select>`` controls and
  a small inline script that draws the selected frame as SVG. It needs no kernel, no CDN and
  no widget manager, so the sliders respond in the rendered HTML, offline.
* In a live kernel, :meth:`Explorer.interact` gives the same figure as ``ipywidgets`` controls
  whose callback calls ``draw`` (any value of the grids, recomputed on each move) and draws the
  panels with matplotlib.

Keep grids small: the static snippet holds every frame (a few hundred kilobytes at most).
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
    "SourceCode",
    "show_source",
    "momentum_explorer",
    "optimizer_race",
    "RACE_SETTINGS",
    "augmentation_explorer",
    "test_card",
    "dropout_explorer",
    "penalty_explorer",
    "normalization_explorer",
    "activation_explorer",
    "deep_statistics",
    "schedule_explorer",
    "noisy_regression",
    "train_regression",
    "safe_trajectory",
    "PALETTE",
]

#: matplotlib's tab10 colours, used in order for lines without a colour
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
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
def png_data_uri(image: np.ndarray, cmap: str = "gray", vmin: float | None = None,
                 vmax: float | None = None) -> str:
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


def landscape_background(function: Any, xlim: tuple[float, float] | None = None,
                         ylim: tuple[float, float] | None = None, levels: int = 25,
                         size: tuple[int, int] = (420, 320)) -> str:
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
    axes.contourf(X, Y, shifted, levels=level_values, cmap="Blues_r", alpha=0.85,
                  norm="log")
    axes.contour(X, Y, shifted, levels=level_values, colors="white", linewidths=0.5,
                 alpha=0.7)
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
        item = {"x": _round(x), "y": _round(y), "label": line.label, "color": color,
                "width": line.width, "dash": line.dash, "markers": line.markers,
                "opacity": line.opacity}
        return self._ref("line", json.dumps(item), item, self.lines)


def _panel_json(panel: Panel, store: _Store) -> dict[str, Any]:
    if isinstance(panel, Picture):
        return {"kind": "picture", "src": store.image(panel.src), "title": panel.title,
                "width": panel.width, "pixelated": panel.pixelated, "note": panel.note}
    lines = [store.line(line, line.color or PALETTE[i % len(PALETTE)])
             for i, line in enumerate(panel.lines)]
    return {"kind": "plot", "lines": lines, "xlim": list(panel.xlim), "ylim": list(panel.ylim),
            "title": panel.title, "xlabel": panel.xlabel, "ylabel": panel.ylabel,
            "logx": panel.logx, "logy": panel.logy, "background": store.image(panel.background),
            "legend": panel.legend, "width": panel.width, "height": panel.height,
            "note": panel.note}


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
            panels = list(self.draw(**{s.name: s.values[i] for s, i in zip(self.sliders, key,
                                                                             strict=True)}))
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
            frames[",".join(map(str, key))] = [_panel_json(p, store)
                                               for p in self.frame(**values)]
        controls = [{"name": s.name, "label": s.label, "kind": s.kind,
                     "texts": [s.text(v) for v in s.values], "index": s.default_index}
                    for s in self.sliders]
        return {"controls": controls, "frames": frames, "images": store.images,
                "lines": store.lines}

    def to_html(self) -> str:
        """The self-contained static widget: controls, an SVG figure and the inline script."""
        uid = "optreg-" + uuid.uuid4().hex[:12]
        data = json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/")  # never close the <script> early
        title = f'<div class="optreg-title">{html.escape(self.title)}</div>' if self.title else ""
        caption = (f'<div class="optreg-caption">{html.escape(self.caption)}</div>'
                   if self.caption else "")
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
                    options=options, value=s.default, description=s.label,
                    continuous_update=False, style={"description_width": "initial"})
            else:
                controls[s.name] = ipywidgets.Dropdown(options=options, value=s.default,
                                                       description=s.label)

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
            ax.imshow(matplotlib.image.imread(io.BytesIO(raw)),
                      interpolation="nearest" if panel.pixelated else "antialiased")
            ax.set_axis_off()
        else:
            if panel.background is not None:
                raw = base64.b64decode(panel.background.split(",", 1)[1])
                ax.imshow(matplotlib.image.imread(io.BytesIO(raw)), aspect="auto",
                          extent=(*panel.xlim, *panel.ylim))
            for i, line in enumerate(panel.lines):
                ax.plot(line.x, line.y, label=line.label or None, lw=line.width,
                        color=line.color or PALETTE[i % len(PALETTE)], alpha=line.opacity,
                        marker="." if line.markers else None,
                        linestyle="--" if line.dash else "-")
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


# --------------------------------------------------------------------------------------------
# Showing the package's own source in a page
# --------------------------------------------------------------------------------------------
@dataclass
class SourceCode:
    """The source of a package object, rendered as a highlighted code block.

    Pages call ``show_source(optreg.optimizers.Adam.update_step)`` instead of copying code,
    so the book always shows the code the figures were computed with.
    """

    code: str
    title: str

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.code else "```"
        return f"*{self.title}*\n\n{fence}python\n{self.code}\n{fence}\n"

    def __repr__(self) -> str:
        return self.code


def show_source(obj: Any) -> SourceCode:
    """The dedented source of a function, method or class, labelled with its qualified name."""
    import inspect
    import textwrap

    code = textwrap.dedent(inspect.getsource(obj)).rstrip()
    module = getattr(obj, "__module__", "")
    return SourceCode(code, f"{module}.{getattr(obj, '__qualname__', '')}")


# --------------------------------------------------------------------------------------------
# Ready-made explorers of the optimizer chapter
# --------------------------------------------------------------------------------------------
def momentum_explorer(condition_number: float = 20.0, steps: int = 80,
                      learning_rates: Sequence[float] | None = None,
                      momenta: Sequence[float] | None = None) -> Explorer:
    """Distill-style figure: step size and momentum of ``SGD`` on the elongated bowl.

    Left, the trajectory over the contours; right, the loss per step (log scale), with the
    optimal (step size, momentum) pair of the quadratic (Polyak's heavy ball) marked.
    """
    from optreg.landscapes import ElongatedBowl
    from optreg.optimizers import SGD

    bowl = ElongatedBowl(condition_number=condition_number)
    kappa = bowl.condition_number
    if learning_rates is None:
        limit = 2.0 / kappa  # plain gradient descent diverges beyond 2 / lambda_max
        learning_rates = [float(f"{v:.3g}") for v in np.linspace(0.05, 1.2, 12) * limit]
    if momenta is None:
        momenta = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99]
    best_lr = (2.0 / (1.0 + math.sqrt(kappa))) ** 2
    best_momentum = ((math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)) ** 2
    background = landscape_background(bowl)
    start = bowl.default_start
    step_axis = np.arange(steps + 1)
    best_loss = _heavy_ball_loss(bowl, best_lr, best_momentum, start, steps)

    def draw(learning_rate: float, momentum: float) -> list[Panel]:
        path = safe_trajectory(bowl, SGD(learning_rate, momentum=momentum), start, steps)
        loss = bowl.value(path)
        final = loss[-1]
        diverged = not np.isfinite(final) or final > loss[0]
        verdict = "diverges" if diverged else f"{final:.2g}"
        return [
            Plot([Line(path[:, 0], path[:, 1], color="#d62728", markers=True, width=1.5)],
                 bowl.xlim, bowl.ylim, title="trajectory", xlabel="x", ylabel="y",
                 background=background, legend=False),
            Plot([Line(step_axis, loss, label=f"lr={learning_rate:g}, momentum={momentum:g}",
                       color="#d62728"),
                  Line(step_axis, best_loss, label="optimal pair", color="#7f7f7f", dash="4 3",
                       width=1.5)],
                 (0, steps), (1e-10, 1e2), logy=True, title="loss", xlabel="step",
                 ylabel="f(x, y)", note=f"loss after {steps} steps: {verdict}"),
        ]

    return Explorer(
        draw,
        [Slider("learning_rate", learning_rates, label="step size η", fmt="{:.3g}"),
         Slider("momentum", momenta, label="momentum β", default=0.0, fmt="{:.2f}")],
        title=f"Momentum on an elongated bowl (condition number κ = {kappa:g})",
        caption=(f"Gradient descent is stable only for η < 2/κ = {2 / kappa:.3g}. The best "
                 f"heavy-ball pair for this bowl is η = {best_lr:.3g}, β = {best_momentum:.3g} "
                 "(dashed)."),
    )


def safe_trajectory(function: Any, optimizer: Any, start: Any, steps: int,
                    bound: float = 1e3) -> np.ndarray:
    """The loop of ``optreg.landscapes.trajectory``, stopped once the point leaves a large box.

    A diverging run would end in infinite gradients, which the optimizers refuse; the rest of
    the path is NaN (drawn as nothing).
    """
    from optreg.landscapes import get

    function = get(function)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = start
    point = path[0].copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):  # trajectory's loop, stopped before a non-finite gradient
            grad = function.gradient(point)
            if not np.all(np.isfinite(grad)):
                break
            optimizer.apply([grad], [point])
            if not np.all(np.isfinite(point)) or np.abs(point).max() > bound:
                break
            path[t] = point
    return path


def _heavy_ball_loss(bowl: Any, learning_rate: float, momentum: float, start: Any,
                     steps: int) -> np.ndarray:
    from optreg.optimizers import SGD

    return bowl.value(safe_trajectory(bowl, SGD(learning_rate, momentum=momentum), start, steps))




def _race_optimizers() -> dict[str, Callable[[float], Any]]:
    from optreg import optimizers as opt

    return {
        "SGD": lambda lr: opt.SGD(lr),
        "momentum": lambda lr: opt.SGD(lr, momentum=0.9),
        "Nesterov": lambda lr: opt.SGD(lr, momentum=0.9, nesterov=True),
        "Adagrad": lambda lr: opt.Adagrad(lr, initial_accumulator_value=0.0),
        "RMSprop": lambda lr: opt.RMSprop(lr),
        "Adam": lambda lr: opt.Adam(lr),
        "Nadam": lambda lr: opt.Nadam(lr),
    }


#: landscape -> (steps, start, {optimizer: learning rate at scale 1})
RACE_SETTINGS: dict[str, tuple[int, tuple[float, float], dict[str, float]]] = {
    "elongated_bowl": (120, (-1.8, 0.6), {"SGD": 0.09, "momentum": 0.02, "Nesterov": 0.02,
                                          "Adagrad": 0.5, "RMSprop": 0.03, "Adam": 0.1,
                                          "Nadam": 0.1}),
    "rosenbrock": (400, (-1.5, 2.0), {"SGD": 1e-3, "momentum": 2e-4, "Nesterov": 2e-4,
                                       "Adagrad": 0.3, "RMSprop": 0.01, "Adam": 0.05,
                                       "Nadam": 0.05}),
    "beale": (300, (1.0, 1.5), {"SGD": 5e-3, "momentum": 1e-3, "Nesterov": 1e-3,
                                 "Adagrad": 0.5, "RMSprop": 0.02, "Adam": 0.1, "Nadam": 0.1}),
    "saddle": (60, (-1.5, 1e-3), {"SGD": 0.05, "momentum": 0.02, "Nesterov": 0.02,
                                   "Adagrad": 0.3, "RMSprop": 0.03, "Adam": 0.05,
                                   "Nadam": 0.05}),
    "himmelblau": (200, (0.0, 0.0), {"SGD": 0.01, "momentum": 2e-3, "Nesterov": 2e-3,
                                      "Adagrad": 1.0, "RMSprop": 0.05, "Adam": 0.2,
                                      "Nadam": 0.2}),
}


def optimizer_race(landscapes: Sequence[str] | None = None,
                   scales: Sequence[float] = (0.25, 0.5, 1.0, 2.0)) -> Explorer:
    """Several optimizers from one start point on the test functions of ``optreg.landscapes``.

    A drop-down picks the function; the slider multiplies every optimizer's learning rate.
    """
    from optreg.landscapes import get

    names = list(landscapes or RACE_SETTINGS)
    factories = _race_optimizers()
    backgrounds = {name: landscape_background(name) for name in names}

    def draw(function: str, scale: float) -> list[Panel]:
        landscape = get(function)
        steps, start, rates = RACE_SETTINGS[function]
        paths = {name: safe_trajectory(landscape, factories[name](rates[name] * scale), start,
                                       steps) for name in factories}
        keep = slice(None, None, max(1, steps // 150))  # at most ~150 points per line
        lines = [Line(p[keep, 0], p[keep, 1], label=name, color=PALETTE[i], width=1.8)
                 for i, (name, p) in enumerate(paths.items())]
        offset = 0.0 if landscape.minimum_value is not None else None
        losses = []
        for i, (name, p) in enumerate(paths.items()):
            value = landscape.value(p)
            if offset is None:  # unbounded below: plot the value itself
                losses.append(Line(np.arange(steps + 1)[keep], value[keep], label=name,
                                   color=PALETTE[i]))
            else:
                losses.append(Line(np.arange(steps + 1)[keep],
                                   (value - landscape.minimum_value)[keep], label=name,
                                   color=PALETTE[i]))
        if offset is None:
            loss_plot = Plot(losses, (0, steps), (-5, 3), title="value", xlabel="step",
                             ylabel="f", legend=False)
        else:
            loss_plot = Plot(losses, (0, steps), (1e-8, 1e3), logy=True, title="distance to "
                             "the minimum value", xlabel="step", ylabel="f - f*", legend=False)
        return [Plot(lines, landscape.xlim, landscape.ylim, title=landscape.name,
                     background=backgrounds[function], xlabel="x", ylabel="y"), loss_plot]

    return Explorer(
        draw,
        [Slider("function", names, label="test function", default=names[0]),
         Slider("scale", list(scales), label="learning-rate scale", default=1.0, fmt="×{:g}")],
        title="Optimizers on the test functions",
        caption="Each optimizer starts from the same point with its own learning rate (the "
                "table RACE_SETTINGS in optreg.widgets); the slider scales all of them.",
    )


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the schedules chapter
# --------------------------------------------------------------------------------------------
def noisy_regression(n_samples: int = 512, n_features: int = 20, noise: float = 1.0,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy linear regression problem (feature scales 0.5..2) for the schedule demos."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)) * np.geomspace(0.5, 2.0, n_features)
    w_true = rng.normal(size=n_features)
    return x, x @ w_true + noise * rng.normal(size=n_samples)


def train_regression(learning_rate: Any, x: np.ndarray, y: np.ndarray, steps: int = 1000,
                     batch_size: int = 4, plateau: Any = None, evaluate_every: int = 50,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Minibatch SGD (``optreg.optimizers.SGD``) on a least-squares problem.

    ``learning_rate`` is a float or an ``optreg.schedules`` schedule. With ``plateau`` (an
    ``optreg.schedules.ReduceLROnPlateau``), the full-data loss is reported to it every
    ``evaluate_every`` steps and the optimizer takes the rate it returns (performance
    scheduling). Returns ``(rates, losses)`` per step (full-data mean squared error / 2).
    """
    from optreg.optimizers import SGD

    rng = np.random.default_rng(seed)
    w = np.zeros(x.shape[1])
    optimizer = SGD(learning_rate)
    rates, losses = np.empty(steps), np.empty(steps)
    for t in range(steps):
        index = rng.integers(0, len(x), batch_size)
        residual = x[index] @ w - y[index]
        rates[t] = optimizer.current_learning_rate()
        optimizer.apply([x[index].T @ residual / batch_size], [w])
        losses[t] = 0.5 * np.mean((x @ w - y) ** 2)
        if not np.isfinite(losses[t]) or losses[t] > 1e8:  # diverged: stop here
            rates[t + 1:], losses[t + 1:] = np.nan, np.nan
            break
        if plateau is not None and (t + 1) % evaluate_every == 0:
            optimizer.learning_rate = plateau.update(losses[t])
    return rates, losses


def schedule_explorer(steps: int = 1000,
                      peak_rates: Sequence[float] = (0.01, 0.03, 0.06, 0.1, 0.2)) -> Explorer:
    """The schedules of ``optreg.schedules`` on one noisy regression problem.

    Pick a schedule and its initial (or peak) rate; left, the rate per step; right, the training
    loss of minibatch SGD with that schedule against a constant rate (grey).
    """
    from optreg import schedules

    x, y = noisy_regression()
    s = steps // 4
    w_best = np.linalg.lstsq(x, y, rcond=None)[0]
    best = 0.5 * np.mean((x @ w_best - y) ** 2)  # the lowest loss any rate can reach

    def make(name: str, eta0: float) -> tuple[Any, Any]:
        """(learning rate or schedule, plateau scheduler or None)."""
        if name == "constant":
            return eta0, None
        if name == "performance (plateau)":
            return eta0, schedules.ReduceLROnPlateau(eta0, factor=0.3, patience=2)
        table = {
            "power": lambda: schedules.PowerDecay(eta0, decay_steps=s / 4, power=1.0),
            "exponential": lambda: schedules.ExponentialDecay(eta0, decay_steps=s * 2,
                                                              decay_rate=0.1),
            "piecewise constant": lambda: schedules.PiecewiseConstantDecay(
                [s, 2 * s], [eta0, eta0 / 10, eta0 / 100]),
            "cosine with warm-up": lambda: schedules.CosineDecay(
                eta0 / 10, decay_steps=steps - s // 2, warmup_target=eta0,
                warmup_steps=s // 2),
            "1cycle": lambda: schedules.OneCycle(steps, max_learning_rate=eta0),
        }
        return table[name](), None

    names = ["constant", "power", "exponential", "piecewise constant", "performance (plateau)",
             "cosine with warm-up", "1cycle"]
    baselines = {eta0: train_regression(eta0, x, y, steps)[1] - best for eta0 in peak_rates}
    t = np.arange(steps)

    def draw(schedule: str, learning_rate: float) -> list[Panel]:
        rate, plateau = make(schedule, learning_rate)
        rates, losses = train_regression(rate, x, y, steps, plateau=plateau)
        losses = losses - best
        tail = np.nanmean(losses[-100:]) if np.isfinite(losses[-100:]).all() else float("nan")
        keep = slice(None, None, 4)  # every 4th step is plenty for the eye
        return [
            Plot([Line(t[keep], rates[keep], label=schedule, color="#1f77b4")], (0, steps),
                 (1e-6, 0.5),
                 logy=True, title="learning rate", xlabel="step", ylabel="η(t)"),
            Plot([Line(t[keep], baselines[learning_rate][keep], label="constant",
                       color="#aaaaaa"),
                  Line(t[keep], losses[keep], label=schedule, color="#d62728", width=1.5)],
                 (0, steps), (1e-4, 1e3), logy=True, title="training loss above its minimum",
                 xlabel="step", ylabel="loss - min",
                 note=f"mean excess loss over the last 100 steps: {tail:.3g}"),
        ]

    return Explorer(
        draw,
        [Slider("schedule", names, label="schedule", default="exponential"),
         Slider("learning_rate", list(peak_rates), label="initial / peak rate η₀",
                default=peak_rates[len(peak_rates) // 2], fmt="{:g}")],
        title="Learning-rate schedules: minibatch SGD (batch 4) on a noisy regression",
        caption="With a constant rate, SGD stalls at a noise floor set by the rate; decaying "
                "the rate lowers the floor. Too large a rate diverges whatever the schedule.",
    )


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the initialization chapter
# --------------------------------------------------------------------------------------------
def _initializer_choices() -> dict[str, Callable[[int], Any]]:
    from optreg import initializers as init

    return {
        "RandomNormal(0.01)": lambda seed: init.RandomNormal(stddev=0.01, seed=seed),
        "RandomNormal(1.0)": lambda seed: init.RandomNormal(stddev=1.0, seed=seed),
        "GlorotNormal": lambda seed: init.GlorotNormal(seed=seed),
        "HeNormal": lambda seed: init.HeNormal(seed=seed),
        "LecunNormal": lambda seed: init.LecunNormal(seed=seed),
        "Orthogonal": lambda seed: init.Orthogonal(seed=seed),
    }


def deep_statistics(kernels: Sequence[np.ndarray], activation: str, batch: int = 128,
                    gain: float = 1.0, seed: int = 0
                    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Push standard-normal inputs through dense layers with these kernels (biases 0) and back.

    Every kernel is multiplied by ``gain``. Returns the activations of each layer, and the
    standard deviations per layer of the activations and of the back-propagated gradient (the
    gradient w.r.t. each layer's input, for a unit-variance random gradient at the top).
    """
    from optreg import activations

    fn, grad_fn = activations.get(activation)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, kernels[0].shape[0]))
    outputs, pre = [], []
    for w in kernels:
        z = x @ (gain * w)
        x = fn(z)
        pre.append(z)
        outputs.append(x)
    d = rng.normal(size=x.shape)
    grad_std = np.empty(len(kernels))
    for k in reversed(range(len(kernels))):
        d = (d * grad_fn(pre[k])) @ (gain * kernels[k]).T
        grad_std[k] = d.std()
    return outputs, np.array([o.std() for o in outputs]), grad_std


def activation_explorer(activations: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu",
                                                       "elu", "selu", "gelu", "swish"),
                        gains: Sequence[float] = (0.5, 0.8, 1.0, 1.25, 2.0),
                        depth: int = 10) -> Explorer:
    """Activation statistics through a deep network, per initializer, activation and gain."""
    width = 100
    kernels = {name: [np.asarray(make(seed)((width, width)), dtype=np.float64)
                      for seed in range(depth)]
               for name, make in _initializer_choices().items()}
    layers = np.arange(1, depth + 1)
    shown = [1, depth // 2, depth]
    bins = np.linspace(-3, 3, 61)
    centres = (bins[:-1] + bins[1:]) / 2

    def draw(initializer: str, activation: str, gain: float) -> list[Panel]:
        outputs, act_std, grad_std = deep_statistics(kernels[initializer], activation,
                                                     gain=gain)
        with np.errstate(invalid="ignore", divide="ignore"):
            histograms = []
            for i, k in enumerate(shown):
                values = outputs[k - 1].ravel()
                scale = max(values.std(), 1e-30)
                density, _ = np.histogram(values / scale, bins=bins, density=True)
                histograms.append(Line(centres, density, label=f"layer {k} (std {scale:.2g})",
                                       color=PALETTE[i]))
        dead = float(np.mean(np.all(outputs[-1] <= 0, axis=0))) if activation == "relu" else None
        note = f"dead units in the last layer: {dead:.0%}" if dead is not None else ""
        return [
            Plot([Line(layers, act_std, label="activations", markers=True),
                  Line(layers, grad_std, label="gradients", markers=True, dash="5 3")],
                 (1, depth), (1e-6, 1e3), logy=True, title="standard deviation per layer",
                 xlabel="layer", ylabel="std", note=note),
            Plot(histograms, (-3, 3), (0, 1.2), title="activations / their std",
                 xlabel="value / std", ylabel="density"),
        ]

    return Explorer(
        draw,
        [Slider("initializer", list(kernels), label="initializer", default="GlorotNormal"),
         Slider("activation", list(activations), label="activation", default="tanh"),
         Slider("gain", list(gains), label="weights × gain", default=1.0, fmt="×{:g}")],
        title=f"Signal and gradient through {depth} dense layers of {width} units",
        caption="Calibrated initializers keep the spread of activations and gradients roughly "
                "constant across layers; multiply the weights by a gain and watch it vanish or "
                "explode geometrically with depth.",
    )


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the normalization chapter
# --------------------------------------------------------------------------------------------
def _mlp(normalization: str, depth: int = 4, units: int = 64, seed: int = 0) -> Any:
    """A ReLU MLP with no / batch / layer normalization after each hidden Dense layer."""
    from optreg import nn
    from optreg.normalization import BatchNormalization, LayerNormalization

    layers: list[Any] = []
    for k in range(depth):
        layers.append(nn.Dense(units, kernel_initializer="he_normal", seed=seed + k))
        if normalization == "batch":
            layers.append(BatchNormalization())
        elif normalization == "layer":
            layers.append(LayerNormalization())
        layers.append(nn.Activation("relu"))
    layers.append(nn.Dense(10, seed=seed + depth))
    return nn.Sequential(layers)


def normalization_explorer(x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray,
                           y_valid: np.ndarray,
                           learning_rates: Sequence[float] = (0.003, 0.01, 0.03, 0.1, 0.3),
                           epochs: int = 3, batch_size: int = 32) -> Explorer:
    """The same deep MLP without normalization, with BatchNorm and with LayerNorm, trained by
    plain SGD at the chosen learning rate: training loss per step and validation accuracy."""
    from optreg import nn
    from optreg.optimizers import SGD

    variants = {"none": "#7f7f7f", "batch": "#1f77b4", "layer": "#2ca02c"}

    def run(normalization: str, learning_rate: float) -> tuple[np.ndarray, float]:
        model = _mlp(normalization)
        losses: list[float] = []
        record = nn.LambdaCallback(
            on_train_batch_end=lambda batch, logs: losses.append(logs["batch_loss"])
            if "batch_loss" in logs else None)
        with np.errstate(all="ignore"):
            try:
                nn.fit(model, x_train, y_train, SGD(learning_rate),
                       "sparse_categorical_crossentropy", epochs=epochs, batch_size=batch_size,
                       seed=0, callbacks=[record])
                accuracy = nn.evaluate(model, x_valid, y_valid,
                                       "sparse_categorical_crossentropy")["accuracy"]
            except ValueError:  # the optimizer refuses non-finite gradients: diverged
                accuracy = float("nan")
        curve = np.array(losses, dtype=float)
        window = 10  # running mean, to see the trend through the minibatch noise
        if len(curve) >= window:
            curve = np.convolve(curve, np.ones(window) / window, mode="valid")
        return curve, accuracy

    def draw(learning_rate: float) -> list[Panel]:
        lines, notes = [], []
        for name, color in variants.items():
            curve, accuracy = run(name, learning_rate)
            keep = slice(None, None, 3)
            lines.append(Line(np.arange(len(curve))[keep], curve[keep], label=f"{name}",
                              color=color, width=1.6))
            shown = "diverged" if not np.isfinite(accuracy) else f"{accuracy:.3f}"
            notes.append(f"{name}: {shown}")
        steps = epochs * int(np.ceil(len(x_train) / batch_size))
        return [Plot(lines, (0, steps), (0.1, 5.0), logy=True,
                     title="training loss (running mean of 10 batches)", xlabel="step",
                     ylabel="loss", note="validation accuracy: " + ", ".join(notes))]

    return Explorer(
        draw,
        [Slider("learning_rate", list(learning_rates), label="SGD learning rate",
                default=learning_rates[1], fmt="{:g}")],
        title="Four ReLU layers of 64 units: no normalization vs BatchNorm vs LayerNorm",
        caption="Normalized networks train faster at a given rate and tolerate larger rates.",
    )


# --------------------------------------------------------------------------------------------
# Ready-made explorers of the regularization chapter
# --------------------------------------------------------------------------------------------
def dropout_explorer(image: np.ndarray, rates: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7),
                     seeds: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Inverted dropout (``optreg.regularization.Dropout``) on an image and on hidden units.

    Left, the image after input dropout (kept pixels scaled by 1/(1-rate)); right, the mask of
    a layer of 400 hidden units. The note compares the mean intensity before and after.
    """
    from optreg.regularization import Dropout

    image = np.asarray(image, dtype=np.float64)
    units = np.ones((20, 20))

    def draw(rate: float, seed: int) -> list[Panel]:
        dropped = Dropout(rate, seed=seed).forward(image[None], training=True)[0]
        mask = Dropout(rate, seed=seed + 100).forward(units[None], training=True)[0] > 0
        vmax = 2 * image.max()  # one colour scale for every rate: the 1/(1-p) scaling shows
        return [
            Picture(png_data_uri(dropped, cmap="gray_r", vmin=0, vmax=vmax),
                    title="input dropout (scaled by 1/(1-rate))", width=240,
                    note=f"mean pixel {image.mean():.3f} -> {dropped.mean():.3f}"),
            Picture(png_data_uri(mask.astype(float), cmap="Greens", vmin=-0.3, vmax=1),
                    title="hidden units kept (dark) this step", width=240,
                    note=f"{mask.mean():.0%} of 400 units kept"),
        ]

    return Explorer(
        draw,
        [Slider("rate", list(rates), label="dropout rate p",
                default=0.2 if 0.2 in rates else None, fmt="{:g}"),
         Slider("seed", list(seeds), label="training step (new mask)", default=seeds[0])],
        title="Inverted dropout: a new random mask at every training step",
        caption="Each unit is dropped with probability p and the survivors are multiplied by "
                "1/(1-p), so the expected activation is unchanged and inference needs no "
                "rescaling.",
    )


def penalty_explorer(strengths: Sequence[float] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
                     n_features: int = 30, steps: int = 1500) -> Explorer:
    """The weights of a linear model trained with an L1, L2 or elastic-net penalty
    (``optreg.regularizers``) of growing strength; only 5 of the features matter."""
    from optreg.optimizers import SGD
    from optreg.regularizers import L1, L1L2, L2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, n_features))
    true_w = np.zeros(n_features)
    true_w[:5] = [3.0, -2.0, 1.5, -1.0, 0.5]
    y = x @ true_w + 0.5 * rng.normal(size=200)
    index = np.arange(n_features)
    makers = {"L1": lambda s: L1(s), "L2": lambda s: L2(s), "L1L2": lambda s: L1L2(s / 2, s / 2)}

    def draw(penalty: str, strength: float) -> list[Panel]:
        regularizer = makers[penalty](strength)
        w = np.zeros(n_features)
        optimizer = SGD(0.02)
        for _ in range(steps):
            grad = x.T @ (x @ w - y) / len(y) + regularizer.gradient(w)
            optimizer.apply([grad], [w])
        small = np.mean(np.abs(w[5:]) < 1e-2)
        return [Plot([Line(index, true_w, label="true weights", color="#aaaaaa", markers=True,
                           width=1),
                      Line(index, w, label=f"{penalty}({strength:g})", color="#d62728",
                           markers=True, width=1.5)],
                     (0, n_features - 1), (-3.5, 3.5), title="learned weights", xlabel="feature",
                     ylabel="w", note=f"|w| < 0.01 for {small:.0%} of the 25 useless features; "
                                      f"‖w‖₂ = {np.linalg.norm(w):.2f}")]

    return Explorer(
        draw,
        [Slider("penalty", list(makers), label="penalty", default="L1"),
         Slider("strength", list(strengths), label="strength λ",
                default=0.1 if 0.1 in strengths else None, fmt="{:g}")],
        title="L1, L2 and elastic-net penalties on a linear model (SGD, 1,500 steps)",
        caption="L2 shrinks every weight smoothly; L1 pushes the useless ones to zero (a sparse "
                "model) at the price of shrinking the useful ones too.",
    )


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the augmentation chapter
# --------------------------------------------------------------------------------------------
def test_card(size: int = 48) -> np.ndarray:
    """A synthetic RGB image (values 0..255): hue wheel, grey ramp and coloured squares, to show
    the colour transformations on something with every hue."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = np.arctan2(yy - 0.5, xx - 0.5) / (2 * np.pi) + 0.5
    hsv = np.stack([angle, np.clip(2 * np.hypot(yy - 0.5, xx - 0.5), 0, 1), np.ones_like(xx)],
                   axis=-1)
    from matplotlib.colors import hsv_to_rgb

    image = hsv_to_rgb(hsv)
    image[: size // 6] = xx[: size // 6, :, None]  # a grey ramp on top
    return (image * 255).astype(np.float32)


def augmentation_explorer(images: np.ndarray, levels: Sequence[int] = (1, 2, 4),
                          seeds: Sequence[int] = (0, 1)) -> Explorer:
    """Preview ``optreg.augmentation``'s random layers on grey images (values 0..255).

    Top row: the originals; bottom row: one augmented copy of each. Colour transformations are
    shown on :func:`test_card` copies. The strength slider scales each layer's range.
    """
    from optreg import augmentation as aug

    grey = np.asarray(images, dtype=np.float32)[:6]
    colour = np.stack([test_card()] * 4)
    layers: dict[str, Callable[[int], Any]] = {
        "horizontal flip": lambda k: aug.RandomFlip("horizontal"),
        "crop (padding)": lambda k: aug.RandomCrop(28, 28, padding=k),
        "translation": lambda k: aug.RandomTranslation(0.05 * k, 0.05 * k, fill_mode="constant"),
        "rotation": lambda k: aug.RandomRotation(0.04 * k, fill_mode="constant"),
        "contrast": lambda k: aug.RandomContrast(0.18 * k),
        "brightness": lambda k: aug.RandomBrightness(0.12 * k),
        "gamma": lambda k: aug.RandomGamma((1 / (1 + 0.3 * k), 1 + 0.3 * k)),
        "median blur": lambda k: aug.RandomMedianBlur(2 * k + 1),
        "hue (RGB)": lambda k: aug.RandomHue(0.1 * k),
        "saturation (RGB)": lambda k: aug.RandomSaturation(0.18 * k),
    }

    def tile(batch: np.ndarray) -> np.ndarray:
        """Images side by side with a 2-pixel white gap."""
        gap = np.full((batch.shape[1], 2, *batch.shape[3:]), 255.0)
        return np.concatenate([part for image in batch for part in (image, gap)][:-1], axis=1)

    def draw(transform: str, strength: int, seed: int) -> list[Panel]:
        rgb = "RGB" in transform
        batch = colour if rgb else grey
        out = aug.augment(batch, [layers[transform](strength)], seed=seed)
        spacer = np.full((4, tile(batch).shape[1], *batch.shape[3:]), 255.0)
        grid = np.concatenate([tile(batch), spacer, tile(out)], axis=0)
        if rgb:
            uri = png_data_uri(grid / 255.0)
        else:
            uri = png_data_uri(255.0 - grid, cmap="gray", vmin=0, vmax=255)  # dark clothes
        return [Picture(uri, title="originals (top) and augmented copies (bottom)", width=540,
                        note=f"{type(layers[transform](strength)).__name__}, strength "
                             f"{strength}, seed {seed}")]

    return Explorer(
        draw,
        [Slider("transform", list(layers), label="transformation", default="rotation"),
         Slider("strength", list(levels), label="strength",
                default=2 if 2 in levels else None),
         Slider("seed", list(seeds), label="random draw", default=seeds[0])],
        title="Image augmentation previews",
    )
