"""Numbers of several digits read by a trained network: segment the ink, read each digit.

    digits = read_number(net, "number.png")     # [Digit(digit, confidence, box, ...), ...]
    "".join(str(d.digit) for d in digits)       # "504192"

The chapter: recognising a written number means segmenting it first. Here the ink
(``images.find_ink``) falls into 8-connected pieces; pieces of one digit are merged (a 5
whose bar came loose, a 4 drawn in two strokes, the dot where the pen touched down); a
piece too wide for one digit (neighbours that touch) is cut at the column with the least
ink; each digit is then prepared like MNIST's (``images.mnist_pixels``) and classified.
"""
from typing import NamedTuple

import numpy as np

from fastnet import images

STACKED = 0.5      # pieces overlapping by this share of the narrower's width ...
SHORT = 0.7        # ... of which one is shorter than this share of the line, are one digit
DOT = 0.4          # a piece under this share of the line's height and width is a dot or a
NEAR = 0.3         # fragment: part of a digit within this share of the line, else dropped
WIDE = 1.5         # a piece wider than this many lines is neighbours that touch (99% of
                   # MNIST's digits are less than 1.45 times as wide as tall) ...
DIGIT_WIDTH = 0.7  # ... each about this many lines wide (MNIST's mean: 0.78 of the height)


class Digit(NamedTuple):
    """One digit read: ``digit`` (0-9); ``confidence``, the network's output for it (a
    sigmoid activation in [0, 1]); ``box`` ``(left, top, right, bottom)`` in the image's
    pixels, right and bottom exclusive; ``activations``, all ten outputs; ``pixels``, the
    ``(784,)`` image the network saw."""
    digit: int
    confidence: float
    box: tuple
    activations: np.ndarray
    pixels: np.ndarray


class Piece(NamedTuple):
    """Ink that ``segment`` takes for one digit: the ink pieces ``labels`` of ``Ink.labels``,
    within rows ``top:bottom`` and columns ``left:right``."""
    top: int
    bottom: int
    left: int
    right: int
    labels: frozenset

    @property
    def width(self):
        return self.right - self.left

    @property
    def height(self):
        return self.bottom - self.top

    def ink(self, ink):
        """This piece's ink strength, cut to its box (other pieces' ink is 0)."""
        box = np.s_[self.top:self.bottom, self.left:self.right]
        return np.where(np.isin(ink.labels[box], list(self.labels)), ink.strength[box], 0)


def read_number(net, source, name=None):
    """The digits written in ``source`` (an image file's path or bytes), left to right, as
    a list of ``Digit``. ``net`` is a trained 784-input, 10-output ``Network``. A blank
    image is a ValueError; an unreadable one a FastnetFileError."""
    gray, scale, size = images.open_gray(source, name)
    ink = images.find_ink(gray)
    pieces = segment(ink)
    pixels = np.stack([images.mnist_pixels(piece.ink(ink)) for piece in pieces])
    outputs = net.outputs(pixels)
    return [Digit(int(np.argmax(activations)), float(np.max(activations)),
                  _box(piece, scale, size), activations, digit_pixels)
            for piece, activations, digit_pixels in zip(pieces, outputs, pixels)]


def segment(ink):
    """The pieces of ``ink`` (an ``images.Ink``) that hold one digit each, left to right."""
    _, ndimage = images.libraries()
    pieces = [Piece(rows.start, rows.stop, cols.start, cols.stop, frozenset([label]))
              for label, (rows, cols) in enumerate(ndimage.find_objects(ink.labels), start=1)]
    pieces = _merge_stacked(pieces, _line_height(pieces))
    line = _line_height(pieces)
    pieces = _merge_dots(pieces, line)
    pieces = [part for piece in pieces for part in _split(ink, piece, line)]
    return sorted(pieces, key=lambda piece: piece.left + piece.right)


def _line_height(pieces):
    """The height of a digit on this line: the median height of the pieces at least half as
    tall as the tallest (fragments and dots left out)."""
    heights = np.array([piece.height for piece in pieces])
    return float(np.median(heights[heights >= heights.max() / 2]))


def _union(a, b):
    return Piece(min(a.top, b.top), max(a.bottom, b.bottom), min(a.left, b.left),
                 max(a.right, b.right), a.labels | b.labels)


def _overlap(a, b):
    return min(a.right, b.right) - max(a.left, b.left)


def _gap(a, b):
    """How far apart two boxes are: the larger of the columns and the rows between them."""
    return max(-_overlap(a, b), max(a.top, b.top) - min(a.bottom, b.bottom), 0)


def _merge_stacked(pieces, line):
    """Pieces one above the other (overlapping by ``STACKED`` of the narrower's width, one of
    them shorter than ``SHORT`` lines, within ``NEAR`` lines) merged: a broken 5, the halves
    of a broken 8."""
    merged = []
    for piece in sorted(pieces, key=lambda piece: piece.left):
        for index, other in enumerate(merged):
            if (_overlap(piece, other) >= STACKED * min(piece.width, other.width)
                    and min(piece.height, other.height) < SHORT * line
                    and _gap(piece, other) <= NEAR * line):
                merged[index] = _union(other, piece)
                break
        else:
            merged.append(piece)
    return merged


def _merge_dots(pieces, line):
    """Dots and fragments (under ``DOT`` lines high and wide) joined to the nearest piece
    within ``NEAR`` lines, else dropped; the rest kept."""
    dots = [p for p in pieces if p.height < DOT * line and p.width < DOT * line]
    digits = [p for p in pieces if p not in dots]
    for dot in dots:
        gaps = [_gap(dot, digit) for digit in digits]
        if gaps and min(gaps) <= NEAR * line:
            nearest = int(np.argmin(gaps))
            digits[nearest] = _union(digits[nearest], dot)
    return digits


def _split(ink, piece, line):
    """``piece`` cut into as many digits as its width holds (``DIGIT_WIDTH`` lines each) if
    wider than ``WIDE`` lines (neighbours that touch); each cut at the column with the least
    ink within a third of a digit's width of where the even division would cut."""
    if piece.width <= WIDE * line:
        return [piece]
    count = max(2, round(piece.width / (DIGIT_WIDTH * line)))
    column_ink = piece.ink(ink).sum(axis=0)
    step = piece.width / count
    cuts = [0]
    for expected in step * np.arange(1, count):
        near = np.arange(max(cuts[-1] + 1, round(expected - step / 3)),
                         min(piece.width - 1, round(expected + step / 3)) + 1)
        if near.size:   # none in a piece a few pixels high (the line is that high)
            cuts.append(int(near[np.lexsort((np.abs(near - expected), column_ink[near]))[0]]))
    cuts.append(piece.width)
    parts = [_fit_rows(ink, piece._replace(left=piece.left + start, right=piece.left + end))
             for start, end in zip(cuts, cuts[1:])]
    return [part for part in parts if part]


def _fit_rows(ink, piece):
    """``piece`` with its top and bottom moved to the rows its ink spans; None if none."""
    rows = np.flatnonzero(piece.ink(ink).any(axis=1))
    if rows.size == 0:
        return None
    return piece._replace(top=piece.top + int(rows[0]), bottom=piece.top + int(rows[-1]) + 1)


def _box(piece, scale, size):
    """``piece``'s box in the original image's pixels (the image, ``size`` = ``(width,
    height)``, was shrunk by ``scale``), within the image."""
    width, height = size
    return (min(int(piece.left * scale), width - 1), min(int(piece.top * scale), height - 1),
            min(int(np.ceil(piece.right * scale)), width),
            min(int(np.ceil(piece.bottom * scale)), height))
