"""The one error type users see: a problem with their input or environment.

The CLI prints it as a single line and exits with code 2; anything else is a bug and keeps
its traceback.
"""


class SemlatError(Exception):
    """Bad input or environment, explained in one line: what is wrong and what to do."""
