"""Images for topic 05: loading, and the distinct colours of an image with their counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["SAMPLE_IMAGES", "distinct_colours", "load_image"]

SAMPLE_IMAGES = ("flower.jpg", "china.jpg")


def load_image(name: str | Path = "flower.jpg") -> np.ndarray:
    """Load an RGB image as an array of shape (H, W, 3) and dtype uint8.

    Parameters
    ----------
    name : str or Path
        One of scikit-learn's bundled sample images (``"flower.jpg"``, ``"china.jpg"``) or the path of any image
        file that Pillow reads; other colour modes (greyscale, RGBA, palette) are converted to RGB.

    Raises
    ------
    FileNotFoundError
        If `name` is neither a sample image nor an existing file.
    ValueError
        If the file is not an image that Pillow can read.
    """
    if str(name) in SAMPLE_IMAGES:
        from sklearn.datasets import load_sample_image

        return load_sample_image(str(name))
    from PIL import Image, UnidentifiedImageError

    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no image file {path} (or use one of the sample images {', '.join(SAMPLE_IMAGES)})")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"cannot read {path} as an image: {error}") from None


def distinct_colours(image: np.ndarray):
    """The distinct colours of an RGB image, how often each occurs, and which one each pixel has.

    Parameters
    ----------
    image : np.ndarray, shape (H, W, 3), dtype uint8

    Returns
    -------
    colours : np.ndarray of float, shape (M, 3)
        The M distinct colours, in increasing order of their 24-bit code.
    counts : np.ndarray of int, shape (M,)
        How many pixels have each colour; they sum to H * W.
    inverse : np.ndarray of int, shape (H * W,)
        The index into `colours` of every pixel, so that ``colours[inverse]`` is the image's pixels in row order.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an RGB array of shape (H, W, 3) and dtype uint8, got shape {image.shape} "
                         f"and dtype {image.dtype}")
    pixels = image.reshape(-1, 3).astype(np.int32)
    codes = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    colours = np.column_stack([unique >> 16, (unique >> 8) & 255, unique & 255]).astype(float)
    return colours, counts, inverse.ravel()
