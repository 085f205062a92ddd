"""Loading images and counting their distinct colours."""

import numpy as np
import pytest
from PIL import Image

from latent_course.images import distinct_colours, load_image


def test_sample_images_are_rgb_uint8():
    image = load_image("china.jpg")
    assert image.shape == (427, 640, 3) and image.dtype == np.uint8


def test_any_file_is_converted_to_rgb(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey, mode="L").save(tmp_path / "grey.png")
    image = load_image(tmp_path / "grey.png")
    assert image.shape == (3, 4, 3)
    np.testing.assert_array_equal(image[..., 0], grey)


def test_unreadable_file_is_a_clear_error(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read .*notes.jpg as an image"):
        load_image(tmp_path / "notes.jpg")


def test_missing_file_names_the_sample_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="flower.jpg, china.jpg"):
        load_image(tmp_path / "missing.png")


def test_distinct_colours_rebuild_the_image_and_count_every_pixel():
    image = np.array([[[1, 2, 3], [1, 2, 3], [255, 0, 0]], [[0, 0, 0], [255, 0, 0], [1, 2, 3]]], dtype=np.uint8)
    colours, counts, inverse = distinct_colours(image)
    np.testing.assert_array_equal(colours, [[0, 0, 0], [1, 2, 3], [255, 0, 0]])
    np.testing.assert_array_equal(counts, [1, 3, 2])
    np.testing.assert_array_equal(colours[inverse], image.reshape(-1, 3))


def test_distinct_colours_of_the_flower():
    colours, counts, _ = distinct_colours(load_image("flower.jpg"))
    assert len(colours) == 62_941 and counts.sum() == 273_280


def test_distinct_colours_rejects_non_rgb_arrays():
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\) and dtype uint8"):
        distinct_colours(np.zeros((4, 4)))
