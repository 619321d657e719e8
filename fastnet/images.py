"""People's images of digits prepared the way MNIST's digits were made.

MNIST scaled the ink's bounding box to fit 20x20 (aspect kept, anti-aliased) and placed it in
28x28 with its centre of mass at the centre. A person's image is read the same way:

    gray, scale, size = open_gray(path_or_bytes)   # 2-D, 0 black .. 1 white, at most 1024 a side
    ink = find_ink(gray)                 # ink strength 0..1 on clean paper, and its pieces
    pixels = mnist_pixels(ink.strength)  # (784,) float32 in [0, 1], like the loader's

or ``prepare(path_or_bytes)`` for all three. Ink and paper are told apart by Otsu's threshold
after a smooth background (a photo's uneven light) is fitted and taken away, so dark ink on
light paper, light on dark, pencil and photos all come out as MNIST's light-on-black. Needs
Pillow and SciPy (``pip install 'fastnet-nndl[image]'``).
"""
import io
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fastnet.errors import FastnetFileError, install_hint

#: What is read: raster formats only (EPS, for one, would be run by Ghostscript).
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
MAX_PIXELS = 50_000_000   # a 48-megapixel phone photo passes; a decompression bomb does not
MAX_SIDE = 20_000         # nor does a 1 x 40,000,000 strip
WORKING_SIDE = 1024       # larger images are shrunk to this on reading: 20x20 needs no more
BOX_SIDE, SIDE = 20, 28   # MNIST: the ink fits 20x20, placed in 28x28 ...
CENTRE = 14.0             # ... with its centre of mass here (the test set's lies in 13.5..14.5)
SMOOTHING = 1.0           # Gaussian sigma (pixels) of the copy used to decide ink vs paper
MIN_CONTRAST = 0.05       # ink must differ from paper by this (of black-to-white) ...
NOISE_CONTRAST = 6.0      # ... and by this many times the paper's noise
FAINT = 0.01              # ink's faint edges: this far above clean paper, 4 noises above noisy
SPECK = 0.02              # ink pieces with less than this share of the largest one's are dust
BLANK = "no ink found: the image is blank (or its ink is too faint to tell from the paper)"
INSTALL_HINT = install_hint("image")


class ImageTooLargeError(FastnetFileError):
    """An image that declares more pixels than fastnet reads (a decompression bomb?)."""


class Gray(NamedTuple):
    """What ``open_gray`` read: ``pixels`` (2-D float32, 0 black .. 1 white), ``scale`` (the
    original's size over the array's) and ``size``, the original's ``(width, height)``."""
    pixels: np.ndarray
    scale: float
    size: tuple


class Ink(NamedTuple):
    """What ``find_ink`` found: ``strength`` (float32, same shape as the image) is 0 on paper
    and rises to 1 in the core of a stroke; ``labels`` (int32) numbers its connected pieces
    1..``count`` (0 is paper), dust removed."""
    strength: np.ndarray
    labels: np.ndarray
    count: int


def prepare(source, name=None):
    """The digit in ``source`` (an image file's path or bytes) as MNIST pixels ``(784,)``."""
    return mnist_pixels(find_ink(open_gray(source, name)[0]).strength)


def libraries():
    """``(PIL.Image, scipy.ndimage)``, or an ImportError that says what to install."""
    try:
        from PIL import Image
        from scipy import ndimage
    except ImportError as error:
        raise ImportError(f"reading images needs Pillow and SciPy ({error.name} is missing): "
                          f"{INSTALL_HINT}") from None
    return Image, ndimage


# -- reading a file: bounded, any mode, to grayscale ------------------------------------------
def open_gray(source, name=None):
    """A ``Gray``: the image in ``source`` (a path, or the bytes of an image file in one of
    ``FORMATS``) as a 2-D float32 array, 0 black .. 1 white, transparency composited over
    white, upright, shrunk to at most ``WORKING_SIDE`` pixels a side; with its ``scale`` (the
    original's size over the array's) and the original's upright ``size``. ``name`` names the
    image in errors (default: the path, or "image").

    Refused before decoding, with an ImageTooLargeError (a FastnetFileError): more than
    ``MAX_PIXELS`` pixels or a side over ``MAX_SIDE`` (a PNG of a few dozen bytes can declare
    30000x30000). Any decoding failure is a FastnetFileError too."""
    Image, _ = libraries()
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, stream = name or "image", io.BytesIO(source)
    else:
        name, stream = name or str(source), Path(source)
        if not stream.is_file():
            raise FastnetFileError(f"{name}: no such image file")
    try:
        with Image.open(stream, formats=FORMATS) as image:
            _check_size(name, image.size)
            size, side = image.size, max(image.size)
            shrink = max(1.0, side / WORKING_SIDE)
            image.draft(None, (max(1, int(image.width / shrink)),   # JPEG: decoded small
                               max(1, int(image.height / shrink))))
            decoded = image.size
            upright = _upright(image)
            if upright.size != decoded:   # turned a quarter (EXIF)
                size = size[::-1]
            gray = _gray(upright, name)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"{name}: refused: it declares more than "
                                 f"{Image.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?); "
                                 f"fastnet reads at most {MAX_PIXELS:,}") from None
    except Image.UnidentifiedImageError:
        raise FastnetFileError(f"{name}: not an image fastnet reads (it reads "
                               f"{', '.join(FORMATS)})") from None
    except FastnetFileError:
        raise
    except Exception as error:  # Pillow's decoders raise many types on broken files
        raise FastnetFileError(f"{name}: cannot read the image: {error}") from error
    return Gray(*_shrunk(Image, gray, side), size)


def refuse_bombs_quietly():
    """Make Pillow's decompression-bomb *warning* an error in this process, so that an image
    between Pillow's warning and error limits ends in ``open_gray``'s one clear error, not a
    warning and then the error. For programs (the CLI, the server), not for libraries."""
    Image, _ = libraries()
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _check_size(name, size):
    width, height = size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise ImageTooLargeError(f"{name}: refused: it declares {width}x{height} pixels; fastnet "
                                 f"reads images of at most {MAX_PIXELS:,} pixels and {MAX_SIDE:,} a side")


def _upright(image):
    """The image turned as its EXIF orientation says (phone photos are stored sideways)."""
    from PIL import ImageOps
    return ImageOps.exif_transpose(image)


#: The white of float images, by their largest value: 1, else 255 (bytes kept as floats),
#: else 65535 (16-bit values).
FLOAT_WHITES = (1.0, 255.0, 65535.0)


def _gray(image, name):
    """0 black .. 1 white, float32; transparency over white; 16-bit and float images kept
    as they are (Pillow's convert("L") would clip them to 0..255)."""
    from PIL import Image
    if image.mode.startswith("I") or image.mode == "F":
        return _deep_gray(image, name)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def _deep_gray(image, name):
    """A 16-bit, 32-bit integer or float grayscale image as 0 black .. 1 white: integers
    over 65535, floats over the smallest of ``FLOAT_WHITES`` that holds them; the pixel
    value a PNG's transparency names becomes white paper."""
    values = np.asarray(image, dtype=np.float32)   # exact for 16-bit values
    low, high = float(values.min()), float(values.max())
    whites = (65535.0,) if image.mode.startswith("I") else FLOAT_WHITES
    white = next((white for white in whites if 0 <= low and high <= white), None)
    if white is None:
        raise FastnetFileError(f"{name}: pixel values from {low:g} to {high:g}; fastnet reads "
                               f"{image.mode} images with values from 0 to "
                               f"{' or '.join(f'{white:g}' for white in whites)}")
    gray = values / np.float32(white)
    if isinstance(image.info.get("transparency"), int):
        gray[values == image.info["transparency"]] = 1
    return gray


def _shrunk(Image, gray, side):
    """``(gray, scale)``: ``gray`` (decoded as it is, a JPEG perhaps already reduced) area-averaged
    to at most ``WORKING_SIDE`` a side, and ``scale`` from the image's own longest ``side``."""
    height, width = gray.shape
    shrink = max(1.0, max(height, width) / WORKING_SIDE)
    size = (max(1, round(width / shrink)), max(1, round(height / shrink)))
    if size != (width, height):
        gray = np.asarray(Image.fromarray(gray, "F").resize(size, Image.Resampling.BOX))
    return gray, side / max(gray.shape)


# -- ink and paper ----------------------------------------------------------------------------
def find_ink(gray):
    """The ink in ``gray`` (2-D, 0 black .. 1 white) as an ``Ink``: paper is the side of Otsu's
    threshold that the image's border lies on; a smooth background (quadratic in x and y,
    fitted to the paper) is taken away first; weak ink touching strong ink is ink
    (hysteresis), dust is not. A blank image is a ValueError that says so."""
    _, ndimage = libraries()
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"gray must be a non-empty 2-D array, got shape {gray.shape}")
    smooth = ndimage.gaussian_filter(gray, SMOOTHING)
    if float(smooth.max()) - float(smooth.min()) < MIN_CONTRAST:
        raise ValueError(BLANK)
    if _paper_is_light(smooth):
        gray, smooth = 1.0 - gray, 1.0 - smooth  # now ink is high, paper low
    background = _background(gray, smooth)
    ink, smooth_ink = gray - background, smooth - background
    threshold = otsu_threshold(smooth_ink)
    paper = smooth_ink[smooth_ink < threshold]
    paper_level = float(np.median(paper)) if paper.size else 0.0
    noise = 1.4826 * float(np.median(np.abs(paper - paper_level))) if paper.size else 0.0
    strong = smooth_ink >= threshold
    if not strong.any() or (float(np.percentile(smooth_ink[strong], 90)) - paper_level
                            < max(MIN_CONTRAST, NOISE_CONTRAST * noise)):
        raise ValueError(BLANK)
    weak = smooth_ink >= paper_level + max(4 * noise, FAINT)
    labels, count = _pieces(ndimage, weak, strong)
    ink_level = float(np.percentile(ink[strong & (labels > 0)], 75))
    strength = np.clip((ink - paper_level) / max(ink_level - paper_level, MIN_CONTRAST), 0, 1)
    strength[labels == 0] = 0
    return Ink(strength.astype(np.float32), labels, count)


def otsu_threshold(values, bins=256):
    """Otsu's threshold of ``values``: the cut of their histogram into two classes with the
    largest between-class variance. Values >= it are the upper class."""
    values = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1].astype(np.float64)
    above = values.size - below
    sum_below = np.cumsum(counts * centres)[:-1]
    mean_below = sum_below / below.clip(1)
    mean_above = (np.sum(counts * centres) - sum_below) / above.clip(1)
    between = below * above * (mean_below - mean_above) ** 2
    return float(edges[1 + np.argmax(between)])


def _paper_is_light(smooth):
    """True if the border, mostly paper, is nearer the image's lightest than its darkest."""
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    return float(np.median(border)) > (float(smooth.min()) + float(smooth.max())) / 2


def _background(darkness, smooth, rounds=3):
    """The paper's level everywhere: a quadratic surface in x and y fitted (least squares,
    on up to ~40,000 sampled pixels) to ``darkness`` on the paper: the pixels below Otsu's
    threshold of ``smooth`` (its smoothed copy), less those that stand out from the last fit
    by 3 times the paper's noise (the blur around strokes, faint ink). Refitted ``rounds``
    times as the paper is told apart better."""
    height, width = darkness.shape
    step = max(1, int(np.sqrt(height * width / 40_000)))
    x, y = np.meshgrid(np.linspace(-0.5, 0.5, width, dtype=np.float32),
                       np.linspace(-0.5, 0.5, height, dtype=np.float32))
    terms = [np.ones_like(darkness), x, y, x * x, x * y, y * y]
    sampled = np.stack([term[::step, ::step].ravel() for term in terms], axis=1)
    values, smooth = darkness[::step, ::step].ravel(), smooth[::step, ::step].ravel()
    fitted = np.zeros(len(terms))
    for _ in range(rounds):
        residual, off = smooth - sampled @ fitted, values - sampled @ fitted
        paper = residual < otsu_threshold(residual)
        if paper.any():
            level = np.median(off[paper])
            paper &= off <= level + 3 * 1.4826 * np.median(np.abs(off[paper] - level))
        if paper.sum() < 2 * len(terms):
            break
        fitted = np.linalg.lstsq(sampled[paper], values[paper], rcond=None)[0]
    return sum(c * term for c, term in zip(fitted, terms)).astype(np.float32)


def _pieces(ndimage, weak, strong):
    """``(labels, count)``: the 8-connected pieces of ``weak`` that hold strong pixels, less
    those with under ``SPECK`` of the largest piece's strong pixels, numbered 1..count."""
    labels, count = ndimage.label(weak, structure=np.ones((3, 3)))
    strong_pixels = np.bincount(labels[strong], minlength=count + 1)
    strong_pixels[0] = 0
    kept = strong_pixels >= max(1, SPECK * strong_pixels.max())
    renumber = np.zeros(count + 1, dtype=np.int32)
    renumber[kept] = np.arange(1, kept.sum() + 1)
    return renumber[labels], int(kept.sum())


# -- MNIST's 20x20 in 28x28 ---------------------------------------------------------------
def mnist_pixels(strength):
    """``strength`` (2-D ink, 0 on paper) as MNIST made its digits: the ink's bounding box
    scaled so its longer side is 20 pixels (aspect kept; area-averaged when shrinking), put in
    28x28 with its centre of mass at the centre. Returns ``(784,)`` float32 in [0, 1]."""
    Image, ndimage = libraries()
    strength = np.asarray(strength, dtype=np.float32)
    rows, cols = np.flatnonzero(strength.any(axis=1)), np.flatnonzero(strength.any(axis=0))
    if rows.size == 0:
        raise ValueError(BLANK)
    crop = strength[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    factor = BOX_SIDE / max(crop.shape)
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    digit = np.clip(np.asarray(Image.fromarray(crop, "F").resize(size, resample)), 0, 1)
    top, left = (int(round(CENTRE - c)) for c in ndimage.center_of_mass(digit))
    pixels = np.zeros((SIDE, SIDE), dtype=np.float32)
    rows_in = slice(max(0, -top), min(digit.shape[0], SIDE - top))
    cols_in = slice(max(0, -left), min(digit.shape[1], SIDE - left))
    pixels[rows_in.start + top:rows_in.stop + top, cols_in.start + left:cols_in.stop + left] = \
        digit[rows_in, cols_in]
    return pixels.reshape(SIDE * SIDE)
