"""The numerics of GAN metrics, as pure NumPy functions of features or probabilities.

Everything here is float64 NumPy, independent of TensorFlow, and tested against
straightforward SciPy references. Feature extraction lives in :mod:`gankit.eval.features`;
the metric components that combine the two are in the built-in ``metrics`` plugin.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "kernel_distance",
    "classifier_score",
    "channel_statistics_distance",
    "pixel_fidelity",
]


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of ``features`` (n, d), in float64."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors of shape (n, d), got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the "F" of FID).

    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``.

    The trace of the matrix square root is computed as the sum of the square roots of
    the eigenvalues of ``s1 sigma2 s1`` with ``s1 = sigma1^(1/2)``, a symmetric positive
    semi-definite matrix with the same eigenvalues as ``sigma1 sigma2``. Working with
    symmetric matrices (``eigh``) means there is no complex residue to discard, unlike
    ``scipy.linalg.sqrtm`` of the non-symmetric product; round-off can only make tiny
    eigenvalues negative, and those are clipped to zero.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"shapes do not match: {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        )
    s1 = _sqrt_psd((sigma1 + sigma1.T) / 2)
    inner = s1 @ ((sigma2 + sigma2.T) / 2) @ s1
    eigenvalues = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negatives clipped)."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def kernel_distance(
    features1: np.ndarray,
    features2: np.ndarray,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: unbiased MMD² with the cubic polynomial kernel ``(x·y / d + 1)^3``.

    Averaged over ``subsets`` random subsets of ``min(subset_size, n1, n2)`` vectors
    from each side (Bińkowski et al. 2018). Returns (mean, standard deviation over the
    subsets). The unbiased estimator can be slightly negative when the two sets come
    from the same distribution.
    """
    x = np.asarray(features1, np.float64)
    y = np.asarray(features2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"feature shapes do not match: {x.shape} and {y.shape}")
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 feature vectors on each side")
    rng = np.random.default_rng(seed)
    values = [
        mmd2_unbiased(
            x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of two equal-size samples under the cubic polynomial kernel."""
    d = x.shape[1]
    m = len(x)
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    off = m * (m - 1)
    return float(
        (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2.0 * kxy.mean()
    )


def classifier_score(probabilities: np.ndarray, eps: float = 1e-12) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))``: the Inception score with another classifier.

    From 1 (every image gets the same class distribution) to the number of classes
    (confident predictions, all classes equally often).
    """
    p = np.asarray(probabilities, np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def channel_statistics_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-example style distance of two feature maps (n, h, w, c) — AdaIN's style loss.

    ``|mean_a - mean_b|_2 + |std_a - std_b|_2`` over channels, with the mean and
    standard deviation taken over each example's spatial positions. Returns (n,).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"feature maps must both be (n, h, w, c), got {a.shape} and {b.shape}")
    mean_a, mean_b = a.mean(axis=(1, 2)), b.mean(axis=(1, 2))
    std_a, std_b = a.std(axis=(1, 2)), b.std(axis=(1, 2))
    return np.linalg.norm(mean_a - mean_b, axis=1) + np.linalg.norm(std_a - std_b, axis=1)


def pixel_fidelity(images: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PSNR and L1 of ``images`` to their ground truth ``truth`` (same shape, in [-1, 1]).

    Both in units of pixels in [0, 1] (a full-range error of 1): ``psnr`` is the mean
    over images of ``10 log10(1 / MSE_i)`` in dB (each image's MSE floored at 1e-10, so
    an exact copy scores 100 dB, not infinity), ``l1`` the mean absolute error.
    """
    fake, real = np.asarray(images, np.float64), np.asarray(truth, np.float64)
    if fake.shape != real.shape or fake.ndim < 2:
        raise ValueError(
            f"images {fake.shape} and ground truth {real.shape} must have one shape (n, ...)"
        )
    error = (fake - real) / 2.0
    mse = np.maximum((error**2).reshape(len(error), -1).mean(axis=1), 1e-10)
    return {"psnr": float(np.mean(10.0 * np.log10(1.0 / mse))), "l1": float(np.abs(error).mean())}
