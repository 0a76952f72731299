"""optreg.widgets: precomputed static widgets, their live twin, and the book's explorers."""

from __future__ import annotations

import json
import math
import re

import matplotlib
import numpy as np
import pytest

from optreg import landscapes, optimizers, widgets
from optreg.widgets import Explorer, Line, Picture, Plot, Slider

matplotlib.use("Agg")


def line_explorer(calls: list | None = None) -> Explorer:
    def draw(a: float, kind: str) -> list:
        if calls is not None:
            calls.append((a, kind))
        x = np.linspace(0, 1, 5)
        y = a * x if kind == "linear" else a * x**2
        return [Plot([Line(x, y, label=kind)], (0, 1), (0, 3))]

    return Explorer(draw, [Slider("a", [1.0, 2.0, 3.0]), Slider("kind", ["linear", "square"])])


def parse_snippet(html: str) -> dict:
    data = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)
    return json.loads(data.group(1))


def test_slider_kind_default_and_validation():
    numeric, words = Slider("lr", [0.1, 0.2, 0.3, 0.4]), Slider("f", ["a", "b"])
    assert numeric.kind == "range" and numeric.default == 0.2  # the middle, rounded down
    assert words.kind == "select" and words.default == "a"
    with pytest.raises(ValueError, match="not one of the values"):
        Slider("lr", [0.1, 0.2], default=0.5)
    with pytest.raises(ValueError, match="must not be empty"):
        Slider("lr", [])
    with pytest.raises(ValueError, match="distinct names"):
        Explorer(lambda a: [], [Slider("a", [1]), Slider("a", [2])])


def test_every_combination_is_one_frame_with_the_drawn_values():
    calls: list = []
    explorer = line_explorer(calls)
    data = explorer.to_json()
    assert explorer.size == 6 and len(data["frames"]) == 6
    assert sorted(calls) == sorted((a, k) for a in (1.0, 2.0, 3.0) for k in ("linear", "square"))
    frame = data["frames"]["2,1"]  # a = 3.0, kind = "square"
    line = data["lines"][frame[0]["lines"][0]]
    assert line["y"] == [float(f"{3.0 * v**2:.4g}") for v in np.linspace(0, 1, 5)]  # 4 digits
    assert [c["index"] for c in data["controls"]] == [1, 0]


def test_identical_lines_and_images_are_stored_once():
    image = widgets.png_data_uri(np.eye(4))

    def draw(a: int) -> list:
        return [
            Plot([Line([0, 1], [0, 1]), Line([0, 1], [a, a])], (0, 1), (0, 5), background=image),
            Picture(image),
        ]

    data = Explorer(draw, [Slider("a", [1, 2, 3])]).to_json()
    assert len(data["images"]) == 1
    assert len(data["lines"]) == 4  # the shared diagonal once, plus one per frame


def test_non_finite_values_become_gaps_and_huge_ones_are_clipped():
    assert widgets.engine._round([1.23456, np.nan, np.inf, -1e300, 2e-9]) == [
        1.235,
        None,
        None,
        -1e6,
        2e-9,
    ]


def test_html_is_self_contained_and_cannot_close_its_script_early():
    def draw(a: int) -> list:
        return [Plot([Line([0, 1], [0, a], label="</script><b>")], (0, 1), (0, 2))]

    html = Explorer(draw, [Slider("a", [1, 2])], title="T").to_html()
    assert html.count("</script>") == 2  # the data block and the code block, nothing else
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "window.optregExplorer" in html
    assert parse_snippet(html)["lines"][0]["label"] == "</script><b>"


def test_draw_must_return_panels():
    explorer = Explorer(lambda a: ["not a panel"], [Slider("a", [1])])
    with pytest.raises(ValueError, match="Plot/Picture"):
        explorer.to_json()
    with pytest.raises(ValueError, match="unknown slider"):
        line_explorer().frame(b=1)


def test_live_version_calls_draw_when_a_control_moves():
    calls: list = []
    box = line_explorer(calls).interact()
    slider, dropdown = box.children[0].children
    assert type(slider).__name__ == "SelectionSlider" and type(dropdown).__name__ == "Dropdown"
    slider.value = 3.0
    dropdown.value = "square"
    assert (3.0, "square") in calls


def test_render_matplotlib_draws_every_panel():
    image = widgets.png_data_uri(np.eye(8))
    figure = widgets.render_matplotlib(
        [
            Plot([Line([1, 2], [1, 10])], (1, 2), (1, 10), logy=True, background=image),
            Picture(image),
        ]
    )
    assert len(figure.axes) == 2 and figure.axes[0].get_yscale() == "log"


def test_show_source_is_the_package_source():
    source = widgets.show_source(optimizers.SGD.update_step)
    assert source.code.startswith("def update_step(self, g, w, state, lr, t):")
    assert source.title == "optreg.optimizers.SGD.update_step"
    assert "```python" in source._repr_markdown_()


def test_safe_trajectory_equals_trajectory_until_divergence():
    bowl = landscapes.ElongatedBowl(condition_number=10)
    stable = widgets.safe_trajectory(bowl, optimizers.SGD(0.1), (1.0, 1.0), 30)
    np.testing.assert_array_equal(
        stable, landscapes.trajectory(bowl, optimizers.SGD(0.1), (1.0, 1.0), 30)
    )
    # beyond 2 / kappa the steep coordinate is multiplied by 1 - 0.3 * 10 = -2 each step
    diverging = widgets.safe_trajectory(bowl, optimizers.SGD(0.3), (1.0, 1.0), 30, bound=100.0)
    finite = np.isfinite(diverging).all(axis=1)
    first_gap = int(np.argmin(finite))
    assert first_gap == 7  # |y| = 2^t > 100 first at t = 7
    assert not finite[first_gap:].any()


def test_momentum_explorer_marks_divergence_and_the_optimal_pair():
    explorer = widgets.momentum_explorer(
        condition_number=16, steps=40, learning_rates=[0.05, 0.13], momenta=[0.0, 0.6]
    )
    assert explorer.size == 4
    fast, slow = explorer.frame(learning_rate=0.05, momentum=0.0)
    assert "diverges" not in slow.note
    _, diverging = explorer.frame(learning_rate=0.13, momentum=0.0)  # 0.13 > 2 / 16
    assert "diverges" in diverging.note
    # optimal heavy ball for kappa = 16: lr = (2 / (1 + 4))^2, momentum = (3 / 5)^2
    assert "η = 0.16, β = 0.36" in explorer.caption


def test_deep_statistics_keeps_variance_with_calibrated_initializers():
    from optreg import initializers

    kernels = [initializers.LecunNormal(seed=k)((200, 200)) for k in range(8)]
    _, act_std, grad_std = widgets.deep_statistics(kernels, "linear", batch=400)
    np.testing.assert_allclose(act_std, 1.0, rtol=0.15)  # Var(w) = 1 / n_in: variance kept
    np.testing.assert_allclose(grad_std, 1.0, rtol=0.15)
    _, halved, _ = widgets.deep_statistics(kernels, "linear", batch=400, gain=0.5)
    np.testing.assert_allclose(halved / act_std, 0.5 ** np.arange(1, 9), rtol=1e-6)


def test_activation_moments_match_the_closed_forms():
    from optreg.widgets.ch3_initialization import activation_moments

    relu = activation_moments("relu", samples=400_000)
    # E[relu(z)] = 1/sqrt(2 pi), E[relu(z)^2] = E[relu'(z)^2] = 1/2: He's scale 2, chi = 1
    assert relu["mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=4e-3)
    assert relu["second_moment"] == pytest.approx(0.5, abs=4e-3)
    assert relu["scale"] == pytest.approx(2.0, abs=0.02)
    assert relu["chi"] == pytest.approx(1.0, abs=0.02)
    assert relu["slope"] == pytest.approx(1.0, abs=1e-9)  # positively homogeneous: neutral
    hard = activation_moments("hard_sigmoid", samples=400_000)
    # f' = 1/6 on (-3, 3): E[f'^2] = P(|z| < 3) / 36
    assert hard["grad_second_moment"] == pytest.approx(math.erf(3 / math.sqrt(2)) / 36, rel=1e-3)
    assert hard["mean"] == pytest.approx(0.5, abs=3e-3)  # symmetric around (0, 1/2)
    linear = activation_moments("linear", samples=1000)
    assert linear["scale"] == pytest.approx(1 / linear["second_moment"])
    assert linear["chi"] == pytest.approx(linear["scale"]) and linear["slope"] == pytest.approx(1)
    assert activation_moments("tanh")["slope"] < 1 < activation_moments("hard_silu")["slope"]


def test_train_regression_with_plateau_lowers_the_rate():
    from optreg.schedules import ReduceLROnPlateau

    x, y = widgets.noisy_regression()
    rates, losses = widgets.train_regression(
        0.05, x, y, steps=600, plateau=ReduceLROnPlateau(0.05, patience=1)
    )
    assert rates[0] == 0.05 and rates[-1] < 0.05
    assert losses[-1] < losses[0]


def test_schedule_explorer_has_every_schedule_and_a_frame_per_rate():
    explorer = widgets.schedule_explorer(steps=200, peak_rates=(0.01, 0.05))
    assert len(explorer.sliders[0].values) == 8 and explorer.size == 16
    rate_plot, _ = explorer.frame(schedule="exponential", learning_rate=0.05)
    rates = np.asarray(rate_plot.lines[0].y)
    assert rates[0] == pytest.approx(0.05) and np.all(np.diff(rates) < 0)
    # warm restarts: the rate jumps back up at steps 200/7 and 3 * 200/7, to 0.7x the last peak
    rate_plot, _ = explorer.frame(schedule="cosine with warm restarts", learning_rate=0.05)
    steps, rates = np.asarray(rate_plot.lines[0].x), np.asarray(rate_plot.lines[0].y)
    jumps = steps[1:][np.diff(rates) > 0]
    assert list(jumps) == [32, 88] and rates[0] == pytest.approx(0.05)  # every 4th step drawn
    assert rates[steps == 32][0] == pytest.approx(
        0.05 * (0.999 * 0.7 * 0.5 * (1 + math.cos(math.pi * (32 - 200 / 7) / (400 / 7))) + 1e-3),
        rel=1e-3,
    )


def test_dropout_explorer_keeps_about_one_minus_rate():
    explorer = widgets.dropout_explorer(np.ones((28, 28)), rates=(0.5,), seeds=(0,))
    _, mask = explorer.frame(rate=0.5, seed=0)
    kept = float(re.search(r"(\d+)% of 400", mask.note).group(1)) / 100
    assert abs(kept - 0.5) < 3 * math.sqrt(0.25 / 400)


def test_penalty_explorer_l1_is_sparse_and_l2_is_not():
    explorer = widgets.penalty_explorer(strengths=(0.3,), steps=800)
    share = {
        p: float(re.search(r"for (\d+)%", explorer.frame(penalty=p, strength=0.3)[0].note).group(1))
        for p in ("L1", "L2")
    }
    assert share["L1"] > 80 and share["L2"] < 20


def test_augmentation_explorer_shows_originals_and_copies():
    images = np.random.default_rng(0).integers(0, 255, (6, 28, 28)).astype(np.float32)
    explorer = widgets.augmentation_explorer(images, levels=(1,), seeds=(0,))
    for transform in explorer.sliders[0].values:
        (picture,) = explorer.frame(transform=transform, strength=1, seed=0)
        assert picture.src.startswith("data:image/png;base64,")


def test_optimizer_race_fields_and_every_optimizer_descends():
    race = widgets.optimizer_race(landscapes=["elongated_bowl"], scales=[1.0])
    modern = {"Lion", "Lamb", "Adafactor", "Muon", "Schedule-Free", "Ftrl", "Adam"}
    assert set(widgets.RACE_GROUPS["2020s vs Adam"]) == modern
    for field, names in widgets.RACE_GROUPS.items():
        paths, losses = race.frame(function="elongated_bowl", field=field, scale=1.0)
        assert [line.label for line in paths.lines] == list(names)
        for line in losses.lines:  # from f = 3.42 at the start to below 1% of it
            y = np.asarray(line.y, dtype=float)
            assert y[0] == pytest.approx(3.42) and y[-1] < 0.01 * y[0], line.label


def test_muon_in_the_race_takes_normalized_momentum_steps():
    """The orthogonal factor of a 1 x 2 matrix is its direction: Muon's first step (no
    momentum yet, nesterov: u = g + 0.95 g) has the length lr sqrt(2) rms_rate, along -g."""
    from optreg.widgets.ch1_optimizers import _race_optimizers

    point, grad = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    _race_optimizers()["Muon"](0.1).apply([grad], [point])
    step = point - (1 - 0.1 * 0.004) * np.array([1.0, 2.0])  # less Muon's weight decay
    np.testing.assert_allclose(step / np.linalg.norm(step), -grad / 5.0, atol=1e-6)
    # Newton-Schulz's quintic lands the singular value in about [0.68, 1.13], not exactly at 1
    assert 0.65 * 0.1 * math.sqrt(2) * 0.2 < np.linalg.norm(step) < 1.2 * 0.1 * math.sqrt(2) * 0.2


# ------------------------------------------------- chapter 6: the precomputed CNN experiment
def test_cnn_augmentation_results_are_committed_and_match_the_configuration():
    from optreg.widgets.ch6_augmentation import CNN_AUGMENTATION, load_cnn_augmentation_results

    results = load_cnn_augmentation_results()
    config = results["config"]
    assert config == CNN_AUGMENTATION
    epochs = list(range(config["eval_every"], config["epochs"] + 1, config["eval_every"]))
    assert set(results["runs"]) == {"original", "augmented"}
    for runs in results["runs"].values():
        assert sorted(runs) == sorted(str(s) for s in config["seeds"])
        for record in runs.values():
            assert record["epoch"] == epochs
            for key in ("train_accuracy", "val_accuracy"):
                assert len(record[key]) == len(epochs)
                assert all(0 < a <= 1 for a in record[key])
            assert 0.1 < record["test_accuracy"] < 1 and record["seconds"] > 0
    assert "python -m optreg.widgets.ch6_augmentation" in results["provenance"]["command"]
    # what chapter 6 says in words: every augmented seed beats every seed on the originals
    test = {v: [r["test_accuracy"] for r in runs.values()] for v, runs in results["runs"].items()}
    assert min(test["augmented"]) > max(test["original"])


def test_cnn_augmentation_results_from_another_configuration_are_refused(tmp_path):
    from optreg.widgets.ch6_augmentation import CNN_AUGMENTATION, load_cnn_augmentation_results

    path = tmp_path / "results.json"
    path.write_text(json.dumps({"config": {**CNN_AUGMENTATION, "epochs": 5}, "runs": {}}))
    with pytest.raises(ValueError, match="another configuration"):
        load_cnn_augmentation_results(str(path))


def test_cnn_augmentation_run_trains_on_augmented_copies():
    from optreg.data import load_fashion_mnist
    from optreg.widgets.ch6_augmentation import CNN_AUGMENTATION, cnn_augmentation_run

    data = load_fashion_mnist(validation_size=5000, seed=0)
    tiny = {**CNN_AUGMENTATION, "train_images": 64, "validation_images": 64, "epochs": 2}
    tiny["eval_every"] = 1
    plain = cnn_augmentation_run(data, False, 0, tiny)
    augmented = cnn_augmentation_run(data, True, 0, tiny)
    assert plain["epoch"] == augmented["epoch"] == [1, 2]
    assert 0 < plain["test_accuracy"] < 1
    # same seed, same weights and order: only the augmented images can make them differ
    assert plain["train_accuracy"] != augmented["train_accuracy"]
