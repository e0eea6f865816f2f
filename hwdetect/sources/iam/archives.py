"""The IAM archives, read safely.

Every member passes tarfile's "data" filter (`tarfile.data_filter`, what `extractall(filter="data")` applies), so
an absolute path, a `..`, a link out of the archive or a device file stops the stage with an error naming the
archive. Nothing is extracted to disk: files are streamed in archive order and found by file name
(`a01-000u.png`, `a01-000u.xml`), whatever folder they sit in.
"""
from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from hwdetect.cli import UserError
from hwdetect.paths import shown

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
_NOWHERE = "/iam-archive"  # imaginary extraction folder the data filter checks member paths against
FIX = "delete it and download it again"


class _HashingReader:
    """A file wrapper that hashes and counts every byte read through it."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha256.update(data)
        self.size += len(data)
        return data


def archive_paths(folder: Path, names: list[str]) -> list[Path]:
    """The archives `names` (params.yaml iam.archives) in `folder`; each must be a plain file name, never a path."""
    for name in names:
        if not name or PurePosixPath(name).name != name or "\\" in name or name in (".", ".."):
            raise UserError(f"params.yaml: iam.archives: {name!r} is not a file name; list the archives by name "
                            f"only (formsA-D.tgz): they are looked for in iam.archives_dir")
    return [folder / name for name in names]


def not_a_folder(archive: Path, fix: str) -> None:
    """UserError naming `archive` when a folder stands where the archive should be."""
    if archive.is_dir():
        raise UserError(f"{shown(archive)}: is a folder, expected a .tgz archive; move the folder away and {fix}")


def _safe(member: tarfile.TarInfo, archive: Path, fix: str = FIX) -> tarfile.TarInfo:
    try:
        if member.name.startswith("/"):
            raise tarfile.AbsolutePathError(member)
        return tarfile.data_filter(member, _NOWHERE)
    except tarfile.FilterError as err:
        raise UserError(f"{shown(archive)}: refused unsafe member {member.name!r} ({type(err).__name__}), "
                        f"not a genuine IAM archive; {fix}") from None


def _corrupt(archive: Path, err: BaseException, fix: str = FIX) -> UserError:
    return UserError(f"{shown(archive)}: not a complete gzip/tar archive ({type(err).__name__}: {err}); {fix}")


def _members(tar: tarfile.TarFile, archive: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    for member in tar:
        member = _safe(member, archive)
        name = PurePosixPath(member.name).name
        if member.isfile() and name.lower().endswith(suffixes) and not name.startswith("."):  # no ._a01-000u.png
            yield name, tar.extractfile(member).read()


def iter_files(archive: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """(file name, content) of each regular file whose name ends with one of `suffixes`, in archive order."""
    not_a_folder(archive, "run `dvc repro -f iam_download`")
    if not archive.is_file():
        raise UserError(f"{shown(archive)}: not found; run `dvc repro -f iam_download` or put the archive there")
    try:
        with gzip.open(archive, "rb") as gz, tarfile.open(fileobj=gz, mode="r|", bufsize=CHUNK) as tar:
            yield from _members(tar, archive, suffixes)
            while gz.read(CHUNK):  # reach the gzip trailer so its CRC and length are checked
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise _corrupt(archive, err) from None


def inspect(archive: Path, shown_as: Path | None = None, fix: str = FIX) -> dict:
    """Size, sha256 and file count of a complete, safe .tgz; else UserError naming `shown_as` and ending in `fix`."""
    name = shown_as or archive
    not_a_folder(archive, "run the stage again")
    with archive.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raise UserError(f"{shown(name)}: not a gzip archive (wrong magic bytes); {fix}")
        raw.seek(0)
        reader = _HashingReader(raw)
        files = 0
        try:
            with gzip.GzipFile(fileobj=reader, mode="rb") as gz, \
                    tarfile.open(fileobj=gz, mode="r|", bufsize=CHUNK) as tar:
                for member in tar:
                    files += _safe(member, name, fix).isfile()
                while gz.read(CHUNK):
                    pass
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise _corrupt(name, err, fix) from None
        while reader.read(CHUNK):
            pass
    return {"size": reader.size, "sha256": reader.sha256.hexdigest(), "files": files}
