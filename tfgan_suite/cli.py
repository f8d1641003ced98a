"""What every command-line entry point shares: user errors become one line and exit status 2."""

from __future__ import annotations

import functools
import sys

from tfgan_suite.errors import UserError


def user_errors_exit(main):
    """Wrap an absl `main(argv)`: stray positional arguments and UserError print
    `error: ...` to stderr (no traceback) and exit with status 2."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            if len(argv) > 1:
                raise UserError(f"unexpected arguments {argv[1:]} (flags need --name=value)")
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
    return wrapped
