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

from optreg.widgets.ch1_optimizers import (
    RACE_GROUPS,
    RACE_SETTINGS,
    momentum_explorer,
    optimizer_race,
    safe_trajectory,
)
from optreg.widgets.ch2_schedules import (
    noisy_regression,
    schedule_explorer,
    train_regression,
)
from optreg.widgets.ch3_initialization import (
    activation_explorer,
    deep_statistics,
)
from optreg.widgets.ch4_normalization import (
    normalization_explorer,
)
from optreg.widgets.ch5_regularization import (
    dropout_explorer,
    penalty_explorer,
)
from optreg.widgets.ch6_augmentation import (
    augmentation_explorer,
    test_card,
)
from optreg.widgets.engine import (
    PALETTE,
    Explorer,
    Line,
    Picture,
    Plot,
    Slider,
    figure_data_uri,
    landscape_background,
    png_data_uri,
    render_matplotlib,
)
from optreg.widgets.engine import (
    Panel as Panel,
)
from optreg.widgets.source import (
    SourceCode,
    show_source,
)

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
    "RACE_GROUPS",
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
