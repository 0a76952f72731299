"""The figures of chapter 6 (data augmentation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import Explorer, Panel, Picture, Slider, png_data_uri

__all__ = [
    "CNN_AUGMENTATION",
    "augmentation_explorer",
    "cnn_augmentation_experiment",
    "cnn_augmentation_run",
    "load_cnn_augmentation_results",
    "small_cnn",
    "test_card",
]


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the augmentation chapter
# --------------------------------------------------------------------------------------------
def test_card(size: int = 48) -> np.ndarray:
    """A synthetic RGB image (values 0..255): hue wheel, grey ramp and coloured squares, to show
    the colour transformations on something with every hue."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = np.arctan2(yy - 0.5, xx - 0.5) / (2 * np.pi) + 0.5
    hsv = np.stack(
        [angle, np.clip(2 * np.hypot(yy - 0.5, xx - 0.5), 0, 1), np.ones_like(xx)], axis=-1
    )
    from matplotlib.colors import hsv_to_rgb

    image = hsv_to_rgb(hsv)
    image[: size // 6] = xx[: size // 6, :, None]  # a grey ramp on top
    return (image * 255).astype(np.float32)


def augmentation_explorer(
    images: np.ndarray, levels: Sequence[int] = (1, 2, 4), seeds: Sequence[int] = (0, 1)
) -> Explorer:
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
        return [
            Picture(
                uri,
                title="originals (top) and augmented copies (bottom)",
                width=540,
                note=f"{type(layers[transform](strength)).__name__}, strength "
                f"{strength}, seed {seed}",
            )
        ]

    return Explorer(
        draw,
        [
            Slider("transform", list(layers), label="transformation", default="rotation"),
            Slider("strength", list(levels), label="strength", default=2 if 2 in levels else None),
            Slider("seed", list(seeds), label="random draw", default=seeds[0]),
        ],
        title="Image augmentation previews",
    )


# --------------------------------------------------------------------------------------------
# Augmentation helping a small CNN (precomputed: too slow for the book's build)
# --------------------------------------------------------------------------------------------
# The one configuration of the chapter's CNN experiment; the committed results record it, and a
# test checks that they match it.
CNN_AUGMENTATION: dict[str, Any] = {
    "train_images": 500,  # the first 500 training images (about 50 per class)
    "validation_images": 2000,  # the first 2,000 validation images, for the curves
    "epochs": 150,
    "eval_every": 10,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "seeds": [0, 1, 2],
    "augmentation": "Pipeline([RandomFlip('horizontal'), RandomCrop(28, 28, padding=2)])",
    "model": "Conv2D(32, 3, relu), MaxPool, Conv2D(64, 3, relu), MaxPool, Dense(128, relu), "
    "Dense(10); Adam",
}


def small_cnn(seed: int, learning_rate: float = 1e-3) -> Any:
    """Two 3x3 convolutions with max pooling and a Dense(128) head, compiled with Adam."""
    import keras

    keras.utils.set_random_seed(seed)  # weights and the shuffling of every fit
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def cnn_augmentation_run(
    data: Any, augment: bool, seed: int, config: dict[str, Any] = CNN_AUGMENTATION
) -> dict[str, Any]:
    """Train :func:`small_cnn` on ``config["train_images"]`` images, on a freshly augmented copy
    at every epoch (flip, then a padded crop, from ``optreg.augmentation``) or on the originals.

    Returns the epochs evaluated, training and validation accuracy there, the final test
    accuracy on the whole test set, and the wall time.
    """
    import time

    from optreg import augmentation

    start = time.perf_counter()
    n, n_val = config["train_images"], config["validation_images"]
    x = data.x_train[:n].astype(np.float32) / 255
    y = data.y_train[:n]
    x_val = data.x_valid[:n_val, :, :, None].astype(np.float32) / 255
    x_test = data.x_test[:, :, :, None].astype(np.float32) / 255
    pipeline = augmentation.Pipeline(
        [augmentation.RandomFlip("horizontal"), augmentation.RandomCrop(28, 28, padding=2)],
        seed=seed,
    )
    model = small_cnn(seed, config["learning_rate"])
    record: dict[str, list] = {"epoch": [], "train_accuracy": [], "val_accuracy": []}
    for epoch in range(1, config["epochs"] + 1):
        x_epoch = pipeline(x) if augment else x
        model.fit(x_epoch[..., None], y, batch_size=config["batch_size"], epochs=1, verbose=0)
        if epoch % config["eval_every"] == 0:
            record["epoch"].append(epoch)
            # accuracy on the original (un-augmented) training images
            record["train_accuracy"].append(float(model.evaluate(x[..., None], y, verbose=0)[1]))
            record["val_accuracy"].append(
                float(model.evaluate(x_val, data.y_valid[:n_val], verbose=0)[1])
            )
    record["test_accuracy"] = float(model.evaluate(x_test, data.y_test, verbose=0)[1])
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def cnn_augmentation_experiment(config: dict[str, Any] = CNN_AUGMENTATION) -> dict[str, Any]:
    """Every seed of ``config``, with and without augmentation: ``{"config", "runs"}`` where
    ``runs[variant][seed]`` is :func:`cnn_augmentation_run`'s record."""
    from optreg.data import load_fashion_mnist

    data = load_fashion_mnist(validation_size=5000, seed=0)
    runs = {
        variant: {
            str(seed): cnn_augmentation_run(data, variant == "augmented", seed, config)
            for seed in config["seeds"]
        }
        for variant in ("original", "augmented")
    }
    return {"config": dict(config), "runs": runs}


CNN_AUGMENTATION_RESULTS = "book/labs/results/ch6_cnn_augmentation/results.json"


def load_cnn_augmentation_results(path: str | None = None) -> dict[str, Any]:
    """The committed results of :func:`cnn_augmentation_experiment` (``path``, by default
    ``CNN_AUGMENTATION_RESULTS`` in the course repository or below the working directory).

    Raises ``FileNotFoundError`` when they are missing and ``ValueError`` when they were
    produced with another configuration than ``CNN_AUGMENTATION``.
    """
    import json
    from pathlib import Path

    if path is None:
        repository = Path(__file__).resolve().parents[3]  # src/optreg/widgets/this file
        candidates = [repository / CNN_AUGMENTATION_RESULTS]
        candidates += [
            folder / CNN_AUGMENTATION_RESULTS for folder in (Path.cwd(), *Path.cwd().parents)
        ]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"no {CNN_AUGMENTATION_RESULTS} in the course repository or above "
                f"{Path.cwd()}; produce it with: python -m optreg.widgets.ch6_augmentation "
                f"{CNN_AUGMENTATION_RESULTS}"
            )
        path = str(found)
    results = json.loads(Path(path).read_text())
    if results.get("config") != CNN_AUGMENTATION:
        raise ValueError(
            f"{path} was produced with another configuration than CNN_AUGMENTATION; rerun "
            f"python -m optreg.widgets.ch6_augmentation {path}"
        )
    return results


def _main() -> None:
    """``python -m optreg.widgets.ch6_augmentation OUT.json``: run the experiment, save it."""
    import json
    import os
    import platform
    import sys
    import time

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    out = sys.argv[1]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = cnn_augmentation_experiment()
    results["provenance"] = {
        "command": f"python -m optreg.widgets.ch6_augmentation {out}",
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        "(shared with other work while it ran), no GPU",
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    _main()
