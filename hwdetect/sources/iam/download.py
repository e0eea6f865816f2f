"""Download the IAM Handwriting Database archives after a login, resuming cut downloads.

Archives already in the folder (complete, valid .tgz) are used as they are, with no network access. The others are
downloaded after a login, resumed from `<name>.part` when interrupted, and renamed to `<name>` only once they are
complete, safe gzip/tar archives. Credentials are only ever sent in the login form: never written to logs, error
messages or the manifest.
"""
from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3
from tqdm import tqdm

from hwdetect.cli import UserError, log
from hwdetect.files.http import Deadline, new_session, size as shown_size
from hwdetect.files.walk import read_text
from hwdetect.paths import IAM_CREDENTIALS, shown
from hwdetect.sources.iam.archives import CHUNK, GZIP_MAGIC, archive_paths, inspect

REGISTER_URL = "https://fki.tic.heia-fr.ch/register"
TIMEOUT = (15, 60)  # seconds to connect, seconds between two received bytes
DEADLINE_S = 3 * 3600  # total time for one archive, retries included (1.2 GB at 150 kB/s); a stop keeps the .part
MAX_BYTES = 4 * 2**30  # the largest IAM archive is about 1.1 GiB: a server announcing more is refused
_CUT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.HTTPError)  # a connection lost before or during the body


class _Again(Exception):
    """The download stopped early (cut connection, short body): try again from the current .part size."""


def credentials(file: Path = IAM_CREDENTIALS) -> tuple[str | None, str | None]:
    """(username, password) from IAM_USERNAME/IAM_PASSWORD, else from `file`; (None, None) when neither is set."""
    user, password = os.environ.get("IAM_USERNAME"), os.environ.get("IAM_PASSWORD")
    if user or password:
        if not (user and password):
            unset = "IAM_PASSWORD" if user else "IAM_USERNAME"
            raise UserError(f"{unset} is not set; set both IAM_USERNAME and IAM_PASSWORD")
        return user, password
    if not file.is_file():
        return None, None
    found: dict[str, str] = {}
    for number, line in enumerate(read_text(file).splitlines(), start=1):
        key, sep, value = line.partition("=")
        if line.strip() and (not sep or key.strip() not in ("username", "password")):
            # The line itself is never shown: it may hold the password.
            raise UserError(f"{shown(file)}:{number}: expected `username=...` or `password=...`")
        if sep:
            found[key.strip()] = value.strip()
    if not (found.get("username") and found.get("password")):
        raise UserError(f"{shown(file)}: needs both a `username=...` and a `password=...` line")
    return found["username"], found["password"]


def _public(url: str) -> str:
    """A URL without any user:password@ part, fit for messages."""
    parts = urlsplit(url)
    return parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()


def _reason(err: BaseException, secret: str | None) -> str:
    text = f"{type(err).__name__}: {err}".splitlines()[0][:200]
    return text.replace(secret, "***") if secret else text


def login(session: requests.Session, base_url: str, username: str, password: str) -> None:
    url = f"{base_url.rstrip('/')}/login"
    try:
        answer = session.post(url, data={"email": username, "password": password}, allow_redirects=False,
                              timeout=TIMEOUT)
    except requests.RequestException as err:
        raise UserError(f"cannot reach {_public(url)} ({_reason(err, password)}); check iam.base_url and the "
                        f"network, or put the archives in iam.archives_dir by hand") from None
    if answer.status_code >= 500:
        raise UserError(f"{_public(url)}: server error {answer.status_code}; try again later")
    if not any(cookie.name == "session" for cookie in session.cookies):
        raise UserError(f"login failed at {_public(url)} (no session cookie): check IAM_USERNAME/IAM_PASSWORD "
                        f"or .iam-credentials; register at {REGISTER_URL}")


def _expired(name: str, answer: str) -> UserError:
    return UserError(f"{name}: login failed or session expired (the server answered {answer}); check "
                     f"IAM_USERNAME/IAM_PASSWORD and run the stage again")


def _check(response: requests.Response, name: str, url: str) -> None:
    status, kind = response.status_code, response.headers.get("Content-Type", "")
    if response.is_redirect or status in (401, 403):
        raise _expired(name, f"{status} to {urlsplit(response.headers.get('Location', '')).path or '?'}")
    if status == 404:
        raise UserError(f"{name}: not found at {_public(url)} (404); check iam.archives and iam.base_url "
                        f"in params.yaml")
    if status >= 500:
        raise UserError(f"{name}: server error {status} after several tries; try again later")
    if status not in (200, 206):
        raise UserError(f"{name}: unexpected HTTP status {status} from {_public(url)}")
    if "text/html" in kind:
        raise _expired(name, "an HTML page instead of the archive")


def _stream(session: requests.Session, url: str, name: str, part: Path, max_bytes: int) -> None:
    """Download into `part`, resuming from its size with a Range request; raise _Again if it stops early."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=TIMEOUT) as response:
        if response.status_code == 416:  # the .part is not a prefix of the file on the server: start over
            part.unlink()
            raise _Again("416 Range Not Satisfiable")
        _check(response, name, url)
        length = int(response.headers.get("Content-Length", -1))
        if response.status_code == 206:
            start = response.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
            if start != str(offset):
                part.unlink()
                raise _Again(f"Content-Range {response.headers.get('Content-Range')!r} does not start at {offset}")
        else:
            offset = 0  # a 200 answer is the whole file, even when a range was asked for
        total = offset + length if length >= 0 else None
        if (total or 0) > max_bytes:
            raise UserError(f"{name}: the server announces {shown_size(total)}, more than any IAM archive "
                            f"({shown_size(max_bytes)}); nothing was kept: check iam.base_url, or download it by "
                            f"hand into the archives folder")
        chunks = response.raw.stream(CHUNK, decode_content=False)
        first = next(chunks, b"")
        if offset == 0 and not first.startswith(GZIP_MAGIC):  # checked before anything is written
            if first.lstrip()[:1] == b"<":
                raise _expired(name, "an HTML page instead of the archive")
            raise UserError(f"{name}: the server sent something that is not a gzip archive; "
                            f"download it by hand into the archives folder")
        with part.open("ab" if offset else "wb") as out, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                                              unit_divisor=1024, desc=name, leave=False) as bar:
            for chunk in itertools.chain([first], chunks):
                if out.tell() + len(chunk) > max_bytes:
                    out.close()
                    part.unlink()
                    raise UserError(f"{name}: the server sent more than {shown_size(max_bytes)}, more than any IAM "
                                    f"archive; check iam.base_url, or download it by hand into the archives folder")
                out.write(chunk)
                bar.update(len(chunk))
            size = out.tell()
    if total is not None and size != total:
        raise _Again(f"got {size} of {total} bytes")


def fetch(session: requests.Session, base_url: str, name: str, dest_dir: Path, attempts: int = 5,
          backoff: float = 1.0, deadline_s: float = DEADLINE_S, max_bytes: int = MAX_BYTES) -> dict:
    """Download one archive to dest_dir/name through dest_dir/name.part, with retries that resume, within a total
    deadline and a size limit; inspect it."""
    url = f"{base_url.rstrip('/')}/DBs/iamDB/data/{name}"
    part, target = dest_dir / f"{name}.part", dest_dir / name
    with Deadline(deadline_s) as deadline:
        for attempt in range(1, attempts + 1):
            try:
                _stream(session, url, name, part, max_bytes)
                break
            except (_Again, *_CUT) as err:
                if deadline.expired:
                    size = part.stat().st_size if part.exists() else 0
                    raise UserError(f"{name}: download stopped after its deadline of {deadline_s:g} s with "
                                    f"{shown_size(size)} received (the server is too slow); run the stage again "
                                    f"to resume from {shown(part)}") from None
                _retry(err, attempt, attempts, backoff, name, part)
    try:
        facts = inspect(part, shown_as=target, fix="the download was deleted: run the stage again, or download "
                                                   "the archive by hand into the archives folder")
    except UserError:
        part.unlink()
        raise
    part.rename(target)
    return facts


def _retry(err: BaseException, attempt: int, attempts: int, backoff: float, name: str, part: Path) -> None:
    """Wait before the next attempt, or give up in one line after the last one."""
    if attempt == attempts:
        raise UserError(f"{name}: download failed {attempts} times ({_reason(err, None)}); run the stage "
                        f"again to resume from {shown(part)}") from None
    wait = backoff * 2 ** (attempt - 1)
    size = part.stat().st_size if part.exists() else 0
    log.info(f"{name}: download stopped at {size} bytes ({_reason(err, None)}); retrying in {wait:g} s")
    time.sleep(wait)


def download(base_url: str, archives: list[str], dest_dir: Path, username: str | None, password: str | None,
             session: requests.Session | None = None, attempts: int = 5, backoff: float = 1.0,
             deadline_s: float = DEADLINE_S, max_bytes: int = MAX_BYTES) -> dict:
    """Make sure every archive is in dest_dir (downloading the missing ones) and return the manifest."""
    dest_dir = Path(dest_dir)
    archive_paths(dest_dir, archives)
    present = {name: inspect(dest_dir / name) for name in archives if (dest_dir / name).exists()}
    missing = [name for name in archives if name not in present]
    if missing:
        if not (username and password):
            raise UserError(f"{', '.join(missing)} not in {shown(dest_dir)} and no credentials: set IAM_USERNAME and "
                            f"IAM_PASSWORD (register at {REGISTER_URL}) or put the archives in {shown(dest_dir)}")
        if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
            raise UserError(f"params.yaml: iam.base_url: expected an http(s):// address such as "
                            f"https://fki.tic.heia-fr.ch, got {_public(base_url)!r}")
        dest_dir.mkdir(parents=True, exist_ok=True)
        session = session or new_session("iam_download", attempts, backoff)
        login(session, base_url, username, password)
        for name in missing:
            present[name] = fetch(session, base_url, name, dest_dir, attempts, backoff, deadline_s, max_bytes)
            log.info(f"iam_download: {name} downloaded ({present[name]['size'] / 2**20:.1f} MiB)")
    return {"archives": {name: present[name] for name in archives}}
