"""Exact RBF support-vector machines whose kernel matrix is computed with BLAS.

libsvm evaluates the RBF kernel itself, one dot product at a time, and that is most of an SVM
fit on a few thousand rows of a few hundred PCA components. :class:`RBFSVC` and
:class:`RBFSVR` compute the whole Gram matrix at once (one symmetric BLAS product and an
exponential) and hand it to the same libsvm solver as a precomputed kernel. The optimization
problem, the solver and its tolerance are those of ``SVC(kernel="rbf")`` /
``SVR(kernel="rbf")``, so the fitted model is the same up to rounding (decision values agree to
about 1e-12 in the tests). ``gamma="scale"`` is scikit-learn's ``1 / (n_features * X.var())`` on
the rows fitted.

The Gram matrix takes ``8 n^2`` bytes (650 MB at 9,000 rows); above ``max_gram_rows`` training
rows the estimators fall back to libsvm's own kernel, the same model at the old speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_regressor
from sklearn.svm import SVC, SVR
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

#: Training rows above which the Gram matrix (8 n^2 bytes) is not built: 2.6 GB at 18,000.
MAX_GRAM_ROWS = 18_000
_PREDICT_CHUNK = 1024


def resolve_gamma(gamma: str | float, X: np.ndarray) -> float:
    """scikit-learn's ``gamma``: ``scale`` is 1 / (n_features * X.var()), ``auto`` 1 / n_features."""
    if gamma == "scale":
        var = float(X.var())
        return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


def _squared_norms(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _products_to_rbf(
    P: np.ndarray, sq_rows: np.ndarray, sq_cols: np.ndarray, gamma: float, same_rows: bool = False
) -> np.ndarray:
    """Turn dot products ``P`` into RBF kernel values in place (and return ``P``).

    ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b``, clipped at 0 against rounding; with ``same_rows`` the
    diagonal is a row against itself, distance exactly 0.
    """
    P *= -2.0
    P += sq_rows[:, None]
    P += sq_cols[None, :]
    np.maximum(P, 0.0, out=P)
    if same_rows:
        np.fill_diagonal(P, 0.0)
    P *= -gamma
    np.exp(P, out=P)
    return P


def rbf_gram(X: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * |x_i - x_j|^2)`` for every pair of rows: a C-ordered symmetric matrix.

    One ``dsyrk`` (half the work of a general product) and in-place arithmetic, so the peak
    memory is the matrix itself.
    """
    from scipy.linalg.blas import dsyrk

    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    # X is C-ordered, so X.T is a Fortran-ordered view: syrk on it with trans=1 gives X X^T
    # (upper triangle) without copying X.
    G = dsyrk(1.0, X.T, trans=1, lower=0)
    sq = _squared_norms(X)
    _products_to_rbf(G, sq, sq, gamma, same_rows=True)
    block = 1024
    for i in range(0, n, block):  # mirror the upper triangle, a block of rows at a time
        j = min(i + block, n)
        G[j:, i:j] = G[i:j, j:].T
        tri = np.tril_indices(j - i, -1)
        G[i:j, i:j][tri] = G[i:j, i:j].T[tri]
    return G.T  # exactly symmetric, and C-ordered as libsvm's wrapper wants


def rbf_cross(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-gamma * |a_i - b_j|^2)`` for the rows of ``A`` against the rows of ``B``."""
    return _products_to_rbf(A @ B.T, _squared_norms(A), _squared_norms(B), gamma)


class _GramSVM(BaseEstimator):
    """What the classifier and the regressor share: fit on a Gram matrix, predict in chunks."""

    def _libsvm(self, kernel: str, gamma: float) -> Any:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> _GramSVM:
        """Fit on ``X`` (n_samples, n_features) and ``y``, as libsvm's RBF machine would."""
        X, y = validate_data(self, X, y, dtype=np.float64, order="C", y_numeric=is_regressor(self))
        if not is_regressor(self):
            check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.gamma_ = resolve_gamma(self.gamma, X)
        self.n_train_ = X.shape[0]
        self.gram_ = X.shape[0] <= self.max_gram_rows
        if self.gram_:
            self.svm_ = self._libsvm("precomputed", 1.0)
            self.svm_.fit(rbf_gram(X, self.gamma_), y, sample_weight=sample_weight)
            self.support_vectors_ = X[self.svm_.support_]
        else:
            self.svm_ = self._libsvm("rbf", self.gamma_)
            self.svm_.fit(X, y, sample_weight=sample_weight)
            self.support_vectors_ = self.svm_.support_vectors_
        return self

    def _apply(self, method: str, X: Any) -> np.ndarray:
        check_is_fitted(self, "svm_")
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        func = getattr(self.svm_, method)
        if not self.gram_:
            return func(X)
        out = []
        for start in range(0, X.shape[0], _PREDICT_CHUNK):
            # Only the support vectors' columns enter libsvm's sums; the rest stay 0.
            K = np.zeros((min(_PREDICT_CHUNK, X.shape[0] - start), self.n_train_))
            K[:, self.svm_.support_] = rbf_cross(
                X[start : start + _PREDICT_CHUNK], self.support_vectors_, self.gamma_
            )
            out.append(func(K))
        return np.concatenate(out)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classifier) or values (regressor) of the rows of ``X``."""
        return self._apply("predict", X)


class RBFSVC(ClassifierMixin, _GramSVM):
    """``SVC(kernel="rbf")`` with the kernel matrix from BLAS (see the module docstring).

    Attributes
    ----------
    svm_ : sklearn.svm.SVC
        The fitted libsvm machine (on the precomputed kernel when ``gram_``).
    gamma_ : float
        The kernel width used (``"scale"`` resolved on the training rows).
    gram_ : bool
        Whether the kernel matrix was precomputed (at most ``max_gram_rows`` rows).
    support_vectors_ : ndarray
        The support vectors.
    n_train_ : int
        Training rows.
    classes_ : ndarray
        Class labels.
    n_features_in_ : int
        Columns seen in ``fit``.

    See Also
    --------
    RBFSVR : the same machine for regression.
    sklearn.svm.SVC : the model it computes, without BLAS kernels.
    """

    def __init__(
        self,
        C: float = 1.0,
        gamma: str | float = "scale",
        *,
        cache_size: float = 1000,
        max_gram_rows: int = MAX_GRAM_ROWS,
    ) -> None:
        self.C = C
        self.gamma = gamma
        self.cache_size = cache_size
        self.max_gram_rows = max_gram_rows

    def _libsvm(self, kernel: str, gamma: float) -> SVC:
        return SVC(kernel=kernel, C=self.C, gamma=gamma, cache_size=self.cache_size)

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> RBFSVC:
        super().fit(X, y, sample_weight)
        self.classes_ = self.svm_.classes_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """libsvm's decision values of the rows of ``X``."""
        return self._apply("decision_function", X)


class RBFSVR(RegressorMixin, _GramSVM):
    """``SVR(kernel="rbf")`` with the kernel matrix from BLAS (see the module docstring).

    Attributes
    ----------
    svm_ : sklearn.svm.SVR
        The fitted libsvm machine (on the precomputed kernel when ``gram_``).
    gamma_ : float
        The kernel width used (``"scale"`` resolved on the training rows).
    gram_ : bool
        Whether the kernel matrix was precomputed (at most ``max_gram_rows`` rows).
    support_vectors_ : ndarray
        The support vectors.
    n_train_ : int
        Training rows.
    n_features_in_ : int
        Columns seen in ``fit``.

    See Also
    --------
    RBFSVC : the same machine for classification.
    sklearn.svm.SVR : the model it computes, without BLAS kernels.
    """

    def __init__(
        self,
        C: float = 1.0,
        gamma: str | float = "scale",
        epsilon: float = 0.1,
        *,
        cache_size: float = 1000,
        max_gram_rows: int = MAX_GRAM_ROWS,
    ) -> None:
        self.C = C
        self.gamma = gamma
        self.epsilon = epsilon
        self.cache_size = cache_size
        self.max_gram_rows = max_gram_rows

    def _libsvm(self, kernel: str, gamma: float) -> SVR:
        return SVR(
            kernel=kernel, C=self.C, gamma=gamma, epsilon=self.epsilon, cache_size=self.cache_size
        )
