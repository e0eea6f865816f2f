"""A hostile or broken weights server (a local one, run in a thread): every download ends within its deadline and its
size limit, in one line that says how to put the file by hand, and nothing is kept."""
from __future__ import annotations

import hashlib
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import run, write_params
from faults import assert_one_line_error, assert_unchanged, snapshot
from hwdetect.cli import UserError
from hwdetect.files.http import new_session
from hwdetect.training.weights import ensure_weights

WEIGHTS = b"PK\x03\x04" + bytes(range(256)) * 64
WEIGHTS_SHA = hashlib.sha256(WEIGHTS).hexdigest()
DEADLINE = 2.0


class Hostile:
    """A server on 127.0.0.1 that answers every GET the way `mode` says; counts the body bytes it sent."""

    def __init__(self, mode: str):
        self.sent, self.stop = 0, threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def trickle(self, data: bytes) -> None:
                for byte in data:
                    if server.stop.wait(0.25):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    server.sent += 1

            def do_GET(self):
                if mode == "slow-headers":
                    return self.trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 16640\r\n\r\n" + WEIGHTS)
                if mode == "retry-after":
                    self.send_response(503)
                    self.send_header("Retry-After", "3600")
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if mode == "slow-body":
                    self.send_header("Content-Length", str(len(WEIGHTS)))
                    self.end_headers()
                    return self.trickle(WEIGHTS)
                if mode == "huge-length":
                    self.send_header("Content-Length", str(10 * 2**30))
                self.send_header("Connection", "close")
                self.end_headers()
                while not server.stop.is_set() and server.sent < 64 * 2**20:  # endless, as far as the client knows
                    try:
                        self.wfile.write(WEIGHTS)
                    except OSError:
                        return
                    server.sent += len(WEIGHTS)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/releases"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def fetch(tmp_path, url, retries=0, max_bytes=None):
    return ensure_weights("yolov8n.pt", WEIGHTS_SHA, str(tmp_path / "pretrained"), url, "cpu",
                          new_session("test", retries=retries, backoff=0.1), deadline_s=DEADLINE, max_bytes=max_bytes)


# (server mode, retries, size limit, words of the error, longest time it may take)
CASES = [
    ("slow-body", 0, None, f"had not sent it all after {DEADLINE:g} s", DEADLINE + 2),
    ("slow-headers", 0, None, f"had not sent it all after {DEADLINE:g} s", DEADLINE + 2),
    ("retry-after", 3, None, f"had not sent it all after {DEADLINE:g} s", DEADLINE + 2),
    ("huge-length", 0, None, "the server announces 10.0 GiB, more than the 512.0 MiB expected at most", 2),
    ("endless", 0, 1 << 20, "the server sent more than the 1.0 MiB expected at most", 5),
]


@pytest.mark.parametrize("mode, retries, limit, words, seconds", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_server_is_stopped_in_time_and_nothing_is_kept(tmp_path, mode, retries, limit, words, seconds):
    with Hostile(mode) as server:
        start = time.monotonic()
        with pytest.raises(UserError) as err:
            fetch(tmp_path, server.url, retries, limit)
        took = time.monotonic() - start
    message = str(err.value)
    assert words in message and "\n" not in message, message
    assert "put it in" in message and WEIGHTS_SHA in message, message
    assert took < seconds, f"took {took:.1f} s"
    assert list((tmp_path / "pretrained").iterdir()) == []  # no weights, no .part
    if mode == "huge-length":
        assert server.sent < 64 * 2**20  # refused from the headers, not read to the end


def test_preflight_stops_a_trickling_server_with_one_line_and_changes_nothing(project):
    """The real stage: preflight of a profile whose pinned weights come from a server that sends a byte at a time."""
    with Hostile("slow-body") as server:
        write_params(project, {"train": {"weights_url": server.url},
                               "profiles": {"cpu": {"model": "yolov8n.pt", "sha256": WEIGHTS_SHA}}})
        before = snapshot(project)
        start = time.monotonic()
        result = run([sys.executable, "-c", "import runpy, hwdetect.training.weights as w\n"
                      f"w.DEADLINE_S = {DEADLINE}\nrunpy.run_module('stages.preflight', run_name='__main__')"],
                     project, check=False)
        took = time.monotonic() - start
    line = assert_one_line_error(result, f"{server.url}/yolov8n.pt: the server had not sent it all after",
                                 "models/pretrained/")
    assert "nothing was kept" in line and took < 60
    assert_unchanged(before, project)
    assert not (project / "data" / "preflight.json").exists()
    assert not list((project / "models" / "pretrained").glob("yolov8n.pt*"))
