"""What every command-line entry point shares: user errors become one line and exit status 2.

    app.run(main, flags_parser=cli.parse_flags)   # with main wrapped by @cli.user_errors_exit
"""

from __future__ import annotations

import functools
import sys

from absl import flags

from tfgan_suite.errors import UserError


def parse_flags(argv):
    """absl's flag parsing for app.run, with a bad flag value (`--steps=abc`, an unknown enum
    choice or flag) reported like any user error: `error: ...` and exit status 2, where absl
    itself prints 'FATAL Flags parsing error' and exits 1."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e} (--help lists the flags)", file=sys.stderr)
        sys.exit(2)


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
