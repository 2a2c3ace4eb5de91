"""One exception family for everything a user can get wrong.

Every message says what was wrong and what to do; the CLI prints it on one line and exits 2.
"""


class OmniSyncError(Exception):
    """Base of every error the user can act on."""


class InputError(OmniSyncError):
    """An input file is missing, unreadable, empty or of the wrong kind."""


class NoMouthError(InputError):
    """No mouth was found in any frame of a video. `reason` says what looked and what it saw,
    without the dub's advice on its flags, so that a command without them (`bench`) can say
    it in its own words."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason


class OutputError(OmniSyncError):
    """The output path cannot be written, or writing it would destroy something."""


class ConfigError(OmniSyncError):
    """A flag or configuration value is out of range or inconsistent."""


def internal_error(error: Exception) -> str:
    """How a bug (an exception that is not an `OmniSyncError`) is named to the user, on one
    line: its kind and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"internal error ({type(error).__name__}{': ' + lines[0] if lines else ''})"


class WeightsError(OmniSyncError):
    """A weights directory is missing, truncated, or does not match its config."""
