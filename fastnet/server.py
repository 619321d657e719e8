"""A page to draw on: ``fastnet serve MODEL`` reads digits as a person draws them.

    GET  /        the page (fastnet/web/page.html: one file, no outside resources)
    POST /read    the bytes of an image -> JSON {"number": "504", "digits": [{"digit": 5,
                  "confidence": 0.97, "box": [left, top, right, bottom], "activations":
                  [10 floats], "pixels": [784 floats, the 28x28 image the network saw]}, ...]}

Errors answer {"error": message}: 413 for a body over ``max_body`` bytes or an image over
``images.MAX_PIXELS``, 415 for what is not an image (of ``images.FORMATS``), 422 for a blank
one, 411 without a Content-Length, 400 for a Content-Length that is not a number of bytes,
404 for other paths, 405 for PUT, DELETE and PATCH (other methods: the standard library's
501), 403 for a request whose Host is a name other than ``localhost`` (a web page whose
name was made to point at 127.0.0.1, "DNS rebinding", must not read the answers) or a
POST whose Origin is another site (a page elsewhere must not post to it). No request stops the server. At most ``reads`` images are read at once (a 200 KB PNG
can need 1 GB to decode); more wait their turn.

Python's own ``http.server.ThreadingHTTPServer``: the page is for one person on their own
machine (bound to 127.0.0.1), two routes, no dependency to install, and each request gets a
thread so a slow upload does not hold up the drawing.
"""
import ipaddress
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from fastnet import _data, images, reading
from fastnet.errors import FastnetFileError

MAX_BODY = 16 * 2**20  # a phone photo fits; more is refused unread
SOCKET_TIMEOUT = 30    # seconds a client may stall mid-request before it is dropped
READS = 2              # images read at once


class DigitServer(ThreadingHTTPServer):
    """Serves the page and ``POST /read`` for ``net`` on ``(host, port)`` (port 0: a free one;
    ``server_address`` says which), reading at most ``reads`` images at once. Run
    ``serve_forever()``; stop with ``shutdown()`` and ``server_close()``."""
    daemon_threads = True

    def __init__(self, net, host="127.0.0.1", port=0, max_body=MAX_BODY, reads=READS):
        images.libraries()  # say now, not at the first request, if Pillow or SciPy is missing
        super().__init__((host, port), _Handler)
        self.net = net  # read from the request threads at once: Network allows it
        self.max_body = max_body
        self.reading = threading.BoundedSemaphore(_data.check_positive_int("reads", reads))
        self.page = resources.files("fastnet").joinpath("web", "page.html").read_bytes()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def answer(net, body):
    """The JSON-ready answer to ``POST /read`` with ``body``, the bytes of an image."""
    digits = reading.read_number(net, body, name="the upload")
    return {"number": "".join(str(digit.digit) for digit in digits),
            "digits": [{"digit": digit.digit, "confidence": round(digit.confidence, 6),
                        "box": list(digit.box),
                        "activations": [round(float(a), 6) for a in digit.activations],
                        "pixels": [round(float(p), 3) for p in digit.pixels]}
                       for digit in digits]}


class _Handler(BaseHTTPRequestHandler):
    server_version = "fastnet"
    timeout = SOCKET_TIMEOUT

    def do_GET(self):
        if not self._allowed():
            return
        if self.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no page {self.path}; the page is /")

    def do_POST(self):
        if not self._allowed():
            return
        if self.path != "/read":
            self._error(HTTPStatus.NOT_FOUND, f"nothing to post to at {self.path}; post images to /read")
            return
        body = self._body()
        if body is None:
            return
        try:
            with self.server.reading:
                found = answer(self.server.net, body)
            self._send(HTTPStatus.OK, json.dumps(found).encode(), "application/json")
        except images.ImageTooLargeError as error:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(error))
        except FastnetFileError as error:
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, str(error))
        except ValueError as error:
            self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(error))
        except Exception as error:  # a bug must cost one answer, never the server
            self.log_error("reading failed: %r", error)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"reading the image failed: {error}")

    def do_PUT(self):
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use GET / for the page and POST /read for images")

    do_DELETE = do_PATCH = do_PUT

    def _allowed(self):
        """Whether the request comes from this server's own page (or from no browser), else
        False after answering 403: its Host must be an IP address or localhost, and an
        Origin, if sent, this server's own."""
        host = self.headers.get("Host")
        if host is not None and not _is_local_name(host):
            self._error(HTTPStatus.FORBIDDEN, f"Host {host[:80]!r} is not an IP address or "
                        f"localhost: open the page at {self.server.url}")
            return False
        origin = self.headers.get("Origin")
        if self.command == "POST" and origin is not None and origin != f"http://{host}":
            self._error(HTTPStatus.FORBIDDEN, f"a page from {origin[:80]!r} may not post here; "
                        f"draw on {self.server.url}")
            return False
        return True

    def _body(self):
        """The request's body, or None after answering why it is not read."""
        length = self.headers.get("Content-Length")
        if length is None:
            self._error(HTTPStatus.LENGTH_REQUIRED, "send the image's bytes with a Content-Length")
            return None
        if not (length.isascii() and length.isdigit() and len(length) <= 18):
            shown = repr(length[:40]) + ("..." if len(length) > 40 else "")
            self._error(HTTPStatus.BAD_REQUEST, f"Content-Length must be a number of bytes, got {shown}")
            return None
        if int(length) > self.server.max_body:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the upload has {int(length):,} bytes; "
                        f"images of at most {self.server.max_body:,} bytes are read")
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            self._error(HTTPStatus.BAD_REQUEST,
                        f"the upload ended after {len(body):,} of {int(length):,} bytes")
            return None
        return body

    def _error(self, status, message):
        self.close_connection = True  # an unread body must not be taken for the next request
        self._send(status, json.dumps({"error": message}).encode(), "application/json")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        """Log only what went wrong: a page being drawn on posts many times a second."""
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)

    def log_message(self, format, *args):
        sys.stderr.write(f"fastnet serve: {self.address_string()} {format % args}\n")


def _is_local_name(host):
    """Whether a Host header (``name:port``) names an IP address or localhost."""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:   # such as an unclosed "[" or a bad IPv6 address
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
