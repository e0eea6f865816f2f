"""A local copy of the IAM download site, serving generated archives (hwdetect.sources.iam.sample)."""
from __future__ import annotations

import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

LOGIN_PAGE = b"<!DOCTYPE html><html><body><form method=post action=/login><input name=email>" \
             b"<input name=password type=password></form></body></html>"


class FakeIAMSite:
    """The download site on 127.0.0.1: login form, session cookie, archives with Range support, and switches."""

    def __init__(self, files: dict[str, bytes], email: str = "writer@example.org", password: str = "right-password"):
        self.files, self.email, self.password = files, email, password
        self.sessions: set[str] = set()
        self.cut_once: set[str] = set()     # names whose next download stops halfway through the body
        self.fail_once: set[str] = set()    # names whose next request answers 500
        self.expired = False                # serve the login page (HTML, 200) instead of archives
        self.ignore_range = False           # answer 200 with the whole file even to a Range request
        self.trickle: set[str] = set()      # names sent a byte every 0.2 s
        self.huge: set[str] = set()         # names announced as 10 GiB
        self.log: list[tuple[str, str, str | None]] = []  # method, path, Range header
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeIAMSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def downloads(self, name: str) -> list[str | None]:
        return [r for m, p, r in self.log if m == "GET" and p.endswith(f"/{name}")]


def _handler(site: FakeIAMSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            site.log.append(("POST", self.path, None))
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            if self.path == "/login" and form.get("email") == [site.email] and form.get("password") == [site.password]:
                token = secrets.token_hex(8)
                site.sessions.add(token)
                self._send(303, headers={"Location": "/", "Set-Cookie": f"session={token}; Path=/; HttpOnly"})
            else:
                self._send(200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"})

        def do_GET(self) -> None:
            ask = self.headers.get("Range")
            site.log.append(("GET", self.path, ask))
            name = self.path.rsplit("/", 1)[-1]
            cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
            if not self.path.startswith("/DBs/iamDB/data/"):
                return self._send(200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            if cookies.get("session") not in site.sessions:
                return self._send(302, headers={"Location": "/login"})
            if site.expired:
                return self._send(200, LOGIN_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            if name in site.fail_once:
                site.fail_once.discard(name)
                return self._send(500, b"internal error", {"Content-Type": "text/plain"})
            if name not in site.files:
                return self._send(404, b"not found", {"Content-Type": "text/plain"})
            data, start = site.files[name], 0
            if ask and not site.ignore_range:
                start = int(ask.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    return self._send(416, headers={"Content-Range": f"bytes */{len(data)}"})
            headers = {"Content-Type": "application/x-gzip", "Accept-Ranges": "bytes"}
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            if name in site.huge:
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 2**30))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True
                return
            if name in site.trickle:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        break
                    time.sleep(0.2)
                self.close_connection = True
                return
            if name in site.cut_once:  # promise the whole body, send half, hang up
                site.cut_once.discard(name)
                self.send_response(206 if start else 200)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self._send(206 if start else 200, body, headers)

    return Handler
