"""optreg.keras.layers.augmentation: equal to the NumPy twins, composable, serializable."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from optreg import augmentation as A
from optreg.keras.layers import augmentation as KA


def images(n=4, h=9, w=10, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c)).astype(np.float32)


def test_module_exports():
    assert set(KA.__all__) == {"RandomGamma", "RandomMedianBlur"}
    from optreg.keras import layers

    assert layers.RandomGamma is KA.RandomGamma
    # Keras 3 has its own hue and saturation layers: not duplicated
    assert hasattr(keras.layers, "RandomHue") and hasattr(keras.layers, "RandomSaturation")


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.2])
def test_fixed_gamma_equals_numpy_adjust_gamma(gamma):
    x = images()
    out = np.asarray(KA.RandomGamma(gamma_range=gamma)(x))
    np.testing.assert_allclose(out, A.adjust_gamma(x, gamma), rtol=1e-5, atol=1e-3)
    unit = x / 255.0
    out = np.asarray(KA.RandomGamma(gamma, value_range=(0, 1))(unit))
    np.testing.assert_allclose(out, unit**gamma, rtol=1e-5, atol=1e-6)


def test_random_gamma_draws_one_gamma_per_image_in_range():
    x = np.tile(np.linspace(0.05, 0.95, 8, dtype=np.float32)[None, :, None, None], (64, 1, 1, 1))
    out = np.asarray(KA.RandomGamma((0.5, 2.0), value_range=(0, 1), seed=1)(x))
    gamma = np.log(out) / np.log(x)  # one value per image, the same for every pixel
    per_image = gamma[:, 0, 0, 0]
    np.testing.assert_allclose(
        gamma, per_image[:, None, None, None] * np.ones_like(gamma), rtol=1e-3
    )
    assert per_image.min() >= 0.5 * (1 - 1e-4) and per_image.max() <= 2.0 * (1 + 1e-4)
    assert per_image.std() > 0.2
    # same seed, same draws
    again = np.asarray(KA.RandomGamma((0.5, 2.0), value_range=(0, 1), seed=1)(x))
    np.testing.assert_array_equal(out, again)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_fixed_median_blur_equals_numpy_median_blur(k):
    x = images()
    out = np.asarray(KA.RandomMedianBlur(k)(x))
    np.testing.assert_array_equal(out, A.median_blur(x, k))
    single = np.asarray(KA.RandomMedianBlur(k)(x[0]))  # one unbatched image
    np.testing.assert_array_equal(single, A.median_blur(x[:1], k)[0])


def test_random_median_blur_picks_a_size_per_image():
    x = images(n=32, seed=2)
    out = np.asarray(KA.RandomMedianBlur((1, 5), seed=3)(x))
    candidates = {k: A.median_blur(x, k) for k in (1, 3, 5)}
    chosen = []
    for i in range(len(x)):
        matches = [k for k, y in candidates.items() if np.array_equal(out[i], y[i])]
        assert matches, f"image {i} is no median blur of size 1, 3 or 5"
        chosen.append(matches[0])
    assert set(chosen) == {1, 3, 5}


def test_identity_at_inference():
    x = images()
    for layer in (KA.RandomGamma((0.5, 2.0)), KA.RandomMedianBlur(3)):
        np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def augmentation_model():
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.RandomFlip("horizontal", seed=1),
            keras.layers.RandomTranslation(0.1, 0.1, seed=2),
            keras.layers.RandomRotation(0.05, seed=3),
            keras.layers.RandomZoom(0.1, seed=4),
            keras.layers.RandomContrast(0.2, seed=5),
            keras.layers.RandomBrightness(0.1, seed=6),
            KA.RandomGamma((0.8, 1.25), seed=7),
            KA.RandomMedianBlur(3, seed=8),
        ]
    )


def test_composes_with_keras_augmentation_layers_in_a_model():
    x = images(n=8, h=16, w=16)
    model = augmentation_model()
    out = np.asarray(model(x, training=True))
    assert out.shape == x.shape and np.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, x)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x)
    # and it trains in front of a classifier (the augmentation runs inside fit)
    classifier = keras.Sequential(
        [model, keras.layers.Rescaling(1 / 255), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    classifier.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = classifier.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_serialization_round_trip(tmp_path):
    model = augmentation_model()
    path = tmp_path / "augment.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    gamma, blur = loaded.layers[-2], loaded.layers[-1]
    assert isinstance(gamma, KA.RandomGamma) and isinstance(blur, KA.RandomMedianBlur)
    assert gamma.gamma_range == (0.8, 1.25) and gamma.value_range == (0.0, 255.0)
    assert blur.kernel_size == (3, 3) and blur.seed == 8
    x = images(n=2, h=16, w=16)
    np.testing.assert_array_equal(np.asarray(blur(x)), A.median_blur(x, 3))
    config = keras.saving.serialize_keras_object(KA.RandomGamma(0.7, value_range=(0, 1)))
    clone = keras.saving.deserialize_keras_object(config)
    np.testing.assert_allclose(np.asarray(clone(x / 255)), (x / 255) ** 0.7, rtol=1e-5)


def test_bad_arguments_use_the_numpy_checks():
    for bad in [(0.0, 1.0), (2.0, 1.0), -1.0]:
        with pytest.raises(ValueError, match="gamma_range"):
            KA.RandomGamma(bad)
        with pytest.raises(ValueError, match="gamma_range"):
            A.RandomGamma(bad)
    with pytest.raises(ValueError, match="value_range"):
        KA.RandomGamma(1.0, value_range=(255, 0))
    for bad in [2, (3, 4), (5, 3), 0]:
        with pytest.raises(ValueError, match="kernel_size"):
            KA.RandomMedianBlur(bad)
        with pytest.raises(ValueError, match="kernel_size"):
            A.RandomMedianBlur(bad)
