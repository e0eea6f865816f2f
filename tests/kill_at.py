"""Run a command and SIGKILL it at its k-th file-system step (rename, replace, unlink, rmdir, rmtree): a power cut
or `kill -9` at that instant. `python tests/kill_at.py K MODULE ARGS...`; K = 0 runs to the end and prints the
number of steps to stderr as `steps: N`."""
from __future__ import annotations

import atexit
import os
import runpy
import shutil
import signal
import sys

kill_at, module, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
steps = 0


def counted(fn):
    def step(*a, **kw):
        global steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*a, **kw)
    return step


for name in ("rename", "replace", "unlink", "rmdir"):
    setattr(os, name, counted(getattr(os, name)))
shutil.rmtree = counted(shutil.rmtree)
atexit.register(lambda: print(f"steps: {steps}", file=sys.stderr))
sys.argv = [module, *args]
sys.path.insert(0, os.getcwd())
runpy.run_module(module, run_name="__main__", alter_sys=True)
