"""Two-dimensional test functions for watching optimizers move.

Each landscape is an object with ``value(p)`` and ``gradient(p)`` for points ``p`` of shape
``(..., 2)`` (a single point or a whole grid at once), its known ``minima`` and a plotting window
``xlim``/``ylim``. They are the classic stress tests of the chapter:

* :class:`ElongatedBowl`: an ill-conditioned quadratic. Plain gradient descent zig-zags across the
  narrow valley; momentum and adaptive methods do better.
* :class:`Rosenbrock`: a curved, flat-bottomed banana valley.
* :class:`Beale`: steep walls and flat plateaus, minimum at (3, 0.5).
* :class:`Saddle` and :class:`MonkeySaddle`: stationary points that are not minima.
* :class:`Himmelblau`: four minima of equal value; where you end depends on where you start.

:func:`trajectory` runs any ``optreg.optimizers`` optimizer from a start point and returns the
path; :func:`contour_grid` evaluates a landscape on a grid for ``plt.contour``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optreg._validation import check_int, check_positive

__all__ = [
    "Landscape",
    "ElongatedBowl",
    "Rosenbrock",
    "Beale",
    "Saddle",
    "MonkeySaddle",
    "Himmelblau",
    "LANDSCAPES",
    "get",
    "trajectory",
    "contour_grid",
]


def _as_points(p: Any) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"p must have shape (..., 2), got shape {p.shape}")
    return p


class Landscape:
    """Base class: a smooth function of two variables with its gradient.

    Subclasses implement ``_value(x, y)`` and ``_gradient(x, y) -> (df/dx, df/dy)`` on arrays;
    the public methods take points of shape ``(..., 2)``.
    """

    name = "landscape"
    #: known global minimizers, as (x, y) pairs
    minima: list[tuple[float, float]] = []
    #: the value at the minimizers (None when unbounded below)
    minimum_value: float | None = 0.0
    #: stationary points that are saddles
    saddle_points: list[tuple[float, float]] = []
    xlim: tuple[float, float] = (-2.0, 2.0)
    ylim: tuple[float, float] = (-2.0, 2.0)
    #: a start point that makes an instructive trajectory
    default_start: tuple[float, float] = (-1.5, 1.5)

    def value(self, p: Any) -> np.ndarray | float:
        """f(p) for p of shape (..., 2); a float for a single point."""
        p = _as_points(p)
        v = self._value(p[..., 0], p[..., 1])
        return float(v) if p.ndim == 1 else v

    def gradient(self, p: Any) -> np.ndarray:
        """grad f(p), same shape as p."""
        p = _as_points(p)
        gx, gy = self._gradient(p[..., 0], p[..., 1])
        return np.stack([gx, gy], axis=-1)

    __call__ = value

    def _value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _gradient(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ElongatedBowl(Landscape):
    r"""Ill-conditioned quadratic :math:`f(p) = \tfrac12 p^\top H p`.

    :math:`H = R(\theta)\,\mathrm{diag}(1, \kappa)\,R(\theta)^\top` has eigenvalues 1 and
    ``condition_number`` :math:`\kappa`, its long axis turned by ``angle`` (radians) from the
    x axis. Gradient descent converges only for ``learning_rate < 2 / kappa`` and then crawls
    along the long axis at rate ``1 - learning_rate``: the slide's "elongated bowl".
    """

    name = "elongated bowl"
    minima = [(0.0, 0.0)]
    minimum_value = 0.0
    default_start = (-1.8, 0.6)

    def __init__(self, condition_number: float = 10.0, angle: float = 0.0) -> None:
        self.condition_number = check_positive("condition_number", condition_number)
        if self.condition_number < 1.0:
            raise ValueError(f"condition_number must be >= 1, got {condition_number!r}")
        self.angle = float(angle)
        c, s = np.cos(self.angle), np.sin(self.angle)
        rotation = np.array([[c, -s], [s, c]])
        self.hessian = rotation @ np.diag([1.0, self.condition_number]) @ rotation.T

    def _value(self, x, y):
        (a, b), (_, d) = self.hessian
        return 0.5 * (a * x * x + 2 * b * x * y + d * y * y)

    def _gradient(self, x, y):
        (a, b), (_, d) = self.hessian
        return a * x + b * y, b * x + d * y

    def __repr__(self) -> str:
        return f"ElongatedBowl(condition_number={self.condition_number:g}, angle={self.angle:g})"


class Rosenbrock(Landscape):
    r""":math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum 0 at :math:`(a, a^2)`."""

    name = "Rosenbrock"
    xlim = (-2.0, 2.0)
    ylim = (-1.0, 3.0)
    default_start = (-1.5, 2.0)

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a = float(a)
        self.b = check_positive("b", b)
        self.minima = [(self.a, self.a**2)]

    def _value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def _gradient(self, x, y):
        r = y - x * x
        return -2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r

    def __repr__(self) -> str:
        return f"Rosenbrock(a={self.a:g}, b={self.b:g})"


class Beale(Landscape):
    r""":math:`f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`,
    minimum 0 at (3, 0.5)."""

    name = "Beale"
    minima = [(3.0, 0.5)]
    xlim = (-4.5, 4.5)
    ylim = (-4.5, 4.5)
    default_start = (1.0, 1.5)
    _constants = (1.5, 2.25, 2.625)

    def _terms(self, x, y):
        # term k (k = 1, 2, 3) is c_k - x + x y^k; its derivatives are (y^k - 1, k x y^(k-1))
        return [
            (c - x + x * y**k, y**k - 1.0, k * x * y ** (k - 1))
            for k, c in enumerate(self._constants, start=1)
        ]

    def _value(self, x, y):
        return sum(t * t for t, _, _ in self._terms(x, y))

    def _gradient(self, x, y):
        terms = self._terms(x, y)
        return (sum(2 * t * dx for t, dx, _ in terms), sum(2 * t * dy for t, _, dy in terms))


class Saddle(Landscape):
    r""":math:`f(x, y) = x^2 - y^2`: a saddle at the origin, unbounded below.

    Started exactly on the x axis, gradient descent converges to the saddle; any tiny y
    component grows geometrically and escapes along y.
    """

    name = "saddle"
    minima: list[tuple[float, float]] = []
    minimum_value = None
    saddle_points = [(0.0, 0.0)]
    default_start = (-1.5, 1e-3)

    def _value(self, x, y):
        return x * x - y * y

    def _gradient(self, x, y):
        return 2.0 * x, -2.0 * y


class MonkeySaddle(Landscape):
    r""":math:`f(x, y) = x^3 - 3 x y^2`: a degenerate saddle (zero Hessian) at the origin."""

    name = "monkey saddle"
    minima: list[tuple[float, float]] = []
    minimum_value = None
    saddle_points = [(0.0, 0.0)]
    default_start = (1.5, 0.2)

    def _value(self, x, y):
        return x**3 - 3.0 * x * y * y

    def _gradient(self, x, y):
        return 3.0 * x * x - 3.0 * y * y, -6.0 * x * y


class Himmelblau(Landscape):
    r""":math:`f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`: four minima, all of value 0."""

    name = "Himmelblau"
    minima = [
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286170),
        (3.584428340330492, -1.848126526964404),
    ]
    xlim = (-5.0, 5.0)
    ylim = (-5.0, 5.0)
    default_start = (0.0, 0.0)

    def _value(self, x, y):
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def _gradient(self, x, y):
        u = x * x + y - 11.0
        v = x + y * y - 7.0
        return 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v


LANDSCAPES: dict[str, type[Landscape]] = {
    "elongated_bowl": ElongatedBowl,
    "rosenbrock": Rosenbrock,
    "beale": Beale,
    "saddle": Saddle,
    "monkey_saddle": MonkeySaddle,
    "himmelblau": Himmelblau,
}


def get(name: str | Landscape, **kwargs: Any) -> Landscape:
    """A landscape by name (``"rosenbrock"``, ...); a :class:`Landscape` is returned as is."""
    if isinstance(name, Landscape):
        return name
    if name not in LANDSCAPES:
        raise ValueError(f"name must be one of {sorted(LANDSCAPES)!r}, got {name!r}")
    return LANDSCAPES[name](**kwargs)


def trajectory(function: Landscape | str, optimizer: Any, start: Any, steps: int) -> np.ndarray:
    """Run ``optimizer`` on ``function`` from ``start`` and return the path, shape (steps+1, 2).

    ``path[0]`` is ``start``; each step evaluates the gradient at the current point and calls
    ``optimizer.apply([grad], [point])``, which moves the point in place (float64). A diverging
    optimizer produces growing coordinates; once the gradient overflows (optreg's optimizers
    refuse non-finite gradients), the rest of the path is NaN, which plots as a path that ends.
    """
    function = get(function)
    steps = check_int("steps", steps, minimum=0)
    point = np.array(start, dtype=np.float64)
    if point.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {point.shape}")
    path = np.full((steps + 1, 2), np.nan)
    path[0] = point
    for t in range(1, steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            grad = function.gradient(point)
        if not np.all(np.isfinite(grad)):
            break
        optimizer.apply([grad], [point])
        path[t] = point
    return path


def contour_grid(
    function: Landscape | str,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    n: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, Z)`` meshgrids (``n`` x ``n``) of the function on the window, for ``plt.contour``.

    The window defaults to the landscape's ``xlim``/``ylim``.
    """
    function = get(function)
    n = check_int("n", n, minimum=2)
    x0, x1 = function.xlim if xlim is None else xlim
    y0, y1 = function.ylim if ylim is None else ylim
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"xlim and ylim must be increasing pairs, got {xlim!r}, {ylim!r}")
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    Z = function.value(np.stack([X, Y], axis=-1))
    return X, Y, Z
