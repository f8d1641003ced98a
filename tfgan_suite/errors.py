"""User-facing errors: raised for bad input before any heavy work starts."""


class UserError(Exception):
    """A problem the user can fix (bad flag, missing file, malformed data).

    The CLI prints the message alone (no traceback) and exits with status 2.
    Messages name the file or flag at fault and say how to fix it.
    """
