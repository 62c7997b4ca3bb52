"""The BLAS-kernel SVMs are scikit-learn's RBF SVC / SVR: same decisions, same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.svm import SVC, SVR

from facemind.models.kernel import RBFSVC, RBFSVR, rbf_cross, rbf_gram, resolve_gamma


def _data(n: int, d: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0, size=d)  # unequal scales, as PCA gives
    signal = X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=1.0, size=n)
    y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


def test_gram_is_the_rbf_kernel_by_definition():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2500, 7))  # more rows than one mirroring block
    gamma = 0.3
    K = rbf_gram(X, gamma)
    i, j = rng.integers(0, len(X), size=(2, 400))
    direct = np.exp(-gamma * ((X[i] - X[j]) ** 2).sum(axis=1))
    np.testing.assert_allclose(K[i, j], direct, rtol=0, atol=1e-12)
    assert K.flags.c_contiguous
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_array_equal(np.diag(K), 1.0)
    Y = rng.normal(size=(30, 7))
    cross = np.exp(-gamma * ((Y[:, None, :] - X[None, :50, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(rbf_cross(Y, X[:50], gamma), cross, rtol=0, atol=1e-12)


def test_gamma_scale_and_auto_follow_scikit_learn():
    X, _ = _data(50, 4, 2, 1)
    assert resolve_gamma("scale", X) == pytest.approx(1.0 / (4 * X.var()))
    assert resolve_gamma("auto", X) == 0.25
    assert resolve_gamma(0.01, X) == 0.01
    assert resolve_gamma("scale", np.ones((5, 3))) == 1.0  # constant data, as scikit-learn


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("gamma", ["scale", 0.05])
def test_classifier_matches_libsvm_rbf(classes, gamma):
    X, y = _data(600, 12, classes, classes)
    Xt, _ = _data(2100, 12, classes, 99)  # more test rows than one prediction chunk
    ours = RBFSVC(C=2.0, gamma=gamma).fit(X, y)
    ref = SVC(kernel="rbf", C=2.0, gamma=gamma).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    np.testing.assert_array_equal(ours.svm_.support_, ref.support_)
    np.testing.assert_allclose(ours.decision_function(Xt), ref.decision_function(Xt), atol=1e-8)
    np.testing.assert_array_equal(ours.predict(Xt), ref.predict(Xt))


def test_classifier_sample_weights_match_libsvm():
    X, y = _data(400, 6, 2, 5)
    w = np.where(y == 1, 3.0, 1.0)
    ours = RBFSVC().fit(X, y, sample_weight=w)
    ref = SVC(kernel="rbf").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-8)


def test_regressor_matches_libsvm_rbf():
    X, _ = _data(500, 9, 2, 7)
    y = X[:, 0] ** 2 - X[:, 2] + np.random.default_rng(3).normal(size=len(X))
    ours = RBFSVR(C=3.0, epsilon=0.2).fit(X, y)
    ref = SVR(kernel="rbf", C=3.0, epsilon=0.2).fit(X, y)
    np.testing.assert_allclose(ours.predict(X[:200]), ref.predict(X[:200]), atol=1e-8)


def test_above_the_gram_limit_libsvm_computes_the_kernel():
    X, y = _data(300, 5, 2, 11)
    big = RBFSVC(max_gram_rows=100).fit(X, y)
    small = RBFSVC().fit(X, y)
    assert not big.gram_ and small.gram_
    np.testing.assert_allclose(big.decision_function(X), small.decision_function(X), atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(8, 60),
    d=st.integers(2, 6),
    seed=st.integers(0, 10_000),
    C=st.sampled_from([0.1, 1.0, 10.0]),
)
def test_any_small_problem_gives_libsvm_predictions(n, d, seed, C):
    X, y = _data(n, d, 2, seed)
    if len(np.unique(y)) < 2:
        return
    ours = RBFSVC(C=C).fit(X, y)
    ref = SVC(kernel="rbf", C=C).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-7)


@pytest.mark.parametrize("cls", [RBFSVC, RBFSVR])
def test_bad_input_gets_scikit_learn_errors_not_a_blas_crash(cls):
    from sklearn.exceptions import NotFittedError

    X, y = _data(40, 3, 2, 0)
    with pytest.raises(NotFittedError):
        cls().predict(X)
    with pytest.raises(ValueError, match="0 sample"):
        cls().fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="Expected 2D array"):
        cls().fit(X[:, 0], y)
    model = cls().fit(X, y)
    assert model.n_features_in_ == 3
    with pytest.raises(ValueError, match="0 sample"):
        model.predict(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.where(X > 1, np.nan, X))


def test_classifier_refuses_continuous_targets():
    X, _ = _data(40, 3, 2, 0)
    with pytest.raises(ValueError, match="Unknown label type"):
        RBFSVC().fit(X, np.linspace(0, 1, 40))
