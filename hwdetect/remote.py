"""The DVC remote of `make push`, `make pull` and `make status`: checked in seconds before any transfer, and every
failure one line naming the remote, its bucket or the missing credentials, and the fix.

Used by hwdetect.push, hwdetect.pull and hwdetect.status. Left to itself, DVC retries an unreachable endpoint for a
minute and prints a traceback for every file that failed; here an S3 remote is first asked for its bucket once,
with short timeouts and no retries, and DVC's own tracebacks are kept off the screen.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from hwdetect.cli import UserError
from hwdetect.paths import ROOT

SELECTED = ["dvc.yaml"]  # with its upstream stages (with_deps): the selected pipeline (README: Why --with-deps)
PROBE = {"connect_timeout": 5, "read_timeout": 10, "retries": {"max_attempts": 1, "mode": "standard"}}
NO_REMOTE = ("no DVC remote is set; add one: dvc remote add -d storage s3://<bucket>/<path> (README: Sharing data "
             "and models)")
QUIET = ("dvc", "dvc_objects", "dvc_data", "dvc_task", "scmrepo", "s3fs", "botocore", "aiobotocore", "boto3", "asyncio",
         "fsspec")  # loggers of DVC and the S3 libraries


class _OneLine(logging.Filter):
    """DVC and the S3 libraries log each failed file with its traceback; the command reports the failure once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(QUIET):
            return True
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return record.levelno == logging.WARNING


@contextmanager
def quiet_dvc_logs() -> Iterator[None]:
    """DVC's warnings once, on its own handlers; no tracebacks and no error lines from DVC or the S3 libraries."""
    own = [logger for logger in map(logging.getLogger, QUIET) if logger.handlers]  # DVC sets up handlers of its own
    handlers, only = [*logging.getLogger().handlers, *(h for logger in own for h in logger.handlers)], _OneLine()
    for logger in own:
        logger.propagate = False  # else its records would be printed twice
    for handler in handlers:
        handler.addFilter(only)
    try:
        yield
    finally:
        for logger in own:
            logger.propagate = True
        for handler in handlers:
            handler.removeFilter(only)


def settings(repo: Any, remote: str | None) -> tuple[str, dict]:
    """(name, settings) of the remote named, or of the default one; UserError when there is none."""
    from dvc.config import ConfigError

    try:
        name = remote or repo.config["core"].get("remote")
        remotes = repo.config["remote"]
    except ConfigError as err:
        raise UserError(f".dvc/config: {_first_line(err)}; fix it (dvc remote list shows the remotes)") from None
    if not name:
        raise UserError(NO_REMOTE)
    if name not in remotes:
        known = ", ".join(sorted(remotes)) or "none"
        raise UserError(f"remote {name!r} is not configured (remotes: {known}); see dvc remote list")
    return name, dict(remotes[name])


def _root_cause(err: BaseException) -> BaseException:
    seen = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    botocore = [e for e in seen if type(e).__module__.startswith(("botocore", "aiobotocore", "aiohttp"))]
    return botocore[0] if botocore else seen[-1]


def explain(err: BaseException, name: str, conf: dict) -> UserError:
    """The one line for a failure talking to remote `name`."""
    from botocore.exceptions import (ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError,
                                     ProfileNotFound)

    url, cause = conf.get("url", "?"), _root_cause(err)
    bucket, endpoint = urlsplit(url).netloc, conf.get("endpointurl") or "AWS S3"
    where = f"remote {name!r} ({url})"
    if isinstance(cause, ProfileNotFound):
        return UserError(f"{where}: {_first_line(cause)} (AWS_PROFILE, or the remote's profile); name a profile of "
                         f"~/.aws/config, or dvc remote modify --local {name} profile <name>")
    if isinstance(cause, (NoCredentialsError, PartialCredentialsError)):
        return UserError(f"{where}: no S3 credentials found; export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                         f"dvc remote modify --local {name} access_key_id <id> (and secret_access_key)")
    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
    if code in ("NoSuchBucket", "404") or isinstance(err, FileNotFoundError) and "bucket" in str(err).lower():
        return UserError(f"{where}: bucket {bucket!r} does not exist at {endpoint}; create it, or point the remote "
                         f"at yours: dvc remote modify {name} url s3://<bucket>/<path>")
    if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"):
        return UserError(f"{where}: access to bucket {bucket!r} denied ({code}); check the credentials "
                         f"(AWS_ACCESS_KEY_ID, or dvc remote modify --local {name} access_key_id) and their rights")
    if isinstance(cause, EndpointConnectionError) or "connect" in type(cause).__name__.lower():
        return UserError(f"{where}: cannot connect to {endpoint} ({_first_line(cause)}); start the server, or set "
                         f"its address: dvc remote modify --local {name} endpointurl <url>")
    return UserError(f"{where}: {type(cause).__name__}: {_first_line(cause)}; check the remote (dvc remote list) "
                     f"and its credentials")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def check(repo: Any, remote: str | None, writing: bool = False) -> tuple[str, dict]:
    """Ask the remote once, in seconds, whether it can be used: an S3 bucket that answers to these credentials, a
    local folder that exists (unless pushing creates it). Returns (name, settings)."""
    name, conf = settings(repo, remote)
    scheme = urlsplit(conf.get("url", "")).scheme
    if scheme == "s3":
        with quiet_dvc_logs():
            _probe_s3(name, conf)
    elif scheme in ("", "file") and not writing:
        folder = Path(conf["url"].removeprefix("file://"))
        folder = folder if folder.is_absolute() else ROOT / ".dvc" / folder
        if not folder.is_dir():
            raise UserError(f"remote {name!r}: folder {folder} does not exist; mount it, or point the remote at "
                            f"another: dvc remote modify {name} url <folder>")
    return name, conf


def _probe_s3(name: str, conf: dict) -> None:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        session = botocore.session.Session(profile=conf.get("profile"))
        keys = {"aws_access_key_id": conf.get("access_key_id"), "aws_secret_access_key": conf.get("secret_access_key"),
                "aws_session_token": conf.get("session_token")}
        if not keys["aws_access_key_id"] and session.get_credentials() is None:
            if conf.get("allow_anonymous_login"):
                return  # a public bucket: DVC reads it unsigned
            raise NoCredentialsError()
        region = conf.get("region") or session.get_config_variable("region") or "us-east-1"
        client = session.create_client("s3", region_name=region, endpoint_url=conf.get("endpointurl"),
                                       verify=conf.get("ssl_verify", True), config=Config(**PROBE),
                                       **{k: v for k, v in keys.items() if v})
        client.head_bucket(Bucket=urlsplit(conf["url"]).netloc)
    except (BotoCoreError, ClientError) as err:
        raise explain(err, name, conf) from None


def open_repo() -> Any:
    """The project's DVC repository; UserError when this is none."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        return Repo(str(ROOT))
    except DvcException as err:
        raise UserError(f"{ROOT}: {_first_line(err)}; run this in the project (a git clone with its .dvc folder)") \
            from None


@contextmanager
def talking_to(repo: Any, name: str, conf: dict) -> Iterator[None]:
    """Turn whatever a DVC transfer raises into one line about the remote."""
    from dvc.exceptions import CheckoutError, DvcException

    try:
        with quiet_dvc_logs():
            yield
    except UserError:
        raise
    except CheckoutError as err:
        missing = sorted(map(str, err.target_infos))
        raise UserError(f"remote {name!r} ({conf.get('url')}): {len(missing)} outputs are neither in the cache nor in "
                        f"the remote ({', '.join(missing)}); push them from the machine that ran those stages (make "
                        f"push), or run them here (make repro)") from None
    except DvcException as err:
        cause = _root_cause(err)
        if cause is not err and not isinstance(cause, DvcException):
            raise explain(err, name, conf) from None
        raise UserError(f"remote {name!r} ({conf.get('url')}): {' '.join(str(err).split())[:600]}") from None
    except Exception as err:  # botocore, aiohttp, OSError ... from deep in a transfer
        raise explain(err, name, conf) from None
