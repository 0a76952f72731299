"""optreg.sparsity against hand-derived values and the definition of the L1 proximal operator."""

import numpy as np
import pytest

from optreg import sparsity


def test_soft_threshold_hand_values():
    w = np.array([-2.0, -0.3, 0.0, 0.1, 0.5, 3.0])
    np.testing.assert_allclose(sparsity.soft_threshold(w, 0.5), [-1.5, 0, 0, 0, 0, 2.5])


def test_soft_threshold_is_the_proximal_operator_of_l1():
    """prox(v) = argmin_w 1/2 (w - v)^2 + t |w|, checked by brute force on a fine grid."""
    grid = np.linspace(-4, 4, 80001)
    for v in [-3.1, -0.2, 0.0, 0.7, 2.4]:
        objective = 0.5 * (grid - v) ** 2 + 0.8 * np.abs(grid)
        assert sparsity.soft_threshold(np.array(v), 0.8) == pytest.approx(
            grid[np.argmin(objective)], abs=1e-4
        )


def test_soft_threshold_rejects_a_negative_threshold():
    with pytest.raises(ValueError, match="threshold"):
        sparsity.soft_threshold(np.ones(3), -0.1)


def test_magnitude_masks_keep_the_largest_of_each_array():
    a = np.array([[0.1, -5.0], [2.0, -0.2]])
    b = np.arange(10.0)
    mask_a, mask_b = sparsity.magnitude_masks([a, b], 0.5)
    np.testing.assert_array_equal(mask_a, [[False, True], [True, False]])
    np.testing.assert_array_equal(mask_b, b >= 5)


def test_zero_sparsity_keeps_everything_and_bad_sparsity_is_refused():
    w = np.ones((3, 3))
    assert sparsity.magnitude_masks([w], 0.0)[0].all()
    for bad in [-0.1, 1.0, 1.5]:
        with pytest.raises(ValueError, match="sparsity"):
            sparsity.magnitude_masks([w], bad)


def test_apply_masks_zeroes_in_place_and_sparsity_counts_exact_zeros():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(20, 10)), rng.normal(size=30)]
    masks = sparsity.magnitude_masks(weights, 0.8)
    sparsity.apply_masks(weights, masks)
    assert sparsity.sparsity(weights[:1]) == pytest.approx(0.8)
    assert sparsity.sparsity(weights[1:]) == pytest.approx(24 / 30)
    assert sparsity.sparsity(weights) == pytest.approx((160 + 24) / 230)


def test_apply_masks_refuses_mismatched_masks():
    with pytest.raises(ValueError, match="mask"):
        sparsity.apply_masks([np.ones(3)], [np.ones(4, dtype=bool)])
    with pytest.raises(ValueError, match="masks"):
        sparsity.apply_masks([np.ones(3)], [])
