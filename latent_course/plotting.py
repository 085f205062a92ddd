"""Plotting helpers shared by the notebooks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

__all__ = ["covariance_ellipse", "show_images"]


def covariance_ellipse(ax, mean, cov, n_std: float = 2.0, **kwargs) -> Ellipse:
    """Draw the ellipse ``(x - mean)^T cov^{-1} (x - mean) = n_std^2`` of a 2-D Gaussian on `ax`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    mean : array-like, shape (2,)
    cov : array-like, shape (2, 2)
        Symmetric positive semi-definite.
    n_std : float
        Radius in standard deviations along each principal axis.
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (``edgecolor``, ``linestyle``, ``label`` ...).

    Returns
    -------
    ellipse : matplotlib.patches.Ellipse
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(f"mean and cov must have shapes (2,) and (2, 2), got {mean.shape} and {cov.shape}")
    variances, axes = np.linalg.eigh(cov)
    if variances[0] < -1e-12 * max(1.0, variances[1]):
        raise ValueError("cov must be positive semi-definite")
    width, height = 2 * n_std * np.sqrt(np.clip(variances[::-1], 0, None))
    angle = np.degrees(np.arctan2(axes[1, 1], axes[0, 1]))
    kwargs.setdefault("fill", False)
    ellipse = Ellipse(tuple(mean), width, height, angle=angle, **kwargs)
    ax.add_patch(ellipse)
    return ellipse


def show_images(images: dict, columns: int | None = None, width: float = 4.5):
    """Show RGB images side by side, each under its title.

    Parameters
    ----------
    images : dict of str to np.ndarray
        Title to image; each image of shape (H, W, 3), uint8 or float in [0, 1].
    columns : int, optional
        Images per row; all in one row by default.
    width : float
        Width of one image in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    if not images:
        raise ValueError("images must hold at least one image")
    columns = columns or len(images)
    rows = -(-len(images) // columns)
    first = next(iter(images.values()))
    height = width * first.shape[0] / first.shape[1] + 0.4
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (title, image) in zip(axes.ravel(), images.items(), strict=False):  # spare axes stay empty
        ax.imshow(image)
        ax.set_title(title)
    fig.tight_layout()
    return fig
