"""The drawing page's server (fastnet.server, ``fastnet serve``): ``POST /read`` answers,
hostile requests get 4xx answers and never stop it."""
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from datafiles import png_declaring
from fastnet import cli, reading, server

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy.ndimage")
people = pytest.importorskip("people")
from people import encoded  # noqa: E402  (after the skips: needs Pillow)

def request(httpd, method, path, body=None, headers=None):
    """``(status, JSON or text)`` of one request to ``httpd``."""
    connection = http.client.HTTPConnection(*httpd.server_address[:2], timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    is_json = response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(data) if is_json else data.decode()


@pytest.fixture(scope="module")
def number_images(mnist):
    """Three PNGs of written numbers."""
    _, _, (X, _) = mnist
    rng = np.random.default_rng(5)
    return [encoded(people.written_number(X[rng.choice(len(X), 4, replace=False)], rng)) for _ in range(3)]


def test_the_page_is_one_file_with_nothing_from_outside(page_server):
    status, page = request(page_server, "GET", "/")
    assert status == 200 and page.startswith("<!doctype html>") and "<canvas" in page
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//|<script\s+src", page)
    assert re.findall(r"<link[^>]*>", page) == ['<link rel="icon" href="data:,">']  # no favicon request


def test_read_answers_digits_activations_boxes_and_pixels(page_server, digit_net, number_images):
    net, _ = digit_net
    status, answer = request(page_server, "POST", "/read", number_images[0], {"Content-Type": "image/png"})
    expected = reading.read_number(net, number_images[0])
    assert status == 200
    assert answer["number"] == "".join(str(d.digit) for d in expected) and len(answer["number"]) == 4
    for got, want in zip(answer["digits"], expected):
        assert got["digit"] == want.digit and got["box"] == list(want.box)
        np.testing.assert_allclose(got["activations"], want.activations, atol=1e-6)
        np.testing.assert_allclose(got["pixels"], want.pixels, atol=1e-3)
        assert got["confidence"] == pytest.approx(want.confidence, abs=1e-6)


@pytest.mark.parametrize("method, path, body, headers, status, message", [
    ("POST", "/read", b"hello, not an image", {}, 415, "the upload: not an image fastnet reads"),
    ("POST", "/read", png_declaring(30000, 30000), {}, 413, "the upload: refused: it declares more than"),
    ("POST", "/read", png_declaring(8000, 7000), {}, 413, "declares 8000x7000 pixels"),
    ("POST", "/read", png_declaring(300, 200), {}, 415, "the upload: cannot read the image"),
    ("POST", "/read", encoded(np.full((50, 80), 250, np.uint8)), {}, 422, "no ink found: the image is blank"),
    ("POST", "/read", b"", {}, 415, "not an image fastnet reads"),
    ("POST", "/read", None, {"Content-Length": str(10**9)}, 413,
     "the upload has 1,000,000,000 bytes; images of at most 200,000 bytes are read"),
    ("POST", "/read", None, {"Content-Length": "lots"}, 400, "Content-Length must be a number of bytes"),
    ("POST", "/read", None, {"Content-Length": "1" * 5000}, 400, "Content-Length must be a number"),
    ("POST", "/elsewhere", b"x", {}, 404, "post images to /read"),
    ("GET", "/secret.txt", None, {}, 404, "no page /secret.txt"),
    ("PUT", "/read", b"x", {}, 405, "POST /read for images"),
])
def test_hostile_requests_get_a_4xx_and_the_server_goes_on(page_server, number_images,
                                                           method, path, body, headers, status, message):
    answer = request(page_server, method, path, body, headers)
    assert answer[0] == status and message in answer[1]["error"]
    assert request(page_server, "POST", "/read", number_images[1])[0] == 200


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1:8000", True), ("localhost:8000", True), ("LOCALHOST", True),
    ("[::1]:8000", True), ("192.168.1.20:8000", True), ("draw.localhost:8000", True),
    ("attacker.example:8000", False), ("127.0.0.1.attacker.example", False),
    ("[::1", False), ("", False),
])
def test_only_requests_for_an_ip_address_or_localhost_are_answered(page_server, number_images, host, allowed):
    # DNS rebinding: a page at attacker.example, its name then pointed at 127.0.0.1,
    # sends Host: attacker.example and must not get the page or the answers.
    for method, path, body in (("GET", "/", None), ("POST", "/read", number_images[0])):
        status, answer = request(page_server, method, path, body, {"Host": host})
        if allowed:
            assert status == 200
        else:
            assert status == 403 and f"Host {host!r} is not an IP address or localhost" in answer["error"]


def test_a_post_from_another_sites_page_is_refused(page_server, number_images):
    host = "%s:%d" % page_server.server_address[:2]
    for origin, status in ((f"http://{host}", 200), ("https://attacker.example", 403), ("null", 403)):
        answer = request(page_server, "POST", "/read", number_images[0], {"Host": host, "Origin": origin})
        assert answer[0] == status
    assert f"a page from 'null' may not post here; draw on {page_server.url}" in answer[1]["error"]


def test_a_request_without_length_or_cut_short_is_refused(page_server, number_images):
    cut_short = b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n" + number_images[0][:100]
    for raw, status in [(b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b" 411 "), (cut_short, b" 400 ")]:
        with socket.create_connection(page_server.server_address[:2], timeout=30) as client:
            client.sendall(raw)
            client.shutdown(socket.SHUT_WR)
            assert status in client.recv(100).split(b"\r\n")[0] + b" "
    assert request(page_server, "POST", "/read", number_images[2])[0] == 200


def test_a_length_python_reads_as_a_number_but_is_not_bytes_is_refused(page_server, number_images):
    for length in ("\xb2".encode("latin-1"), "\u0663".encode("utf-8")):   # superscript 2, Arabic 3
        raw = b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\n"
        with socket.create_connection(page_server.server_address[:2], timeout=30) as client:
            client.sendall(raw)
            client.shutdown(socket.SHUT_WR)
            assert client.recv(100).split(b"\r\n")[0].endswith(b" 400 Bad Request")
    assert request(page_server, "POST", "/read", number_images[2])[0] == 200


def test_at_most_reads_images_are_read_at_once(digit_net, number_images, monkeypatch):
    reading_now, most, lock = [0], [0], threading.Lock()

    def slow_answer(net, body):
        with lock:
            reading_now[0] += 1
            most[0] = max(most[0], reading_now[0])
        time.sleep(0.2)
        with lock:
            reading_now[0] -= 1
        return {"number": ""}

    monkeypatch.setattr(server, "answer", slow_answer)
    httpd = server.DigitServer(digit_net[0], port=0, reads=2)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda n: request(httpd, "POST", "/read", number_images[0])[0], range(6)))
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
    assert statuses == [200] * 6 and most[0] == 2


def test_requests_at_once_get_the_answers_they_would_get_alone(page_server, number_images):
    alone = [request(page_server, "POST", "/read", image)[1] for image in number_images]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda n: request(page_server, "POST", "/read", number_images[n % 3])[1],
                                 range(24)))
    assert together == [alone[n % 3] for n in range(24)]


def test_fastnet_serve_serves_until_ctrl_c(digit_net, number_images):
    _, model = digit_net
    command = [sys.executable, "-m", "fastnet", "serve", str(model), "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            line = child.stdout.readline()
            match = re.fullmatch(r"fastnet: reading digits at http://127\.0\.0\.1:(\d+)/  \(Ctrl-C stops\)\n",
                                 line)
            assert match, line
            connection = http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=30)
            connection.request("POST", "/read", body=number_images[0])
            response = connection.getresponse()
            assert response.status == 200 and len(json.loads(response.read())["number"]) == 4
            connection.close()
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
        finally:
            child.kill()
    assert child.returncode == 0 and "Traceback" not in err


def test_fastnet_serve_on_a_busy_port_says_so(digit_net, capsys):
    _, model = digit_net
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", str(model), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fastnet serve: error: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1
