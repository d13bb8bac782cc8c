"""Errors that are the user's to fix: they are reported as one clear message, never a traceback."""


class UserError(Exception):
    """A bad input (config value, data location, file) whose message names the problem and the fix."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work."""


class DataError(UserError):
    """Data that is missing, unreadable or corrupt."""


class TrainingDiverged(UserError):
    """The training loss became nan or inf: the settings (learning rate, loss weights) cannot train."""


class StorageError(UserError):
    """A file or folder that cannot be written: a read-only file system, a full disk, missing permissions."""


def print_error(problem: object) -> None:
    """The one line a user error gets, on stderr."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
