"""Reading numbers (fastnet.reading): segmentation into digits, and digit accuracy on
numbers written with MNIST test digits."""

import numpy as np
import pytest

from fastnet import images, reading

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy.ndimage")
people = pytest.importorskip("people")
from people import encoded  # noqa: E402  (after the skips: needs Pillow)


def numbers(X, y, rng, count, **style):
    """``count`` PNGs of numbers of 3-8 MNIST test digits, with the true digits and their
    indices in the test set."""
    written = []
    for _ in range(count):
        chosen = rng.choice(len(y), rng.integers(3, 9), replace=False)
        image = encoded(people.written_number(X[chosen], rng, **style))
        written.append((image, "".join(map(str, y[chosen])), chosen))
    return written


def digit_accuracy(net, written):
    """1 - (edit distance between what is read and the truth) / (digits), over all numbers."""
    errors = sum(people.edit_distance("".join(str(d.digit) for d in reading.read_number(net, image)), truth)
                 for image, truth, _ in written)
    return 1 - errors / sum(len(truth) for _, truth, _ in written)


def network_accuracy(net, X, y, written):
    """The network's accuracy on the same digits as MNIST gives them, 28x28."""
    chosen = np.concatenate([indices for _, _, indices in written])
    return float(np.mean(np.argmax(net.feedforward(X[chosen].T), axis=0) == y[chosen]))


def test_numbers_are_read_within_3_points_of_their_digits_alone(digit_net, mnist):
    """120 numbers of 3-8 MNIST test digits; gaps 0.15-0.5 of the height, size jitter
    +-15%, baseline jitter +-10%, dark ink on noisy paper."""
    net, _ = digit_net
    _, _, (X, y) = mnist
    written = numbers(X, y, np.random.default_rng(21), 120)
    alone, read = network_accuracy(net, X, y, written), digit_accuracy(net, written)
    print(f"digits alone (28x28): {alone:.2%}; read in numbers: {read:.2%} "
          f"({sum(len(truth) for _, truth, _ in written)} digits)")
    assert read >= alone - 0.03


def test_touching_neighbours_are_split(digit_net, mnist, monkeypatch):
    """Neighbours overlapping by up to 12% of the height (no target: reported). Cutting
    wide pieces must earn its keep: it reads them better than not cutting."""
    net, _ = digit_net
    _, _, (X, y) = mnist
    written = numbers(X, y, np.random.default_rng(22), 60, gap=(-0.12, 0.0))
    read = digit_accuracy(net, written)
    monkeypatch.setattr(reading, "WIDE", np.inf)
    uncut = digit_accuracy(net, written)
    print(f"touching neighbours: digits alone (28x28) {network_accuracy(net, X, y, written):.2%}; "
          f"read {read:.2%}; without cutting wide pieces {uncut:.2%}")
    assert read > uncut + 0.1


# -- segmentation ---------------------------------------------------------------------------
def ink_of(gray):
    return images.find_ink(gray.astype(np.float32) / 255)


def written(*inks, gap=20, height=200):
    """Dark-on-light 8-bit page with the given ink arrays side by side, ``gap`` pixels apart."""
    width = sum(ink.shape[1] for ink in inks) + gap * (len(inks) + 1)
    page = np.zeros((height, width), dtype=np.float32)
    left = gap
    for ink in inks:
        top = (height - ink.shape[0]) // 2
        region = page[top:top + ink.shape[0], left:left + ink.shape[1]]
        np.maximum(region, ink, out=region)
        left += ink.shape[1] + gap
    return np.rint(255 * (1 - page)).astype(np.uint8)


@pytest.fixture(scope="module")
def fives(mnist):
    """MNIST test 5s, 100 pixels tall, each one piece of ink."""
    _, _, (X, y) = mnist
    found = []
    for index in np.flatnonzero(y == 5)[:30]:
        ink = people.enlarged(X[index], 100)
        if images.find_ink(1 - ink).count == 1:
            found.append(ink)
    return found


def test_a_digit_broken_in_two_is_one_digit(fives):
    five = fives[0].copy()
    five[30:36] = 0  # a gap across the 5: its bar comes loose from its belly
    ink = ink_of(written(five))
    assert ink.count >= 2
    assert len(reading.segment(ink)) == 1


def test_the_dot_of_a_pen_joins_its_digit_and_a_stray_dot_is_dropped(fives):
    five = np.pad(fives[0], ((0, 0), (0, 40)))
    five[50:60, five.shape[1] - 30:five.shape[1] - 20] = 1  # a dot just right of the 5
    ink = ink_of(written(five, gap=200))
    assert ink.count == 2
    [piece] = reading.segment(ink)
    assert piece.right > piece.left + fives[0].shape[1] + 5


def test_touching_digits_are_cut_at_the_least_ink(fives):
    a, b = [five for five in fives if 60 <= five.shape[1] <= 80][:2]  # 0.6-0.8 as wide as tall
    pair = np.hstack([a, np.zeros((100, 10), dtype=np.float32), b])
    row = 60
    joins = np.flatnonzero(pair[row] > 0.5)
    start, end = joins[joins < a.shape[1]].max(), joins[joins >= a.shape[1] + 10].min()
    pair[row - 3:row + 3, start:end] = 1  # a pen stroke joins them
    ink = ink_of(written(pair))
    assert ink.count == 1
    pieces = reading.segment(ink)
    assert len(pieces) == 2 and pieces[0].right == pieces[1].left
    assert 20 + start <= pieces[0].right <= 20 + end


def test_digits_come_left_to_right_with_boxes_in_the_images_pixels(digit_net, mnist):
    """A number too large to work on at full size (3000 pixels wide): boxes are still in its
    own pixels, in reading order, each around its digit."""
    net, _ = digit_net
    _, _, (X, y) = mnist
    chosen = [3, 2, 1, 18]  # 0, 1, 2, 3
    inks = [people.enlarged(X[index], 80 + 30 * (n % 2)) for n, index in enumerate(chosen)]
    small = written(*inks, gap=40)
    large = np.kron(small, np.ones((6, 6), dtype=np.uint8))
    digits = reading.read_number(net, encoded(large))
    assert [d.digit for d in digits] == list(np.argmax(net.feedforward(X[chosen].T), axis=0))
    left = 40
    for digit, ink in zip(digits, inks):
        top = (200 - ink.shape[0]) // 2
        expected = np.array([left, top, left + ink.shape[1], top + ink.shape[0]]) * 6
        assert np.abs(np.array(digit.box) - expected).max() <= 12, (digit.box, expected)
        left += ink.shape[1] + 40
        assert digit.pixels.shape == (784,) and digit.activations.shape == (10,)
        assert digit.confidence == digit.activations.max() == digit.activations[digit.digit]


def test_one_digit_reads_like_predict(digit_net, mnist):
    net, _ = digit_net
    _, _, (X, _) = mnist
    image = encoded(people.redrawn_digit(X[7], np.random.default_rng(7)))
    [digit] = reading.read_number(net, image)
    np.testing.assert_allclose(digit.pixels, images.prepare(image), atol=1e-6)


def test_a_blank_page_is_an_error():
    with pytest.raises(ValueError, match="no ink found"):
        reading.read_number(None, encoded(np.full((100, 300), 240, dtype=np.uint8)))


def test_a_mark_far_above_a_digit_is_not_part_of_it(fives):
    five = fives[0]
    page = written(five, gap=40, height=400)              # the 5 in rows 150-250
    page[20:40, 60:80] = 0                               # a mark 110 rows above it
    [piece] = reading.segment(ink_of(page))
    assert piece.top >= 140


def test_a_page_one_pixel_high_is_segmented_without_error():
    row = np.full((1, 1024), 1.0, dtype=np.float32)
    for left in range(50, 1000, 150):
        row[0, left:left + 40] = 0.0
    pieces = reading.segment(images.find_ink(row))
    assert pieces and all(0 <= p.left < p.right <= 1024 for p in pieces)


def test_boxes_lie_within_the_image(digit_net):
    page = np.full((3000, 1001), 255, dtype=np.uint8)     # shrunk 2.93 times, not evenly
    page[1000:2000, 850:1001] = 0                         # ink up to the right edge
    for digit in reading.read_number(digit_net[0], encoded(page)):
        left, top, right, bottom = digit.box
        assert 0 <= left < right <= 1001 and 0 <= top < bottom <= 3000
