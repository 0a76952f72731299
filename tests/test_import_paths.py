"""The modules split into packages (issue 11) keep every public name at its old import path.

The lists are the public names of ``optreg.nn``, ``optreg.augmentation`` and ``optreg.widgets``
as single modules, before the split: pages, exercises and students' code import them so.
"""

from __future__ import annotations

import importlib

import pytest

OLD_PUBLIC_NAMES = {
    "optreg.nn": [
        "Activation", "Callback", "Dense", "Flatten", "History", "LambdaCallback",
        "MeanSquaredError", "OneCycleScheduler", "ReduceLROnPlateau", "Sequential",
        "SoftmaxCrossEntropy", "evaluate", "fit", "get_loss", "gradient_check", "predict",
    ],
    "optreg.augmentation": [
        "FILL_MODES", "INTERPOLATIONS", "Pipeline", "RandomBrightness", "RandomContrast",
        "RandomCrop", "RandomFlip", "RandomGamma", "RandomHue", "RandomMedianBlur",
        "RandomRotation", "RandomSaturation", "RandomTransform", "RandomTranslation",
        "STOP_WORDS", "adjust_brightness", "adjust_contrast", "adjust_gamma", "adjust_hue",
        "adjust_saturation", "augment", "check_gamma_range", "check_kernel_size",
        "check_value_range", "crop", "eda", "flip_horizontal", "flip_vertical", "hsv_to_rgb",
        "load_thesaurus", "median_blur", "pad", "random_deletion", "random_insertion",
        "random_swap", "rgb_to_hsv", "rotate", "synonym_replacement", "tokenize", "translate",
    ],
    "optreg.widgets": [
        "Explorer", "Line", "PALETTE", "Panel", "Picture", "Plot", "Slider", "SourceCode",
        "activation_explorer", "augmentation_explorer", "deep_statistics", "dropout_explorer",
        "figure_data_uri", "landscape_background", "momentum_explorer", "noisy_regression",
        "normalization_explorer", "optimizer_race", "penalty_explorer", "png_data_uri",
        "render_matplotlib", "safe_trajectory", "schedule_explorer", "show_source", "test_card",
        "train_regression",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(OLD_PUBLIC_NAMES))
def test_old_import_paths_still_work(module):
    package = importlib.import_module(module)
    assert hasattr(package, "__path__"), f"{module} should now be a package"
    missing = [name for name in OLD_PUBLIC_NAMES[module] if not hasattr(package, name)]
    assert not missing, f"{module} lost {missing}"
    for name in package.__all__:  # star imports keep working too
        assert hasattr(package, name), name


@pytest.mark.parametrize("module", sorted(OLD_PUBLIC_NAMES))
def test_each_public_name_is_defined_once_in_a_submodule(module):
    package = importlib.import_module(module)
    for name in OLD_PUBLIC_NAMES[module]:
        home = getattr(getattr(package, name), "__module__", module)
        if home.startswith(module + "."):  # classes and functions live in a submodule
            assert getattr(importlib.import_module(home), name) is getattr(package, name)
