"""The drawing page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium. Under CI a missing browser fails the tests.

``FASTNET_SCREENSHOT=docs/serve.png python -m pytest tests/test_browser.py`` also saves the
README's screenshot of the page with a drawn number."""
import base64
import os
import shutil

import numpy as np
import pytest

from datafiles import png_declaring
from fastnet import reading
from needs import needed

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy.ndimage")
people = pytest.importorskip("people")

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1000,1000"]
WAIT = 30  # seconds for the page to show an answer


def missing(what):
    needed(f"the browser test needs {what} "
           f"(Debian: apt-get install chromium chromium-driver; pip install selenium)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium under Selenium, with a new empty profile; quit after."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium")
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        missing("chromium and chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def fresh(browser, page_server):
    """The browser on a newly loaded page."""
    browser.get(page_server.url)
    return browser


def draw(driver, number):
    """Write ``number`` on the page's paper with mouse strokes (press, move, release)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    paper = driver.find_element(By.ID, "paper")
    width, height = paper.size["width"], paper.size["height"]
    scale = width / int(paper.get_attribute("width"))  # CSS pixels per canvas pixel
    for stroke in people.pen_strokes(number):
        offsets = [(round(x * scale - width / 2), round(y * scale - height / 2)) for x, y in stroke]
        actions = ActionChains(driver, duration=10)
        actions.move_to_element_with_offset(paper, *offsets[0]).click_and_hold()
        for offset in offsets[1:]:
            actions.move_to_element_with_offset(paper, *offset)
        actions.release().perform()


def settled_answer(driver):
    """The number shown once the page has no request in flight and nothing left to send."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    def settled(d):
        shown = d.find_element(By.ID, "number").text
        failed = "error" in d.find_element(By.ID, "status").get_attribute("class")
        return not d.execute_script("return busy || again") and (shown or failed)
    WebDriverWait(driver, WAIT).until(settled)
    return driver.find_element(By.ID, "number").text


def paper_png(driver):
    url = driver.execute_script("return document.getElementById('paper').toDataURL('image/png')")
    return base64.b64decode(url.split(",", 1)[1])


def test_drawing_a_number_shows_it_read_with_what_the_network_sees(fresh, digit_net):
    from selenium.webdriver.common.by import By
    net, _ = digit_net
    draw(fresh, "504192")
    shown = settled_answer(fresh)
    assert shown == "".join(str(d.digit) for d in reading.read_number(net, paper_png(fresh)))
    assert shown == "504192"
    cards = fresh.find_elements(By.CSS_SELECTOR, "#digits .digit")
    assert [card.find_element(By.TAG_NAME, "b").text for card in cards] == list("504192")
    ink_seen = fresh.execute_script("""
        return [...document.querySelectorAll('canvas.seen')].map(c => {
            const data = c.getContext('2d').getImageData(0, 0, 28, 28).data;
            let ink = 0;
            for (let i = 0; i < data.length; i += 4) ink += data[i] > 128;
            return [c.width, c.height, ink];
        });""")
    assert len(ink_seen) == 6 and all(w == h == 28 and 20 < ink < 400 for w, h, ink in ink_seen)
    for card, digit in zip(cards, "504192"):
        bars = card.find_elements(By.CSS_SELECTOR, ".bar")
        heights = [float(bar.value_of_css_property("height").removesuffix("px")) for bar in bars]
        assert len(bars) == 10 and int(np.argmax(heights)) == int(digit) and max(heights) > 20
        assert "best" in bars[int(digit)].get_attribute("class")
    if os.environ.get("FASTNET_SCREENSHOT"):
        fresh.set_window_size(820, 900)
        fresh.save_screenshot(os.environ["FASTNET_SCREENSHOT"])


def give_file(driver, path, how):
    """Hand ``path`` to the page: through its file picker, or dropped on the paper."""
    from selenium.webdriver.common.by import By
    if how == "picked":
        driver.find_element(By.ID, "file").send_keys(str(path))
        return
    driver.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes], arguments[1], {type: "image/png"}));
        document.getElementById("pad").dispatchEvent(
            new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
        """, base64.b64encode(path.read_bytes()).decode(), path.name)


@pytest.mark.parametrize("how", ["picked", "dropped"])
def test_an_image_file_is_read(fresh, digit_net, mnist, tmp_path, how):
    from selenium.webdriver.common.by import By
    net, _ = digit_net
    _, _, (X, _) = mnist
    path = tmp_path / "number.png"
    Image.fromarray(people.written_number(X[[3, 2, 1, 18, 4]], np.random.default_rng(1))).save(path)
    give_file(fresh, path, how)
    expected = "".join(str(d.digit) for d in reading.read_number(net, path))
    assert len(expected) == 5 and settled_answer(fresh) == expected
    assert len(fresh.find_elements(By.CSS_SELECTOR, "#digits canvas.seen")) == 5


def test_a_hostile_upload_shows_its_error_and_the_page_goes_on(fresh, tmp_path):
    from selenium.webdriver.common.by import By
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(30000, 30000))
    give_file(fresh, bomb, "picked")
    assert settled_answer(fresh) == ""
    status = fresh.find_element(By.ID, "status")
    assert "refused" in status.text and "error" in status.get_attribute("class")
    draw(fresh, "7")
    assert settled_answer(fresh) == "7"
