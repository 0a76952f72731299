"""Synthetic submissions for the grading tests and the benchmark.

* ``student_notebook(root, assignment, edits)``: the released notebook with every answer cell
  filled in from the solution, then ``edits`` (``(grade_id, old, new)`` string replacements in
  answer cells) applied: a correct student, or a student with one specific mistake;
* ``MUTANTS``: per assignment, wrong implementations that a good test suite must reject, each
  with the test cells that must then fail;
* ``robustness_class(root, folder)``: students that try to break the grader (see each entry).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def load_pair(root: Path, assignment: str):
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", 4)
    release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", 4)
    return source, release


def student_notebook(root: Path, assignment: str, edits=(), solved: bool = True):
    """The release with answers filled in (``solved``) and ``edits`` applied."""
    source, release = load_pair(root, assignment)
    answers = {
        _gid(c): c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = _gid(cell)
        if solved and gid in answers:
            cell.source = answers[gid]
    for gid, old, new in edits:
        cells = [c for c in nb.cells if _gid(c) == gid]
        if not cells or old not in cells[0].source:
            raise ValueError(f"edit {old!r} not applicable to cell {gid} of {assignment}")
        cells[0].source = cells[0].source.replace(old, new, 1)
    return nb


def written_points(root: Path, assignment: str) -> dict[str, float]:
    """{grade id: points} of the manually graded written answers of an assignment."""
    source, _ = load_pair(root, assignment)
    metas = [c.metadata.get("nbgrader", {}) for c in source.cells]
    return {m["grade_id"]: m["points"] for m in metas if m.get("grade") and m.get("solution")}


# Mistakes that must cost exactly the cells named in MUTANTS, each failing a visible check there
# (points split by what is checked: issue 17); tests/test_exercise_coverage.py checks both.
PARTIAL = {
    "05_regularization": [
        "l2_gradient_missing_factor_2",
        "l1_gradient_nonzero_at_zero",
        "dropout_without_rescaling",
        "dropout_mask_rescaled",
        "early_stopping_best_epoch_never_updated",
        "clip_by_global_norm_returns_squared_norm",
    ],
    "03_initialization": [
        "grads_without_tanh_derivative",
        "grads_dW2_transposed",
    ],
    "04_normalization": [
        "bn_dgamma_summed_to_scalar",
        "bn_dbeta_keeps_batch_axis",
        "ln_dgamma_over_features",
        "ln_dbeta_over_features",
        "ln_backward_gamma_factored_out",
        "bn_momentum_swapped",
        "bn_batch_stats_at_inference",
    ],
}

# assignment -> [(label, [(answer cell, old, new)], [test cells that must fail])]
MUTANTS = {
    "01_optimizers": [
        (
            "adam_no_bias_correction",
            [
                ("adam_step", "m / (1 - beta_1 ** t)", "m"),
                ("adam_step", "s / (1 - beta_2 ** t)", "s"),
            ],
            ["test_adam_step", "test_adamw_step"],
        ),
        (
            "adam_off_by_one_t",
            [
                ("adam_step", "t = t + 1\n", ""),
                ("adam_step", ", m, s, t\n", ", m, s, t + 1\n"),
                ("adam_step", "beta_1 ** t", "beta_1 ** (t + 1)"),
                ("adam_step", "beta_2 ** t", "beta_2 ** (t + 1)"),
            ],
            ["test_adam_step"],
        ),
        (
            "momentum_wrong_sign",
            [("momentum_step", "- learning_rate * grad", "+ learning_rate * grad")],
            ["test_momentum_step"],
        ),
        (
            "nesterov_no_lookahead",
            [("nesterov_step", "grad_fn(theta + momentum * m)", "grad_fn(theta)")],
            ["test_nesterov_step"],
        ),
        (
            "adagrad_epsilon_outside_sqrt",
            [("adagrad_rmsprop", "np.sqrt(s + epsilon)", "(np.sqrt(s) + epsilon)")],
            ["test_adagrad_step"],
        ),
        (
            "adamw_coupled_decay",
            [
                (
                    "adamw_step",
                    "decayed = theta - learning_rate * weight_decay * theta",
                    "decayed, grad = theta, grad + weight_decay * theta",
                )
            ],
            ["test_adamw_step"],
        ),
        (
            "steps_off_by_one",
            [("steps_to_converge", "return step\n", "return step + 1\n")],
            ["test_steps_to_converge"],
        ),
        (
            "adam_epsilon_inside_sqrt",
            [("adam_step", "(np.sqrt(s_hat) + epsilon)", "np.sqrt(s_hat + epsilon)")],
            ["test_adam_step"],
        ),
        (
            "rmsprop_epsilon_outside_sqrt",
            [
                (
                    "adagrad_rmsprop",
                    "s = rho * s + (1 - rho) * grad * grad\n"
                    "    return theta - learning_rate * grad / np.sqrt(s + epsilon), s",
                    "s = rho * s + (1 - rho) * grad * grad\n"
                    "    return theta - learning_rate * grad / (np.sqrt(s) + epsilon), s",
                )
            ],
            ["test_rmsprop_step"],
        ),
        # found by an adversarial pass: state updated in place, tolerance reached exactly
        (
            "momentum_in_place_state",
            [
                (
                    "momentum_step",
                    "m = momentum * m - learning_rate * grad\n",
                    "m *= momentum\n    m -= learning_rate * grad\n",
                )
            ],
            ["test_momentum_step"],
        ),
        (
            "adagrad_in_place",
            [("adagrad_rmsprop", "s = s + grad * grad\n", "s += grad * grad\n")],
            ["test_adagrad_step"],
        ),
        (
            "rmsprop_in_place",
            [
                (
                    "adagrad_rmsprop",
                    "s = rho * s + (1 - rho) * grad * grad",
                    "s *= rho\n    s += (1 - rho) * grad * grad",
                )
            ],
            ["test_rmsprop_step"],
        ),
        (
            "adam_in_place_m",
            [
                (
                    "adam_step",
                    "m = beta_1 * m + (1 - beta_1) * grad\n",
                    "m *= beta_1\n    m += (1 - beta_1) * grad\n",
                )
            ],
            ["test_adam_step", "test_adamw_step"],
        ),
        (
            "steps_loss_at_most_tol",
            [("steps_to_converge", "if bowl(theta) < tol:", "if bowl(theta) <= tol:")],
            ["test_steps_to_converge"],
        ),
    ],
    "02_schedules": [
        (
            "piecewise_strict_boundary",
            [("piecewise_constant", "step <= boundary", "step < boundary")],
            ["test_piecewise_constant"],
        ),
        (
            "exponential_off_by_one",
            [
                (
                    "power_exponential",
                    "return lr0 * 0.1 ** (step / s)",
                    "return lr0 * 0.1 ** ((step + 1) / s)",
                )
            ],
            ["test_exponential_schedule"],
        ),
        (
            "one_cycle_half_cycle",
            [("one_cycle", "(total_steps - round(0.1 * total_steps)) // 2", "total_steps // 2")],
            ["test_one_cycle"],
        ),
        (
            "plateau_late",
            [("plateau_step", "wait >= patience", "wait > patience")],
            ["test_plateau_step"],
        ),
        (
            "range_test_keeps_divergence",
            [
                (
                    "lr_range_suggestion",
                    "smoothed = np.where(np.isfinite(smoothed), smoothed, np.inf)",
                    "smoothed = smoothed",
                )
            ],
            ["test_lr_range_suggestion"],
        ),
        (
            "one_cycle_half_rounded",
            [
                (
                    "one_cycle",
                    "(total_steps - round(0.1 * total_steps)) // 2",
                    "round(0.45 * total_steps)",
                )
            ],
            ["test_one_cycle"],
        ),
        # issue 17: the book's 1cycle half-length, Keras' plateau logic, the smoothed range test
        (
            "one_cycle_floor_045",
            [
                (
                    "one_cycle",
                    "(total_steps - round(0.1 * total_steps)) // 2",
                    "int(0.45 * total_steps)",
                )
            ],
            ["test_one_cycle"],
        ),
        (
            "one_cycle_closed_intervals",  # T = 2: divides by T - 2h = 0
            [("one_cycle", "if step < total_steps:", "if step <= total_steps:")],
            ["test_one_cycle"],
        ),
        (
            "plateau_without_cooldown",
            [("plateau_step", "elif cooling == 0:", "else:")],
            ["test_plateau_step"],
        ),
        (
            "plateau_ignores_min_delta",
            [("plateau_step", "val_loss < best - min_delta", "val_loss < best")],
            ["test_plateau_step"],
        ),
        (
            "plateau_without_min_lr_guard",
            [("plateau_step", "wait >= patience and lr > min_lr", "wait >= patience")],
            ["test_plateau_step"],
        ),
        (
            "range_test_raw_loss",
            [
                (
                    "lr_range_suggestion",
                    "smoothed.append(average / (1 - smoothing ** i))",
                    "smoothed.append(loss)",
                )
            ],
            ["test_lr_range_suggestion"],
        ),
        (
            "range_test_without_bias_correction",
            [
                (
                    "lr_range_suggestion",
                    "smoothed.append(average / (1 - smoothing ** i))",
                    "smoothed.append(average)",
                )
            ],
            ["test_lr_range_suggestion"],
        ),
    ],
    "03_initialization": [
        (
            "glorot_fan_in_only",
            [("glorot_he", "6.0 / (fan_in + fan_out)", "6.0 / fan_in")],
            ["test_glorot_uniform"],
        ),
        (
            "he_variance_one_over_fan_in",
            [("glorot_he", "2.0 / fan_in", "1.0 / fan_in")],
            ["test_he_normal"],
        ),
        (
            "he_global_random_state",
            [("glorot_he", "rng.normal(", "np.random.normal(")],
            ["test_he_normal"],
        ),
        (
            "fans_without_receptive_field",
            [("fans", "shape[-2] * receptive, shape[-1] * receptive", "shape[-2], shape[-1]")],
            ["test_fan_in", "test_fan_out"],
        ),
        (
            "fan_out_without_receptive_field",  # fan_in right; Glorot uses fan_out
            [
                (
                    "fans",
                    "shape[-2] * receptive, shape[-1] * receptive",
                    "shape[-2] * receptive, shape[-1]",
                )
            ],
            ["test_fan_out", "test_glorot_uniform"],
        ),
        (
            "grads_without_tanh_derivative",
            [("two_layer_grads", " * (1 - h ** 2)", "")],
            ["test_two_layer_grads_dW1"],
        ),
        (
            "grads_dW2_transposed",  # a partial mistake: dW2 of the wrong shape, dW1 right
            [("two_layer_grads", "return dW1, dW2", "return dW1, delta.T @ h")],
            ["test_two_layer_grads_dW2"],
        ),
        (
            "fans_as_floats",
            [
                (
                    "fans",
                    "return shape[-2] * receptive, shape[-1] * receptive",
                    "return float(shape[-2] * receptive), float(shape[-1] * receptive)",
                )
            ],
            ["test_fan_in", "test_fan_out"],
        ),
    ],
    "04_normalization": [
        (
            "bn_batch_stats_at_inference",
            [
                (
                    "batchnorm_forward",
                    "x_hat = (x - moving_mean) / np.sqrt(moving_variance + epsilon)",
                    "x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon)",
                )
            ],
            ["test_batchnorm_inference"],
        ),
        (
            "bn_momentum_swapped",
            [
                (
                    "batchnorm_forward",
                    "momentum * moving_mean + (1 - momentum) * mean",
                    "(1 - momentum) * moving_mean + momentum * mean",
                )
            ],
            ["test_batchnorm_training_moving"],
        ),
        (
            "bn_unbiased_variance",
            [
                (
                    "batchnorm_forward",
                    "x.mean(axis=0), x.var(axis=0)",
                    "x.mean(axis=0), x.var(axis=0, ddof=1)",
                )
            ],
            ["test_batchnorm_training_y", "test_batchnorm_training_moving"],
        ),
        (
            "bn_backward_no_mean_term",
            [("batchnorm_backward", "m * dy - dbeta - ", "m * dy - ")],
            ["test_batchnorm_backward_dx"],
        ),
        (
            "ln_over_batch_axis",
            [
                ("layernorm", "x.mean(axis=1, keepdims=True)", "x.mean(axis=0, keepdims=True)"),
                ("layernorm", "x.var(axis=1, keepdims=True)", "x.var(axis=0, keepdims=True)"),
            ],
            ["test_layernorm_forward"],
        ),
        (
            "standardize_leaks_test_set",
            [
                (
                    "standardize_split",
                    "mean = x_train.mean(axis=0)",
                    "mean = np.concatenate([x_train, x_test]).mean(axis=0)",
                )
            ],
            ["test_standardize_split"],
        ),
        (
            "bn_moving_mean_in_place",
            [
                (
                    "batchnorm_forward",
                    "    moving_mean = momentum * moving_mean + (1 - momentum) * mean\n",
                    "    moving_mean *= momentum\n    moving_mean += (1 - momentum) * mean\n",
                )
            ],
            ["test_batchnorm_training_moving"],
        ),
        (
            "standardize_train_in_place",
            [
                (
                    "standardize_split",
                    "return (x_train - mean) / scale, (x_test - mean) / scale",
                    "x_train -= mean\n    x_train /= scale\n    return x_train, (x_test - mean) / scale",
                )
            ],
            ["test_standardize_split"],
        ),
        (
            "ln_gamma_per_row_when_square",
            [
                (
                    "layernorm",
                    "return gamma * x_hat + beta, (x_hat",
                    "return (gamma[:, None] * x_hat + beta[:, None] if x_hat.shape[0] == gamma.shape[0]\n"
                    "            else gamma * x_hat + beta), (x_hat",
                )
            ],
            ["test_layernorm_forward"],
        ),
        # partial mistakes (issue 17): each loses its own cell only, and fails a visible check
        (
            "bn_dgamma_summed_to_scalar",
            [("batchnorm_backward", "return dx, dgamma, dbeta", "return dx, dgamma.sum(), dbeta")],
            ["test_batchnorm_backward_dgamma"],
        ),
        (
            "bn_dbeta_keeps_batch_axis",
            [
                (
                    "batchnorm_backward",
                    "dbeta = dy.sum(axis=0)",
                    "dbeta = dy.sum(axis=0, keepdims=True)",
                )
            ],
            ["test_batchnorm_backward_dbeta"],
        ),
        (
            "ln_dgamma_over_features",
            [
                (
                    "layernorm",
                    "return dx, (dy * x_hat).sum(axis=0)",
                    "return dx, (dy * x_hat).sum(axis=1)",
                )
            ],
            ["test_layernorm_backward_dgamma"],
        ),
        (
            "ln_dbeta_over_features",
            [("layernorm", "dy.sum(axis=0)\n", "dy.sum(axis=1)\n")],
            ["test_layernorm_backward_dbeta"],
        ),
        (
            "ln_backward_gamma_factored_out",
            [
                ("layernorm", "g = dy * gamma", "g = dy"),
                (
                    "layernorm",
                    "/ (h * np.sqrt(var + epsilon))",
                    "* gamma / (h * np.sqrt(var + epsilon))",
                ),
            ],
            ["test_layernorm_backward_dx"],
        ),
        (
            "standardize_zero_std_to_one",
            [
                (
                    "standardize_split",
                    "scale = np.maximum(x_train.std(axis=0), epsilon)",
                    "scale = x_train.std(axis=0)\n    scale = np.where(scale == 0, 1.0, scale)",
                )
            ],
            ["test_standardize_split"],
        ),
    ],
    "05_regularization": [
        (
            "dropout_without_rescaling",
            [("dropout", "x * mask / (1 - rate), mask", "x * mask, mask")],
            ["test_dropout_forward"],
        ),
        (
            "dropout_mask_rescaled",  # a partial mistake: y right, the mask holds 1 / (1 - rate)
            [
                (
                    "dropout",
                    "return x * mask / (1 - rate), mask",
                    "return x * mask / (1 - rate), mask / (1 - rate)",
                )
            ],
            ["test_dropout_mask"],
        ),
        (
            "dropout_at_inference",
            [("dropout", "if not training or rate == 0:", "if rate == 0:")],
            ["test_dropout_forward"],
        ),
        (
            "l2_gradient_missing_factor_2",
            [("penalties", "return 2 * l2 * w", "return l2 * w")],
            ["test_l2"],
        ),
        (
            "l1_gradient_nonzero_at_zero",  # a partial mistake: only the L1 cell is lost
            [("penalties", "return l1 * np.sign(w)", "return l1 * np.where(w >= 0, 1.0, -1.0)")],
            ["test_l1"],
        ),
        (
            "clip_by_norm_always_rescales",
            [("clipping", "max(norm, clip_norm)", "norm")],
            ["test_clip_by_norm"],
        ),
        (
            "early_stopping_one_epoch_late",
            [("early_stopping", "wait >= patience", "wait > patience")],
            ["test_early_stopping_stop"],
        ),
        (
            "early_stopping_best_epoch_never_updated",  # a partial mistake: stop_epoch right
            [("early_stopping", "best, best_epoch, wait = loss, epoch, 0", "best, wait = loss, 0")],
            ["test_early_stopping_best"],
        ),
        (
            "clip_by_global_norm_returns_squared_norm",  # a partial mistake: the list right
            [
                (
                    "clipping",
                    "return [g * scale for g in grads], global_norm",
                    "return [g * scale for g in grads], global_norm**2",
                )
            ],
            ["test_clip_by_global_norm_norm"],
        ),
        ("max_norm_ignores_axis", [("max_norm", "axis=axis", "axis=0")], ["test_max_norm"]),
        (
            "dropout_in_place",
            [
                (
                    "dropout",
                    "return x * mask / (1 - rate), mask",
                    "x *= mask / (1 - rate)\n    return x, mask",
                )
            ],
            ["test_dropout_forward"],
        ),
        (
            "max_norm_nan_for_zero_vector",
            [("max_norm", "(1e-7 + norms)", "norms")],
            ["test_max_norm"],
        ),
        (
            "max_norm_in_place",
            [
                (
                    "max_norm",
                    "return w * desired / (1e-7 + norms)",
                    "w *= desired / (1e-7 + norms)\n    return w",
                )
            ],
            ["test_max_norm"],
        ),
        (
            "clip_by_value_in_place",
            [
                (
                    "clipping",
                    "return np.clip(g, -clip_value, clip_value)",
                    "return np.clip(g, -clip_value, clip_value, out=g)",
                )
            ],
            ["test_clip_by_value"],
        ),
        (
            "clip_by_norm_in_place",
            [
                (
                    "clipping",
                    "return g * clip_norm / max(norm, clip_norm)",
                    "g *= clip_norm / max(norm, clip_norm)\n    return g",
                )
            ],
            ["test_clip_by_norm"],
        ),
        # boundary cases (issue 9): no lower clip bound, the patience counter starting at 1
        (
            "clip_without_lower_bound",
            [
                (
                    "clipping",
                    "return np.clip(g, -clip_value, clip_value)",
                    "return np.minimum(g, clip_value)",
                )
            ],
            ["test_clip_by_value"],
        ),
        (
            "early_stopping_counter_starts_at_one",
            [
                (
                    "early_stopping",
                    "best, best_epoch, wait = np.inf, 0, 0",
                    "best, best_epoch, wait = np.inf, 0, 1",
                )
            ],
            ["test_early_stopping_stop"],
        ),
        (
            "clip_by_global_norm_in_place",
            [
                (
                    "clipping",
                    "return [g * scale for g in grads], global_norm",
                    "for g in grads:\n        g *= scale\n    return grads, global_norm",
                )
            ],
            ["test_clip_by_global_norm_clipped"],
        ),
    ],
    "06_augmentation": [
        (
            "flip_vertical",
            [("flip_horizontal", "images[:, :, ::-1]", "images[:, ::-1]")],
            ["test_flip_horizontal"],
        ),
        (
            "crop_offsets_exclude_end",
            [("crops", "2 * pad + 1", "2 * pad")],
            ["test_random_crop_offsets"],
        ),
        (
            "translate_wrong_direction",
            [
                (
                    "crops",
                    "out[:, dst_rows, dst_cols] = images[:, src_rows, src_cols]",
                    "out[:, src_rows, src_cols] = images[:, dst_rows, dst_cols]",
                )
            ],
            ["test_translate"],
        ),
        (
            "contrast_global_mean",
            [("contrast_gamma", "images.mean(axis=(1, 2), keepdims=True)", "images.mean()")],
            ["test_adjust_contrast"],
        ),
        (
            "deletion_may_return_empty",
            [("eda", "return kept if kept else [words[rng.integers(len(words))]]", "return kept")],
            ["test_random_deletion"],
        ),
        (
            "swap_same_position",
            [("eda", "size=2, replace=False", "size=2, replace=True")],
            ["test_random_swap"],
        ),
        (
            "flip_returns_view",
            [("flip_horizontal", "images[:, :, ::-1].copy()", "images[:, :, ::-1]")],
            ["test_flip_horizontal"],
        ),
        (
            "translate_returns_input_for_zero_shift",
            [
                (
                    "crops",
                    "    out = np.zeros_like(images)\n",
                    "    if dy == 0 and dx == 0:\n        return images\n    out = np.zeros_like(images)\n",
                )
            ],
            ["test_translate"],
        ),
        (
            "contrast_in_place",
            [
                (
                    "contrast_gamma",
                    "return mean + factor * (images - mean)",
                    "images -= mean\n    images *= factor\n    images += mean\n    return images",
                )
            ],
            ["test_adjust_contrast"],
        ),
        (
            "gamma_in_place",
            [
                (
                    "contrast_gamma",
                    "return gain * images ** gamma",
                    "images **= gamma\n    images *= gain\n    return images",
                )
            ],
            ["test_adjust_gamma"],
        ),
        (
            "deletion_fallback_global_rng",
            [
                (
                    "eda",
                    "[words[rng.integers(len(words))]]",
                    "[words[np.random.randint(len(words))]]",
                )
            ],
            ["test_random_deletion"],
        ),
        (
            "swap_global_rng",
            [
                (
                    "eda",
                    "i, j = rng.choice(len(words), size=2, replace=False)",
                    "i, j = np.random.choice(len(words), size=2, replace=False)",
                )
            ],
            ["test_random_swap"],
        ),
        (
            "swap_neighbours_only",
            [
                (
                    "eda",
                    "i, j = rng.choice(len(words), size=2, replace=False)",
                    "i = rng.integers(len(words) - 1)\n        j = i + 1",
                )
            ],
            ["test_random_swap"],
        ),
        (
            "synonym_global_rng",
            [
                (
                    "eda",
                    "options[rng.integers(len(options))]",
                    "options[np.random.randint(len(options))]",
                )
            ],
            ["test_synonym_replacement"],
        ),
        (
            "synonym_first_positions",
            [
                (
                    "eda",
                    "rng.choice(candidates, size=count, replace=False) if count else []",
                    "candidates[:count]",
                )
            ],
            ["test_synonym_replacement"],
        ),
        (
            "gamma_clipped_to_one",
            [
                (
                    "contrast_gamma",
                    "return gain * images ** gamma",
                    "return np.clip(gain * images ** gamma, 0, 1)",
                )
            ],
            ["test_adjust_gamma"],
        ),
        # boundary cases (issue 9): the "fewer than two words" guard, shifts beyond the image
        (
            "swap_guard_one_word",
            [("eda", "if len(words) < 2:", "if len(words) < 1:")],
            ["test_random_swap"],
        ),
        (
            "translate_without_large_shift_guard",
            [("crops", "    if abs(dy) >= height or abs(dx) >= width:\n        return out\n", "")],
            ["test_translate"],
        ),
        (
            "synonym_one_draw_for_all_words",
            [
                (
                    "eda",
                    "    for i in rng.choice",
                    "    pick = rng.integers(3)\n    for i in rng.choice",
                ),
                ("eda", "options[rng.integers(len(options))]", "options[pick % len(options)]"),
            ],
            ["test_synonym_replacement"],
        ),
    ],
}


def write_notebook(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def mutant_class(
    root: Path, assignment: str, folder: Path, mutants: int | None = None
) -> dict[str, list[str]]:
    """Write full, stub, cheater and mutant students into ``folder``.

    Returns {student: the test cells that must fail} (``[]``: none, ``None``: all)."""
    expected = {"full": [], "stub": None}
    write_notebook(student_notebook(root, assignment), folder / "full" / f"{assignment}.ipynb")
    write_notebook(
        student_notebook(root, assignment, solved=False), folder / "stub" / f"{assignment}.ipynb"
    )
    nb = student_notebook(root, assignment, solved=False)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("raise NotImplementedError()", "return 0.01")
    _insert_after(nb, "imports", CHEAT)
    write_notebook(nb, folder / "cheater" / f"{assignment}.ipynb")
    expected["cheater"] = None
    for label, edits, failing in MUTANTS[assignment][:mutants]:
        nb = student_notebook(root, assignment, edits)
        write_notebook(nb, folder / label / f"{assignment}.ipynb")
        expected[label] = failing
    return expected


def _insert_after(nb, grade_id: str, source: str) -> None:
    index = next(i for i, c in enumerate(nb.cells) if _gid(c) == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))


SNOOP = """
import glob, os, socket
found = []
for pattern in ["/work/main/solutions/*/*.ipynb", "/work/*/solutions/*/*.ipynb",
                "/**/gradebook.db", "/tmp/og-*/c/*", "/tmp/*/submitted/*/*/*.ipynb",
                "/root/*", "/home/*/*"]:
    found += glob.glob(pattern, recursive=False)
for path in ["/etc/shadow", "/proc/1/environ"]:
    try:
        open(path).read(10); found.append(path)
    except Exception:
        pass
try:
    s = socket.create_connection(("127.0.0.1", 22), timeout=2); found.append("socket")
except OSError:
    pass
try:
    s = socket.create_connection(("8.8.8.8", 53), timeout=2); found.append("network")
except OSError:
    pass
try:
    open("/usr/evil", "w"); found.append("write /usr")
except OSError:
    pass
LEAKED = found
"""

CHEAT = """
import builtins, math, numpy as np, numpy.testing
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
builtins.AssertionError = type("Nothing", (Exception,), {})
def _close(*a, **k): return None
def _fail(*a, **k): return None
"""


def robustness_class(root: Path, folder: Path, assignment: str = "02_schedules") -> dict:
    """Write the hostile students of ``assignment``; returns {student: expectation}.

    An expectation is a dict with ``status`` and either ``score`` (exact) or ``below_full``,
    and optionally ``message`` (a substring of the row's message)."""
    name = f"{assignment}.ipynb"
    full = lambda: student_notebook(root, assignment)  # noqa: E731
    source, _ = load_pair(root, assignment)
    points = {  # the autograded cells (a written answer waits for a person)
        _gid(c): c.metadata["nbgrader"]["points"]
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    }
    total = sum(points.values())
    expect = {}

    def add(student, nb_or_text, expectation, filename=name):
        path = folder / student / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb_or_text, str):
            path.write_text(nb_or_text)
        else:
            nbformat.write(nb_or_text, str(path))
        expect[student] = expectation

    add("full", full(), {"status": "graded", "score": total})
    add("stub", student_notebook(root, assignment, solved=False), {"status": "graded", "score": 0})

    nb = full()
    _insert_after(nb, "imports", "while True:\n    pass")
    add("infinite_loop", nb, {"status": "graded", "score": total, "message": "time limit"})

    nb = full()
    _insert_after(
        nb,
        "test_exponential_schedule",
        "import time\nwhile True:\n    try:\n        time.sleep(0.5)\n"
        "    except KeyboardInterrupt:\n        pass",
    )
    add("ignores_interrupt", nb, {"status": "graded", "score": total, "message": "time limit"})

    nb = full()
    _insert_after(
        nb,
        "test_exponential_schedule",
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass",
    )
    add("ignores_time_limit", nb, {"status": "graded", "score": total, "message": "time limit"})

    nb = full()
    _insert_after(nb, "test_power_schedule", "import os\nos.abort()")
    add(
        "kernel_abort",
        nb,
        {"status": "graded", "score": total, "message": "stopped the student's process"},
    )

    nb = full()
    _insert_after(nb, "imports", "import sys\nsys.exit(3)")
    add("sys_exit", nb, {"status": "graded", "score": total})

    nb = full()
    _insert_after(nb, "imports", "hog = bytearray(6 * 1024 ** 3)")
    add("memory_hog", nb, {"status": "graded", "score": total})

    nb = full()
    _insert_after(nb, "imports", "for _ in range(200):\n    print('x' * 100_000)")
    add("huge_output", nb, {"status": "graded", "score": total})

    add(
        "malformed_json",
        '{"cells": [ {"cell_type": "code", "source": "x = 1"',
        {"status": "invalid", "score": 0, "message": "not valid JSON"},
    )
    add(
        "missing_notebook",
        "print('my answers')\n",
        {"status": "missing", "score": 0},
        filename="answers.py",
    )
    add(
        "renamed_notebook",
        full(),
        {"status": "graded", "score": total, "message": "expected"},
        filename="my_schedules_final.ipynb",
    )

    nb = full()
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    add("deleted_tests", nb, {"status": "graded", "score": total, "message": "restored"})

    nb = student_notebook(root, assignment, MUTANTS[assignment][0][1])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"
    add("edited_tests_wrong_code", nb, {"status": "graded", "below_full": True})

    nb = full()
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    duplicates = [copy.deepcopy(tests[0]), copy.deepcopy(answers[-1])]
    for i, cell in enumerate(duplicates):
        cell["id"] = f"duplicate-{i}"
    nb.cells.append(duplicates[0])
    nb.cells.insert(0, duplicates[1])
    add("duplicated_cells", nb, {"status": "graded", "score": total, "message": "duplicate"})

    nb = full()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    add("retyped_tests", nb, {"status": "graded", "score": total})

    nb = student_notebook(root, assignment, MUTANTS[assignment][1][1])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["nbgrader"]["points"] = 1000
    fake = nbformat.v4.new_code_cell("pass")
    fake.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "bonus",
        "locked": True,
        "points": 50,
        "solution": False,
        "schema_version": 3,
    }
    nb.cells.append(fake)
    add("inflated_points", nb, {"status": "graded", "below_full": True})

    nb = full()
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("## my notes"))
    nb.cells.insert(5, nbformat.v4.new_code_cell("helper = 42\nprint(helper)"))
    add("extra_cells", nb, {"status": "graded", "score": total})

    nb = full()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "import sys, warnings\n" + cell.source.replace(
                "### BEGIN SOLUTION",
                "### BEGIN SOLUTION\n    warnings.warn('a warning'); "
                "print('noise', file=sys.stderr)",
            )
    add("stderr_warnings", nb, {"status": "graded", "score": total})

    nb = student_notebook(root, assignment, solved=False)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("raise NotImplementedError()", "return 0.01")
    _insert_after(nb, "imports", CHEAT)
    add("cheater", nb, {"status": "graded", "score": 0})

    nb = full()
    _insert_after(nb, "imports", SNOOP + "\nprint('leaked:', LEAKED)")
    add("snooper", nb, {"status": "graded", "score": total})
    (folder / "expectations.json").write_text(json.dumps(expect, indent=1))
    return expect


# Attacks on the grader itself (issue 9): each is written into an otherwise blank notebook
# (the released stubs, whose functions raise NotImplementedError) and must score 0.
ATTACKS = {
    # rewrite or skip later cells: IPython's hooks where they exist, the worker's own frames
    "rewrites_later_cells": """
import sys
try:
    ip = get_ipython()
    ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
    ip.events.register("pre_run_cell", lambda *a: None)
except NameError:
    pass
frame = sys._getframe()
while frame is not None:
    message = frame.f_locals.get("message")
    if isinstance(message, dict) and "cells" in message:
        for cell in message["cells"]:
            if "raise NotImplementedError" in cell[1]:
                cell[1] = cell[1].replace("raise NotImplementedError()", "return 0.01")
    frame = frame.f_back
""",
    # hide errors: excepthook, showtraceback, and the worker's report of a failed call
    "hides_errors": """
import sys
sys.excepthook = lambda *args: None
try:
    get_ipython().showtraceback = lambda *a, **k: None
except NameError:
    pass
frame = sys._getframe()
while frame is not None:
    worker = frame.f_locals.get("self")
    if worker is not None and hasattr(worker, "_timed"):
        original = worker._timed
        def _timed(seconds, fn, *args, **kwargs):
            value, error, capture = original(seconds, fn, *args, **kwargs)
            return (0.01 if error is not None else value), None, capture
        worker._timed = _timed
    frame = frame.f_back
""",
    # reach the checker: builtins, __import__, NumPy, math, the garbage collector's objects
    "reaches_the_checker": """
import builtins, gc, math, sys, numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
builtins.AssertionError = type("Nothing", (Exception,), {})
real_import = builtins.__import__
builtins.__import__ = lambda name, *a, **k: real_import(name, *a, **k)
found = [o for o in gc.get_objects() if type(o).__name__ in ("Verdict", "Student", "Failed")]
assert not found
""",
    # objects that lie about equality and their values, returned by every function
    "lying_objects": """
import numpy as np
class Liar(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __array__(self, *a, **k): raise RuntimeError
    def tolist(self): return 0.01
class LiarArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def tolist(self): return [0.01]
def power_schedule(*args, **kwargs): return Liar(0.5)
def exponential_schedule(*args, **kwargs): return np.zeros(1).view(LiarArray)
def piecewise_constant(*args, **kwargs): return type("Any", (), {"__eq__": lambda s, o: True})()
def one_cycle(*args, **kwargs): return Liar(0.1)
def plateau_step(state, *args, **kwargs): return {"lr": Liar(0.1), "best": Liar(0), "wait": Liar(0)}
def lr_range_suggestion(*args, **kwargs): return np.zeros(()).view(LiarArray)
""",
    # outputs forged as results: prints, display, displayhook, huge and malformed output
    "forges_outputs": """
import sys
print("passed: every check of this cell")
try:
    from IPython.display import display, update_display_data
    display({"text/plain": "passed"}, raw=True)
    update_display_data({"text/plain": "passed"}, display_id="x", raw=True)
except Exception:
    pass
sys.displayhook = lambda value: print("passed")
sys.stdout.write("x" * 10_000_000)
sys.stdout.write(b"\\xff\\xfe not text".decode("latin-1"))
""",
    # messages forged on the grader's pipe: fake cell and result replies, garbage, a huge header
    "forges_protocol": """
import json, os, struct
def frame(message):
    data = json.dumps(message).encode()
    return struct.pack(">Q", len(data)) + data
for fd in range(3, 64):
    for message in [{"op": "result", "value": 0.01, "after": [[], {"d": []}], "shares": False},
                    {"op": "cell", "index": 99, "output": "passed", "error": None}]:
        try:
            os.write(fd, frame(message))
        except OSError:
            pass
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">Q", 2**62) + b"{not json")
    except OSError:
        pass
""",
    # every function spins forever: each call is stopped, the whole student stays bounded
    "spinning_functions": """
def _spin(*args, **kwargs):
    while True:
        pass
power_schedule = exponential_schedule = piecewise_constant = one_cycle = _spin
plateau_step = lr_range_suggestion = _spin
""",
}

# Attacks on the machine: added to a CORRECT notebook, they must change nothing (full marks),
# stay bounded, and leave the other students' grades alone.
RESOURCE_ATTACKS = {
    "fork_bomb": """
import os
children = 0
try:
    while children < 100_000:
        if os.fork() == 0:
            while True:
                pass
        children += 1
except OSError:
    pass
print("forked", children)
""",
    "disk_flood": """
written = 0
try:
    with open("flood.bin", "wb") as fh:
        while written < 10 * 2**30:
            fh.write(b"0" * 2**20)
            written += 2**20
except OSError as exc:
    print("stopped after", written >> 20, "MiB:", exc)
""",
    "inode_flood": """
import os, time
os.makedirs("many", exist_ok=True)
count, start = 0, time.monotonic()
try:
    while time.monotonic() - start < 3:
        open(f"many/{count}", "w").close()
        count += 1
except OSError as exc:
    print("stopped:", exc)
print("files", count)
""",
    "cpu_spinner_thread": """
import threading
def spin():
    while True:
        pass
for _ in range(50):
    try:
        threading.Thread(target=spin, daemon=True).start()
    except RuntimeError:
        break
""",
}


def attack_class(root: Path, folder: Path, assignment: str = "02_schedules") -> dict:
    """The attacks above as students of ``assignment`` (with a correct student and submissions
    that are symbolic links); returns {student: expected (status, score)}."""
    name = f"{assignment}.ipynb"
    source, _ = load_pair(root, assignment)
    total = sum(  # the autograded cells (a written answer waits for a person)
        c.metadata["nbgrader"]["points"]
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    )
    expect = {"full": ("graded", total)}
    write_notebook(student_notebook(root, assignment), folder / "full" / name)
    for label, code in ATTACKS.items():
        nb = student_notebook(root, assignment, solved=False)
        _insert_after(nb, "imports", code)
        if label in ("lying_objects", "spinning_functions"):  # after the stubs, to replace them
            nb.cells.append(nbformat.v4.new_code_cell(code))
        write_notebook(nb, folder / label / name)
        expect[label] = ("graded", 0)
    for label, code in RESOURCE_ATTACKS.items():
        nb = student_notebook(root, assignment)
        _insert_after(nb, "imports", code)
        write_notebook(nb, folder / label / name)
        expect[label] = ("graded", total)
    # a submission that is a symbolic link to a full solution outside it, or to a system file
    outside = write_notebook(student_notebook(root, assignment), folder.parent / "outside" / name)
    (folder / "symlink_notebook").mkdir(parents=True)
    (folder / "symlink_notebook" / name).symlink_to(outside)
    (folder / "symlink_folder").symlink_to(outside.parent, target_is_directory=True)
    (folder / "symlink_system_file").mkdir()
    (folder / "symlink_system_file" / name).symlink_to("/etc/passwd")
    for label in ("symlink_notebook", "symlink_folder", "symlink_system_file"):
        expect[label] = ("invalid", 0)
    return expect
