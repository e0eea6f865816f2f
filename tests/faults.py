"""The fault and bad-input harness: run a real command on a bad input and check the promise it keeps.

The promise (README: What happens on bad input): exit code 2, exactly one `error: ...` line on stderr naming the file
or key, no traceback, and every file that existed before is byte-identical afterwards.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from conftest import run

SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache"}


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file (and the target of every link) under the roots; folders are listed too."""
    found: dict[str, str] = {}
    for root in roots:
        if os.path.isfile(root):
            found[str(root)] = hashlib.sha256(Path(root).read_bytes()).hexdigest()
        for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
            dirnames[:] = [d for d in dirnames if os.fsdecode(d) not in SKIP_DIRS]
            found[os.fsdecode(dirpath)] = "folder"
            for name in filenames:
                path = os.path.join(dirpath, name)
                key = os.fsdecode(path)
                if os.path.islink(path):
                    found[key] = "link:" + os.fsdecode(os.readlink(path))
                else:
                    with open(path, "rb") as f:
                        found[key] = hashlib.sha256(f.read()).hexdigest()
    return found


def assert_unchanged(before: dict[str, str], *roots: Path) -> None:
    after = snapshot(*roots)
    changed = sorted(k for k, v in before.items() if after.get(k) != v)
    assert not changed, f"{len(changed)} pre-existing files or folders changed or lost, e.g. {changed[:5]}"


def assert_one_line_error(result: subprocess.CompletedProcess, *names: str, code: int = 2) -> str:
    """The command failed with `code` and exactly one `error:` line on stderr, naming each of `names`."""
    out = f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == code, f"exit {result.returncode}, expected {code}\n{out}"
    assert "Traceback" not in result.stderr + result.stdout, out
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line\n{out}"
    line = errors[0]
    for name in names:
        assert name in line, f"{name!r} not named in: {line}"
    return line


def refused(cmd: list[str], cwd: Path, *names: str, watch: tuple[Path, ...] = (), env: dict | None = None,
            code: int = 2) -> str:
    """Run `cmd` (a module and its arguments) in `cwd`; it must refuse with one line naming `names`, and every file
    under `cwd` and `watch` must be as it was. Returns the error line."""
    roots = (cwd, *watch)
    before = snapshot(*roots)
    result = run([sys.executable, "-m", *cmd], cwd, check=False, env=env)
    line = assert_one_line_error(result, *names, code=code)
    assert_unchanged(before, *roots)
    return line
