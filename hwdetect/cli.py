"""How every command of the project ends: user mistakes as one line and exit code 2, never a traceback."""
from __future__ import annotations

import logging
import sys
from typing import Callable

log = logging.getLogger("pipeline")


class UserError(Exception):
    """A mistake the user can fix; printed as one line, never as a traceback."""


def cli(main: Callable[[], None]) -> None:
    """Run a command's main(): user errors become one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
