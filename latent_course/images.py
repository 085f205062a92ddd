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
        The path of any image file that Pillow reads or, when no such file exists, one of scikit-learn's bundled
        sample images (``"flower.jpg"``, ``"china.jpg"``). The EXIF orientation is applied; other colour modes
        (greyscale, RGBA, palette) are converted to RGB, and 16-bit, 32-bit and floating-point images are scaled to
        8 bits by their nominal range.

    Raises
    ------
    TypeError
        If `name` is not a str or Path.
    FileNotFoundError
        If `name` is neither an existing file nor a sample image.
    ValueError
        If the file is not an image that Pillow can read.
    """
    if not isinstance(name, str | Path):
        raise TypeError(f"name must be a str or Path, got {type(name).__name__}")
    path = Path(name)
    if not path.is_file() and str(name) in SAMPLE_IMAGES:
        from sklearn.datasets import load_sample_image

        return load_sample_image(str(name))
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise FileNotFoundError(f"no image file {path} (or use one of the sample images {', '.join(SAMPLE_IMAGES)})")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                return np.repeat(_to_8_bits(np.asarray(image), image.mode)[..., None], 3, axis=2)
            return np.array(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"cannot read {path} as an image: {error}") from None


def _to_8_bits(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale a single-channel 16-bit, 32-bit or floating-point image to uint8 by its nominal range.

    Pillow mode ``I;16*`` spans 0-65535; mode ``I`` (32-bit, also what Pillow makes of 16-bit PNGs) spans 0-65535
    when all its values lie there; mode ``F`` spans 0-1 when all its values lie there. Any other range is stretched
    from its smallest to its largest value.
    """
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"the {mode} image holds NaN or infinite values")
    low, high = values.min(), values.max()
    if mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
        low, high = 0.0, 65535.0
    elif mode == "F" and low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    span = high - low if high > low else 1.0
    return np.round((values - low) / span * 255).astype(np.uint8)


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
