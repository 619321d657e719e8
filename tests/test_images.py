"""Preparing people's images like MNIST's digits (fastnet.images), and ``fastnet predict`` on
MNIST test digits re-drawn the way people hand digits over."""
import io
import re
import sys

import numpy as np
import pytest

from datafiles import png_declaring
from fastnet import cli, images
from fastnet.errors import FastnetFileError

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy.ndimage")
people = pytest.importorskip("people")  # tests/people.py; needs Pillow
from people import encoded  # noqa: E402  (after the skips: needs Pillow)


def ink_box(pixels):
    digit = pixels.reshape(28, 28)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(pixels):
    digit = pixels.reshape(28, 28).astype(np.float64)
    index = np.arange(28)
    return (digit.sum(axis=1) @ index / digit.sum(), digit.sum(axis=0) @ index / digit.sum())


# -- the accuracy a person sees ---------------------------------------------------------------
def test_predict_reads_redrawn_digits_within_2_points_of_the_originals(digit_net, mnist, tmp_path,
                                                                        capsys):
    """400 MNIST test digits drawn 2-6x larger, dark on light, somewhere on a larger noisy
    canvas; half of them photos (JPEG) with uneven light. Same network, same digits."""
    net, model = digit_net
    _, _, (X, y) = mnist
    rng = np.random.default_rng(11)
    chosen = rng.choice(len(y), 400, replace=False)
    paths = []
    for n, index in enumerate(chosen):
        photo = n % 2 == 1
        gray = people.redrawn_digit(X[index], rng, gradient=rng.uniform(0.15, 0.35) if photo else 0.0)
        paths.append(tmp_path / f"{n}.{'jpg' if photo else 'png'}")
        Image.fromarray(gray).save(paths[-1], quality=90)
    assert cli.main(["predict", str(model), *map(str, paths)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(": ", 1)[0] for line in lines] == list(map(str, paths))
    redrawn = np.array([int(line.rsplit(": ", 1)[1]) for line in lines])
    original = np.argmax(net.feedforward(X[chosen].T), axis=0)
    accuracy = {"original 28x28": np.mean(original == y[chosen]), "re-drawn": np.mean(redrawn == y[chosen]),
                "re-drawn PNG": np.mean(redrawn[::2] == y[chosen][::2]),
                "re-drawn photos": np.mean(redrawn[1::2] == y[chosen][1::2])}
    print(" ".join(f"{name}: {value:.2%}" for name, value in accuracy.items()))
    assert accuracy["re-drawn"] >= accuracy["original 28x28"] - 0.02


def test_prepared_digits_are_made_like_mnists(mnist):
    """The ink's longer side is 20 pixels and its centre of mass within half a pixel of
    (14, 14), whatever size and place the digit had."""
    _, _, (X, _) = mnist
    rng = np.random.default_rng(3)
    for index in range(20):
        pixels = images.prepare(encoded(people.redrawn_digit(X[index], rng, gradient=0.3)))
        assert pixels.shape == (784,) and pixels.dtype == np.float32
        assert 0 <= pixels.min() and pixels.max() <= 1 and pixels.max() > 0.9
        assert max(ink_box(pixels)) == 20
        assert np.allclose(centre_of_mass(pixels), 14, atol=0.5)


@pytest.mark.parametrize("mode", ["L", "light-on-dark", "RGB", "RGBA", "P", "I;16",
                                  "I;16 transparent", "I", "F", "F 0..255"])
def test_an_mnist_digit_comes_back_as_itself(mnist, mode):
    """An MNIST digit saved 5x larger in any common mode (black ink on a transparent
    background for RGBA; on paper stored black but marked transparent for a 16-bit PNG;
    32-bit and float TIFFs) is prepared back into the same 28x28 pixels."""
    _, _, (X, _) = mnist
    for index in range(5):
        ink = np.kron(X[index].reshape(28, 28), np.ones((5, 5), dtype=np.float32))
        options, form = {}, "PNG"
        if mode == "RGBA":
            alpha = np.rint(ink * 255).astype(np.uint8)
            image = Image.fromarray(np.dstack([np.zeros((140, 140, 3), np.uint8), alpha]))
        elif mode == "I;16":
            image = Image.fromarray(np.rint(65535 * (1 - ink)).astype(np.uint16))
        elif mode == "I;16 transparent":   # paper 0 (black) named transparent by tRNS
            ink_values = np.maximum(1, np.rint(65535 * (1 - ink)))
            image = Image.fromarray(np.where(ink > 0, ink_values, 0).astype(np.uint16))
            options["transparency"] = 0
        elif mode in ("I", "F", "F 0..255"):
            white = 255 if mode == "F 0..255" else 65535 if mode == "I" else 1
            values = white * (1 - ink)
            image = Image.fromarray(np.rint(values).astype(np.int32) if mode == "I" else values)
            form = "TIFF"
        else:
            gray = np.rint(255 * (ink if mode == "light-on-dark" else 1 - ink)).astype(np.uint8)
            image = Image.fromarray(gray).convert(mode if mode in ("RGB", "P") else "L")
        stream = io.BytesIO()
        image.save(stream, form, **options)
        assert Image.open(stream).mode == {"light-on-dark": "L"}.get(mode, mode.split()[0])
        np.testing.assert_allclose(images.prepare(stream.getvalue()), X[index], atol=0.02)


@pytest.mark.parametrize("values, message", [
    (np.array([[-5.0, 300.0]]), "pixel values from -5 to 300; fastnet reads F images with values "
                                "from 0 to 1 or 255 or 65535"),
    (np.array([[0.0, np.nan]]), "pixel values from nan to nan"),
    (np.array([[0, 70000]], dtype=np.int32), "pixel values from 0 to 70000; fastnet reads I "
                                             "images with values from 0 to 65535"),
])
def test_deep_images_beyond_their_range_are_file_errors(values, message):
    stream = io.BytesIO()
    Image.fromarray(values.astype(np.float32) if values.dtype.kind == "f" else values).save(stream, "TIFF")
    with pytest.raises(FastnetFileError, match=re.escape(f"digit.tif: {message}")):
        images.open_gray(stream.getvalue(), name="digit.tif")


def test_a_photo_stored_sideways_is_turned_upright(mnist):
    _, _, (X, _) = mnist
    gray = people.redrawn_digit(X[0], np.random.default_rng(0))
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: turn 90 degrees clockwise to view
    sideways = encoded(np.rot90(gray), "JPEG", quality=95, exif=exif)
    upright = encoded(gray, "JPEG", quality=95)
    np.testing.assert_allclose(images.prepare(sideways), images.prepare(upright), atol=0.1)


@pytest.mark.parametrize("format", ["PNG", "JPEG"])   # a JPEG is decoded already reduced
def test_a_large_photo_is_read_small_and_reports_its_scale(mnist, format):
    _, _, (X, _) = mnist
    gray = people.redrawn_digit(X[0], np.random.default_rng(0))
    large = np.kron(gray, np.ones((16, 16), dtype=np.uint8))
    small, scale, size = images.open_gray(encoded(large, format))
    assert size == large.shape[::-1]
    assert max(small.shape) == images.WORKING_SIDE
    assert scale == pytest.approx(max(large.shape) / images.WORKING_SIDE)
    assert np.abs(images.prepare(encoded(large, format)) - images.prepare(encoded(gray, format))).mean() < 0.02


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_a_strip_far_longer_than_wide_is_read(format):
    strip = np.full((20_000, 10), 255, dtype=np.uint8)
    strip[8_000:12_000] = 0
    gray, scale, size = images.open_gray(encoded(strip, format))
    assert size == (10, 20_000) and gray.shape == (images.WORKING_SIDE, 1)
    assert gray[:300].min() > 0.9 and gray[500].max() < 0.1


def test_size_is_the_upright_originals_when_exif_turns_it():
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to view
    stored = np.full((1200, 3000), 200, dtype=np.uint8)   # 3000 wide as stored, 1200 as viewed
    gray, scale, size = images.open_gray(encoded(stored, "JPEG", exif=exif))
    assert size == (1200, 3000) and gray.shape[0] > gray.shape[1]


# -- what is not a digit ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["white", "black", "gray", "noise", "gradient", "one pixel"])
def test_a_blank_image_is_an_error_not_a_digit(kind):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:200, 0:300]
    gray = {"white": np.full((200, 300), 1.0), "black": np.zeros((200, 300)),
            "gray": np.full((200, 300), 0.6),
            "noise": np.clip(0.85 + rng.normal(0, 0.04, (200, 300)), 0, 1),
            "gradient": 0.95 - 0.3 * x / 300 - 0.1 * y / 200 + rng.normal(0, 0.02, (200, 300)),
            "one pixel": np.ones((1, 1))}[kind]
    with pytest.raises(ValueError, match="no ink found: the image is blank"):
        images.prepare(encoded(np.rint(np.clip(gray, 0, 1) * 255).astype(np.uint8)))


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = png_declaring(30000, 30000)
    assert len(bomb) < 80
    with pytest.raises(images.ImageTooLargeError, match=r"^upload: refused: it declares more than"):
        images.open_gray(bomb, name="upload")
    with pytest.raises(images.ImageTooLargeError, match=r"declares 8000x7000 pixels; fastnet reads images "
                                                        r"of at most 50,000,000 pixels"):
        images.open_gray(png_declaring(8000, 7000))
    with pytest.raises(images.ImageTooLargeError, match=r"declares 1x30000000 pixels"):
        images.open_gray(png_declaring(1, 30_000_000))


@pytest.mark.parametrize("data, message", [
    (b"hello, not an image", "not an image fastnet reads"),
    (png_declaring(300, 200), "cannot read the image"),  # the header promises rows that never come
    (b"", "not an image fastnet reads"),
    # EPS is an image to Pillow, which renders it by running Ghostscript on it: never read
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "not an image fastnet reads"),
])
def test_unreadable_images_are_file_errors(data, message):
    with pytest.raises(FastnetFileError, match=f"^digit.png: {message}"):
        images.open_gray(data, name="digit.png")


def test_a_truncated_file_is_a_file_error(tmp_path, mnist):
    _, _, (X, _) = mnist
    whole = encoded(people.redrawn_digit(X[0], np.random.default_rng(0)))
    (tmp_path / "cut.png").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(FastnetFileError, match="cut.png: cannot read the image"):
        images.prepare(tmp_path / "cut.png")


def test_without_pillow_or_scipy_the_error_says_what_to_install(monkeypatch):
    for missing in ("PIL", "scipy"):
        monkeypatch.setitem(sys.modules, missing, None)
        with pytest.raises(ImportError, match=r"reading images needs Pillow and SciPy \(.* is missing\): "
                                              r"pip install 'fastnet-nndl\[image\]'"):
            images.prepare(b"anything")
        monkeypatch.undo()


def test_otsu_threshold_splits_two_levels():
    values = np.concatenate([np.full(900, 0.1), np.full(100, 0.7)]) + np.linspace(0, 0.05, 1000)
    threshold = images.otsu_threshold(values)
    assert values[:900].max() < threshold <= values[900:].min()
    assert np.count_nonzero(values >= threshold) == 100
