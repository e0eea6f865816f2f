"""How every command of the project ends: user mistakes as one line and exit code 2, never a traceback.

The operating system's refusals (a full disk, a read-only file system, no permission, a missing folder) and text
that is not UTF-8 are the user's to fix too: they become `error: <path>: <what>; <fix>` with exit code 2.
"""
from __future__ import annotations

import argparse
import errno
import io
import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Callable, NoReturn

log = logging.getLogger("pipeline")

UNCHANGED = "(the output was not changed)"
FIXES = {
    errno.ENOSPC: f"free some disk space {UNCHANGED}",
    errno.EDQUOT: f"free some space within your disk quota {UNCHANGED}",
    errno.EFBIG: f"the file outgrew the size limit for files (ulimit -f); raise the limit or write to another disk "
                 f"{UNCHANGED}",
    errno.EROFS: "the file system is read-only; choose a location on a writable disk",
    errno.EACCES: "you lack permission there; change its permissions (chmod, chown) or choose another location",
    errno.EPERM: "the operation is not permitted there; change its permissions or choose another location",
    errno.ENOENT: "check the path (a folder on the way may be missing)",
    errno.EISDIR: "it is a folder; give a file there, or choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; move that file or choose another path",
    errno.EEXIST: "it already exists; move it away or choose another path",
    errno.ENOTEMPTY: "the folder is not empty; move it away or choose another path",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) or close other programs",
    errno.ENFILE: "the system has too many open files; close other programs and try again",
    errno.ENAMETOOLONG: "the name is too long for the file system; use a shorter path",
    errno.ELOOP: "symbolic links loop there; fix the links or choose another path",
    errno.EIO: "the disk reported an input/output error; check the disk (dmesg) and try again",
    errno.ENOMEM: "the system ran out of memory; close other programs or use less data",
    errno.EBUSY: "it is in use; close the program using it and try again",
    errno.ETXTBSY: "it is in use; close the program using it and try again",
}


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose refusals (an unknown option, a value of the wrong type) are one `error:` line like
    every other user mistake, not argparse's usage text and its own line."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message}; see --help")


def one_line(text: str) -> str:
    """`text` printable on one line: control characters escaped, and bytes of a name that is not UTF-8 as \\xNN."""
    return "".join(c if c.isprintable() else f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) < 0xDD00
                   else repr(c)[1:-1] for c in text)


def _path_in_traceback(tb: TracebackType | None) -> str | None:
    """The file being read or written when an error without a file name was raised: an open file object, else a
    path, among the variables of the innermost frame holding one."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        values = list(frame.f_locals.values())
        for value in values:
            name = getattr(value, "name", None) if isinstance(value, io.IOBase) else None
            if isinstance(name, (str, bytes)):
                return os.fsdecode(name)
        for value in values:
            if isinstance(value, Path):
                return str(value)
    return None


def _shown(path: str) -> str:
    from hwdetect.paths import shown  # imported here: paths must not depend on this module's import order

    return shown(Path(path))


def os_error_line(err: OSError) -> str:
    """`<path>: <what went wrong>; <how to fix it>` for an error the operating system reported."""
    where = err.filename if err.filename is not None else _path_in_traceback(err.__traceback__)
    where = _shown(os.fsdecode(where)) if where is not None else "a file of this command"
    if err.filename2 is not None and err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        where += f" -> {_shown(os.fsdecode(err.filename2))}"
    what = err.strerror or str(err) or type(err).__name__
    fix = FIXES.get(err.errno, "check the path and its permissions, then run the command again")
    return f"{where}: {what}; {fix}"


def unicode_error_line(err: UnicodeError) -> str:
    where = _path_in_traceback(err.__traceback__)
    where = _shown(where) if where is not None else "a text of this command"
    if isinstance(err, UnicodeDecodeError):
        return (f"{where}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); save it as "
                f"UTF-8")
    return f"{where}: cannot be written as {err.encoding} ({err.reason}); use UTF-8 text and names"


def cli(main: Callable[[], None]) -> None:
    """Run a command's main(): user errors become one line on stderr and exit code 2."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 must not end a command mid-message
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        main()
    except UserError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        print(f"error: {one_line(os_error_line(err))}", file=sys.stderr)
        sys.exit(2)
    except UnicodeError as err:
        print(f"error: {one_line(unicode_error_line(err))}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
