"""Plotting helpers shared by the notebooks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from .validation import check_matrix, check_positive_float, check_positive_int, check_real_array

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
        Radius in standard deviations along each principal axis, greater than 0.
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (``edgecolor``, ``linestyle``, ``label`` ...).

    Returns
    -------
    ellipse : matplotlib.patches.Ellipse
    """
    if not hasattr(ax, "add_patch"):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    mean, cov = check_real_array(mean, "mean"), check_real_array(cov, "cov")
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError(f"mean and cov must have shapes (2,) and (2, 2), got {mean.shape} and {cov.shape}")
    for name, value in (("mean", mean), ("cov", cov)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must not contain NaN or infinite values, got {value.tolist()}")
    n_std = check_positive_float(n_std, "n_std")
    if abs(cov[0, 1] - cov[1, 0]) > 1e-12 * max(1.0, np.abs(cov).max()):
        raise ValueError(f"cov must be symmetric, got {cov.tolist()}")
    variances, axes = np.linalg.eigh(cov)
    if variances[0] < -1e-12 * max(1.0, variances[1]):
        raise ValueError("cov must be positive semi-definite")
    width, height = 2 * n_std * np.sqrt(np.clip(variances[::-1], 0, None))
    angle = np.degrees(np.arctan2(axes[1, 1], axes[0, 1]))
    kwargs.setdefault("fill", False)
    ellipse = Ellipse(tuple(mean), width, height, angle=angle, **kwargs)
    ax.add_patch(ellipse)
    return ellipse


def show_images(images: dict, columns: int | None = None, width: float | None = None):
    """Show RGB images side by side, each under its title.

    Parameters
    ----------
    images : dict of str to np.ndarray
        Title to image; each image of shape (H, W, 3) (or (H, W, 4), or (H, W) in grey) with H, W >= 1, uint8 or
        float in [0, 1], without NaN.
    columns : int, optional
        Images per row, at least 1; all in one row by default.
    width : float, optional
        Width of one image in inches; by default 4.5, less when a row would be wider than 9 inches (about a page's
        width, so that the titles keep a readable size where the figure is scaled to the page).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    if not isinstance(images, dict):
        raise TypeError(f"images must be a dict of titles to images, got {type(images).__name__}")
    if not images:
        raise ValueError("images must hold at least one image")
    for title, image in images.items():
        image = np.asarray(image)
        if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0 or \
                (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise ValueError(f"images[{title!r}] must have shape (H, W, 3) with H, W >= 1, got shape {image.shape}")
        check_matrix(image.reshape(image.shape[0], -1), f"images[{title!r}]")
    columns = len(images) if columns is None else check_positive_int(columns, "columns")
    width = min(4.5, 9 / columns) if width is None else check_positive_float(width, "width")
    rows = -(-len(images) // columns)
    first = np.asarray(next(iter(images.values())))
    height = width * first.shape[0] / first.shape[1] + 0.4
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (title, image) in zip(axes.ravel(), images.items(), strict=False):  # spare axes stay empty
        ax.imshow(image)
        ax.set_title(title)
    fig.tight_layout()
    return fig
