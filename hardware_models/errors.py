"""The one error type for bad user input, on the lowest floor so every layer can raise it.

The CLI turns it into one line on stderr and exit code 2, never a traceback.
"""


class InputError(ValueError):
    """Bad input a user can fix: an unknown id, a bad flag or a bad scenario field."""
