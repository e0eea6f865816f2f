"""Pretrained weights for a profile's `model: <name>.pt`: fetched once, pinned by sha256, then used offline.

The profile names the file and the sha256 it must have (`model`, `sha256`). The file is looked up in
train.pretrained_dir; when absent it is downloaded once from train.weights_url/<name> (Ultralytics' release assets)
through `<name>.part` and kept only if its sha256 matches. A file placed there by hand is used, with no network
access, when its sha256 matches. The folder is not a DVC dependency, the pin in params.yaml is: a commit pins the
weights, and adding files to the folder re-runs nothing.

A download must end within DEADLINE_S and stay under MAX_BYTES (the largest Ultralytics detection weights are about
a quarter of it): a server that trickles bytes or announces gigabytes is stopped, and nothing is kept.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from pathlib import Path

import requests
from tqdm import tqdm

from hwdetect.cli import UserError, log
from hwdetect.files.http import TransferStopped, limited_get, new_session, size
from hwdetect.paths import ROOT, shown

CHUNK = 1 << 20
TIMEOUT = (15, 60)  # seconds to connect, seconds between two received bytes
DEADLINE_S = 600  # seconds for a whole download, retries included
MAX_BYTES = 512 * 2**20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def weights_path(model: str, pretrained_dir: str) -> Path:
    """Where a profile's `model: *.pt` lives: a bare name is looked up in train.pretrained_dir."""
    path = Path(model) if ("/" in model or "\\" in model) else Path(pretrained_dir) / model
    return path if path.is_absolute() else ROOT / path


def ensure_weights(model: str, expected: str, pretrained_dir: str, base_url: str, profile: str,
                   session: requests.Session | None = None, deadline_s: float | None = None,
                   max_bytes: int | None = None) -> Path:
    """The path of the profile's weights, downloaded first if absent; raise UserError unless the sha256 matches."""
    path, key = weights_path(model, pretrained_dir), f"profiles.{profile}.sha256"
    if path.is_file():
        actual = sha256(path)
        if actual != expected:
            raise UserError(f"{shown(path)}: sha256 {actual} does not match {key} ({expected}); delete the file to "
                            f"download it again, or set {key}: {actual} in params.yaml if you trust this file")
        return path
    download(f"{base_url.rstrip('/')}/{path.name}", path, expected, key, session or new_session("weights"),
             deadline_s or DEADLINE_S, max_bytes or MAX_BYTES)
    return path


def download(url: str, path: Path, expected: str, key: str, session: requests.Session, deadline_s: float,
             max_bytes: int) -> None:
    """Stream `url` into `path` through a .part file, kept only when its sha256 is `expected`."""
    part = path.with_name(f"{path.name}.part")
    by_hand = f"download {path.name} on a machine that is online and put it in {shown(path.parent)}/"
    path.parent.mkdir(parents=True, exist_ok=True)
    log.info(f"weights: downloading {url} → {shown(path)}")
    digest = hashlib.sha256()
    try:
        with limited_get(session, url, TIMEOUT, deadline_s, max_bytes, CHUNK) as (response, chunks):
            if response.status_code != 200:
                raise UserError(f"{url}: HTTP {response.status_code}; check train.weights_url in params.yaml, "
                                f"or {by_hand}")
            first = next(chunks, b"")  # refuses an announced size over max_bytes before anything is written
            if "text/html" in response.headers.get("Content-Type", "") or first.lstrip()[:1] == b"<":
                raise UserError(f"{url}: the server sent an HTML page, not weights; check train.weights_url in "
                                f"params.yaml, or {by_hand}")
            declared = response.headers.get("Content-Length", "").strip()
            total, free = (int(declared) if declared.isdigit() else None), shutil.disk_usage(path.parent).free
            if total and total > free:
                raise UserError(f"{url}: {size(total)} to download but {size(free)} free in {shown(path.parent)}; "
                                f"free some disk space (nothing was written)")
            with part.open("wb") as out, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                              desc=path.name, leave=False) as bar:
                for chunk in itertools.chain([first], chunks):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except TransferStopped as err:
        part.unlink(missing_ok=True)
        raise UserError(f"{url}: {err}; nothing was kept: {by_hand} (its sha256 must be {expected})") from None
    except requests.RequestException as err:
        part.unlink(missing_ok=True)
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:160]
        raise UserError(f"cannot download {url} ({reason}); {by_hand} (its sha256 must be {expected})") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != expected:
        part.unlink()
        raise UserError(f"{url}: the download has sha256 {digest.hexdigest()}, not {expected} ({key}); nothing was "
                        f"kept: check train.weights_url, or set {key} if these are the weights you want")
    os.replace(part, path)
    log.info(f"weights: {shown(path)} verified (sha256 {expected[:12]}…)")
