"""Downloading one file over HTTP(S) with a per-read timeout, an overall deadline and a
size limit, through a temporary .part file that becomes the target only once verified."""

import http.client
import os
import secrets
import socket
import threading
import urllib.request
from pathlib import Path

TIMEOUT = 10    # seconds the server may stay silent
DEADLINE = 120  # seconds one file may take in all, from the request on (headers included)
_CHUNK = 1 << 16


def fetch(url, target, verify, max_bytes):
    """Download `url` to `target`, checked by `verify(part_path)`, which raises to refuse it.

    Raises TimeoutError when the server stays silent for TIMEOUT seconds or the file is not
    complete DEADLINE seconds after it was asked for, and ValueError when it announces or
    sends more than `max_bytes` (reading stops there: a hostile server cannot fill the
    disk). The .part file beside `target` is removed whatever happens, a
    KeyboardInterrupt included.
    """
    target = Path(target)
    part = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")   # named before it
    deadline = _Deadline(DEADLINE)                      # exists: an interrupt cannot leak it
    try:
        try:
            with open(part, "xb") as out, urlopen(url, TIMEOUT, deadline) as response:
                announced = response.headers.get("Content-Length", "")
                if announced.isascii() and announced.isdigit() and int(announced[:19]) > max_bytes:
                    raise ValueError(f"the server announces {announced[:19]} bytes; "
                                     f"the file has at most {max_bytes}")
                written = 0
                while chunk := response.read1(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise ValueError(f"the server sent more than {max_bytes} bytes, "
                                         f"the most the file can have")
                    out.write(chunk)
        except Exception:
            if not deadline.passed:
                raise
        if deadline.passed:
            raise TimeoutError(f"not complete after {DEADLINE} s, the deadline for one file: "
                               "the server is too slow")
        verify(part)
        os.replace(part, target)
    finally:
        deadline.cancel()
        Path(part).unlink(missing_ok=True)


def urlopen(url, timeout, deadline):
    """``urllib.request.urlopen(url, timeout=timeout)``, its sockets shut down when
    ``deadline`` (a ``_Deadline``) passes."""
    opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))
    return opener.open(url, timeout=timeout)


class _Deadline:
    """The sockets of one download, shut down once ``seconds`` have passed: a blocked read
    then returns, so a server that trickles its headers or its body cannot hold on longer."""

    def __init__(self, seconds):
        self.passed, self._sockets, self._lock = False, [], threading.Lock()
        self._timer = threading.Timer(seconds, self._pass)
        self._timer.daemon = True
        self._timer.start()

    def _pass(self):
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut(sock)

    def watch(self, sock):
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                _shut(sock)

    def cancel(self):
        self._timer.cancel()

    def connection(self, base):
        """``base`` (an ``http.client`` connection class) with its sockets watched."""
        deadline = self

        class Watched(base):
            def connect(self):
                super().connect()
                deadline.watch(self.sock)
        return Watched


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:   # already closed
        pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(self.deadline.connection(http.client.HTTPSConnection), req,
                            context=self._context)
