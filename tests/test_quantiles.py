"""optreg.quantiles against hand-derived values and the uniform distribution it promises."""

import numpy as np
import pytest

from optreg.quantiles import QuantileTransformer


def test_distinct_training_values_map_to_their_rank_levels():
    x = np.array([[10.0], [1.0], [1000.0], [5.0], [100.0]])
    # sorted: 1, 5, 10, 100, 1000 -> levels 0, 1/4, 1/2, 3/4, 1
    np.testing.assert_allclose(
        QuantileTransformer().fit_transform(x)[:, 0], [0.5, 0, 1, 0.25, 0.75]
    )


def test_between_and_outside_the_training_range():
    qt = QuantileTransformer().fit(np.array([[0.0], [1.0], [2.0]]))
    np.testing.assert_allclose(qt.transform(np.array([[0.5], [-7.0], [9.0]]))[:, 0], [0.25, 0, 1])


def test_ties_map_to_the_middle_of_their_span():
    qt = QuantileTransformer().fit(np.array([[0.0], [1.0], [1.0], [1.0], [2.0]]))
    # levels 0, 1/4, 1/2, 3/4, 1; the value 1 spans 1/4..3/4
    assert qt.transform(np.array([[1.0]]))[0, 0] == pytest.approx(0.5)


def test_skewed_features_become_uniform_and_test_data_uses_training_quantiles():
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.lognormal(0, 2, 5000), rng.exponential(3, 5000)])
    z = QuantileTransformer(n_quantiles=200).fit_transform(train)
    for j in range(2):  # empirical CDF of the output close to the identity (Kolmogorov distance)
        levels = np.sort(z[:, j])
        assert np.abs(levels - np.arange(1, 5001) / 5000).max() < 0.01
    qt = QuantileTransformer().fit(train[:2500])
    z_test = qt.transform(train[2500:])
    assert z_test.min() >= 0 and z_test.max() <= 1
    assert abs(z_test.mean() - 0.5) < 0.02  # same distribution, so still about uniform


def test_monotone_per_feature():
    rng = np.random.default_rng(1)
    qt = QuantileTransformer(n_quantiles=50).fit(rng.normal(size=(300, 3)))
    grid = np.repeat(np.linspace(-4, 4, 101)[:, None], 3, axis=1)
    assert np.all(np.diff(qt.transform(grid), axis=0) >= 0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="n_quantiles"):
        QuantileTransformer(n_quantiles=1)
    with pytest.raises(ValueError, match="not fitted"):
        QuantileTransformer().transform(np.ones((2, 2)))
    qt = QuantileTransformer().fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="features"):
        qt.transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match="2-D"):
        qt.fit(np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        qt.fit(np.array([[1.0], [np.nan]]))
