"""Fake IAM data, generated: forms in the real layout, XML in the real schema, archives, and a local copy of the
download site. No real IAM file is ever used (the licence forbids redistributing them)."""
from __future__ import annotations

import io
import secrets
import socket
import tarfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import cv2
import numpy as np

FULL_WIDTH, FULL_HEIGHT = 2479, 3542
ARCHIVES = ["formsA-D.tgz", "formsE-H.tgz", "formsI-Z.tgz", "xml.tgz"]
WORDS = ["A", "MOVE", "to", "stop", "Mr.", "Gaitskell", '"no"', "&", "Labour", "peers", "from", "nominating"]
LINE_ATTRIBUTES = ("asx", "asy", "ass", "dsx", "dsy", "dss", "lbx", "lby", "lbs", "ubx", "uby", "ubs",
                   "character-width", "fd0", "fd1", "fd2", "filter-width", "slant", "stroke-width")
LOGIN_PAGE = b"<!DOCTYPE html><html><body><form method=post action=/login><input name=email>" \
             b"<input name=password type=password></form></body></html>"


@dataclass
class FakeForm:
    id: str
    writer: str
    png: bytes
    xml: bytes
    boxes: list[tuple[int, int, int, int]]  # expected line boxes x0, y0, x1, y1 (exclusive), form pixels
    texts: list[str]                        # expected line texts, entities decoded
    rule_y: int                             # top row of the third ruled line (the footer rule)
    width: int
    height: int


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def make_form(form_id: str = "a01-000u", writer: str = "000", width: int = 620, lines: int = 5, seed: int = 0, *,
              rule: bool = True, line_without_cmp: bool = False, noise: float = 0.0) -> FakeForm:
    """A form scaled to `width` (2479 = full size) with `lines` handwritten lines, its XML and expected labels."""
    k = width / FULL_WIDTH
    height = round(FULL_HEIGHT * k)
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 250, np.uint8)
    ink = max(1, round(5 * k))

    def s(v: float) -> int:
        return round(v * k)

    img[:, :s(45)] = 40  # the scanner's dark left edge
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 2.2 * k
    cv2.putText(img, "Sentence Database", (s(900), s(240)), font, scale, 0, ink)
    cv2.putText(img, form_id.upper(), (s(1900), s(240)), font, scale, 0, ink)
    rule_ys = [s(335), s(660), s(2800)] if rule else [s(335), s(660)]
    for y in rule_ys:
        img[y:y + max(1, s(4)), s(200):s(2280)] = 0
    for i in range(3):  # machine-printed prompt: never labelled
        cv2.putText(img, "Sentence printed for the writer to copy", (s(330), s(440 + 70 * i)), font, scale, 30, ink)
    cv2.putText(img, "Name:", (s(330), s(2880)), font, scale, 0, ink)
    signature = np.array([[s(900 + 60 * i), s(2900 + (i % 2) * 80)] for i in range(10)], np.int32)
    cv2.polylines(img, [signature], False, 20, ink)  # the unlabelled signature in the footer

    pitch = min(220, 1900 // max(1, lines))
    xml_lines, boxes, texts = [], [], []
    for n in range(lines):
        top, x = 780 + n * pitch, 300 + int(rng.integers(0, 60))
        line_id, words, cmps_all = f"{form_id}-{n:02d}", [], []
        for w in range(int(rng.integers(3, 6))):
            text = WORDS[(n * 5 + w + 6) % len(WORDS)]  # line 0 starts with "no" &
            word_w = int(rng.integers(120, 300))
            cmps = []
            for half in range(2):  # two connected components per word
                cx0, cy0 = x + half * (word_w // 2 + 10), top + int(rng.integers(0, 20))
                cw, ch = word_w // 2 - 10, int(rng.integers(60, 110))
                cmps.append((cx0, cy0, cw, ch))
                pts = np.array([[s(cx0) + ink + (s(cw) - 2 * ink) * j // 5, s(cy0) + ink + (j % 2) * (s(ch) - 2 * ink)]
                                for j in range(6)], np.int32)
                cv2.polylines(img, [pts], False, 10, ink)
            cmps_all += [(s(cx), s(cy), s(cx + cw), s(cy + ch)) for cx, cy, cw, ch in cmps]
            cmp_xml = "".join(f'<cmp x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"/>'
                              for x0, y0, x1, y1 in cmps_all[-2:])
            start = ' sentence-start="yes"' if w == 0 and n == 0 else ""
            words.append((text, f'<word id="{line_id}-{w:02d}" text="{_attr(text)}" tag="NN"{start}>{cmp_xml}</word>'))
            x += word_w + 50
        if n == 0:  # a word without any cmp (nothing drawn): skipped, the line is kept
            words.append((".", f'<word id="{line_id}-{len(words):02d}" text="." tag="."/>'))
        text = " ".join(t for t, _ in words)
        extra = " ".join(f'{a}="{int(rng.integers(0, 3000))}"' for a in LINE_ATTRIBUTES)
        xml_lines.append(f'<line id="{line_id}" text="{_attr(text)}" segmentation="ok" threshold="154" {extra}>'
                         + "".join(w for _, w in words) + "</line>")
        boxes.append((min(b[0] for b in cmps_all), min(b[1] for b in cmps_all),
                      max(b[2] for b in cmps_all), max(b[3] for b in cmps_all)))
        texts.append(text)
    if line_without_cmp:
        line_id = f"{form_id}-{lines:02d}"
        xml_lines.append(f'<line id="{line_id}" text="lost" segmentation="err" threshold="154">'
                         f'<word id="{line_id}-00" text="lost" tag="NN"/></line>')
    if noise:
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    xml = (f'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
           f'<form created="2000-06-08 10:00:00" height="{height}" id="{form_id}" last-modified="2000-06-09 10:00:00" '
           f'skew="0.0" status="ok" version="1.0" width="{width}" writer-id="{writer}">\n'
           f'<machine-printed-part>\n<machine-print-line text="A MOVE to stop Mr. Gaitskell &amp; co."/>\n'
           f'</machine-printed-part>\n<handwritten-part>\n' + "\n".join(xml_lines) + "\n</handwritten-part>\n</form>\n")
    png = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    return FakeForm(form_id, writer, png, xml.encode("latin-1"), boxes, texts, s(2800), width, height)


def tgz_bytes(members: dict[str, bytes], compresslevel: int = 1) -> bytes:
    """A .tgz holding `members` (path → content), with a folder entry for each folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=compresslevel) as tar:
        folders = sorted({str(Path(p).parent) for p in members if "/" in p and not p.startswith("/") and ".." not in p})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def archive_members(forms: list[FakeForm]) -> dict[str, dict[str, bytes]]:
    """Archive name → members, forms split by the first letter of their id, at different folder depths."""
    groups = {"formsA-D.tgz": ("abcd", ""), "formsE-H.tgz": ("efgh", "formsE-H/"),
              "formsI-Z.tgz": ("", "data/forms/I-Z/")}  # letters ("" = the rest), folder
    members: dict[str, dict[str, bytes]] = {name: {"README.txt": b"fake IAM forms"} for name in ARCHIVES}
    for form in forms:
        name = next(n for n, (letters, _) in groups.items() if form.id[0] in letters or not letters)
        members[name][groups[name][1] + f"{form.id}.png"] = form.png
        members["xml.tgz"][f"xml/{form.id}.xml"] = form.xml
    return members


def write_archives(folder: Path, forms: list[FakeForm]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, members in archive_members(forms).items():
        (folder / name).write_bytes(tgz_bytes(members))
    return [folder / name for name in ARCHIVES]


class FakeIAMSite:
    """The download site on 127.0.0.1: login form, session cookie, archives with Range support, and switches."""

    def __init__(self, files: dict[str, bytes], email: str = "writer@example.org", password: str = "right-password"):
        self.files, self.email, self.password = files, email, password
        self.sessions: set[str] = set()
        self.cut_once: set[str] = set()     # names whose next download stops halfway through the body
        self.fail_once: set[str] = set()    # names whose next request answers 500
        self.expired = False                # serve the login page (HTML, 200) instead of archives
        self.ignore_range = False           # answer 200 with the whole file even to a Range request
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
