"""MNIST test digits re-drawn as people hand them over: dark ink on light paper, larger than
28x28, somewhere on a bigger canvas, with noise and, for photos, uneven light."""
import io

import numpy as np
from PIL import Image


def encoded(array, format="PNG", **options):
    """``array`` (8-bit gray) as the bytes of an image file in ``format`` (Pillow's
    ``save`` ``options``, such as a JPEG's quality)."""
    stream = io.BytesIO()
    Image.fromarray(array).save(stream, format, **options)
    return stream.getvalue()


def enlarged(pixels, height):
    """A 28x28 MNIST digit (values in [0, 1]) cut to its ink and smoothly resized so that
    its ink is ``height`` pixels tall."""
    digit = np.asarray(pixels, dtype=np.float32).reshape(28, 28)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    factor = height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * factor)), max(1, round(height)))
    return np.clip(np.asarray(Image.fromarray(crop, "F").resize(size, Image.Resampling.BICUBIC)), 0, 1)


def on_paper(ink, rng, gradient=0.0):
    """``ink`` (0..1) as dark ink on light paper: 8-bit gray with noise, and a linear
    lighting gradient of ``gradient`` (of black-to-white) across the page in a random direction."""
    height, width = ink.shape
    paper = rng.uniform(0.75, 0.97)
    ink_gray = rng.uniform(0.05, 0.35)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width]
    light = paper - gradient * (np.cos(angle) * (x / width - 0.5) + np.sin(angle) * (y / height - 0.5) + 0.5)
    gray = light - ink * (light - ink_gray) + rng.normal(0, rng.uniform(0.01, 0.05), ink.shape)
    return np.rint(np.clip(gray, 0, 1) * 255).astype(np.uint8)


def redrawn_digit(pixels, rng, gradient=0.0):
    """One MNIST digit drawn 2-6x larger (a 20-pixel digit becomes 40-120 pixels tall), at a
    random place on a canvas 1.2-2.5 times its size each way, dark on light paper."""
    scale = rng.uniform(2, 6)
    digit = enlarged(pixels, 20 * scale) if np.any(pixels) else np.zeros((1, 1))
    height, width = (int(side * rng.uniform(1.2, 2.5)) + 2 for side in digit.shape)
    top, left = rng.integers(0, height - digit.shape[0]), rng.integers(0, width - digit.shape[1])
    canvas = np.zeros((height, width), dtype=np.float32)
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return on_paper(canvas, rng, gradient)


def written_number(digit_pixels, rng, gap=(0.15, 0.5), size=(0.85, 1.15), baseline=0.1):
    """Several MNIST digits written in a row: digit height 30-60 pixels times a per-digit
    ``size`` jitter, gaps a random share ``gap`` of the height between neighbours' ink (negative:
    they overlap), baseline moved up or down by up to ``baseline`` of the height; dark on light."""
    line = rng.uniform(30, 60)
    inks, lefts, tops = [], [], []
    x = rng.uniform(0.3, 1.0) * line
    for pixels in digit_pixels:
        ink = enlarged(pixels, line * rng.uniform(*size))
        inks.append(ink)
        lefts.append(int(round(x)))
        tops.append(int(round(line * (0.4 + rng.uniform(-baseline, baseline)) + line - ink.shape[0])))
        x += ink.shape[1] + rng.uniform(*gap) * line
    width = int(x + rng.uniform(0.3, 1.0) * line)
    canvas = np.zeros((int(line * 2.8), max(width, lefts[-1] + inks[-1].shape[1] + 1)), dtype=np.float32)
    for ink, top, left in zip(inks, tops, lefts):
        region = canvas[top:top + ink.shape[0], left:left + ink.shape[1]]
        np.maximum(region, ink, out=region)
    return on_paper(canvas, rng)


def edit_distance(a, b):
    """Levenshtein distance between two strings."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _arc(cx, cy, rx, ry, start, end, points):
    angles = np.radians(np.linspace(start, end, points))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Each digit as a person draws it with a mouse: pen strokes, points (x, y) in a unit cell.
PEN_STROKES = {
    0: [_arc(0.5, 0.5, 0.38, 0.48, 0, 360, 24)],
    1: [[(0.45, 0.02), (0.55, 0.98)]],
    2: [_arc(0.5, 0.28, 0.4, 0.26, 190, 400, 14) + [(0.05, 0.95), (0.95, 0.92)]],
    3: [_arc(0.45, 0.26, 0.36, 0.24, 200, 450, 12) + _arc(0.45, 0.74, 0.4, 0.24, 270, 520, 12)],
    4: [[(0.6, 0.02), (0.05, 0.68), (0.95, 0.68)], [(0.7, 0.3), (0.7, 0.98)]],
    5: [[(0.9, 0.02), (0.2, 0.02), (0.14, 0.45)] + _arc(0.48, 0.68, 0.4, 0.3, 220, 500, 14)],
    6: [[(0.7, 0.02), (0.45, 0.2), (0.22, 0.5)] + _arc(0.5, 0.72, 0.32, 0.26, 180, 540, 18)],
    7: [[(0.05, 0.02), (0.95, 0.02), (0.4, 0.98)]],
    8: [_arc(0.5, 0.26, 0.3, 0.24, 90, 450, 16), _arc(0.5, 0.74, 0.38, 0.24, -90, 270, 16)],
    9: [_arc(0.5, 0.26, 0.34, 0.24, 0, 360, 16) + [(0.84, 0.26), (0.78, 0.6), (0.68, 0.98)]],
}


def pen_strokes(number, left=30, top=45, width=80, height=150, gap=34):
    """The strokes that write ``number`` left to right, in pixels: digits ``width`` x
    ``height`` from (``left``, ``top``), ``gap`` apart."""
    return [[(left + i * (width + gap) + x * width, top + y * height) for x, y in stroke]
            for i, digit in enumerate(number) for stroke in PEN_STROKES[int(digit)]]
