"""Where output goes, checked before any work: a mistyped folder costs one line and exit 2 at
start, not a run's results lost at its end."""

from __future__ import annotations

import os
from pathlib import Path

from slotwise.shared.errors import InputError


def output_file(path: Path, flag: str) -> Path:
    """A file to write later: its folder must exist and take new files; the file itself, if it
    exists, must be a writable file."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a folder, not a file")
    if not folder.is_dir():
        raise InputError(f"{flag} {path}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"{flag} {path}: cannot write there (permission denied)")
    return path


def output_dir(path: Path, flag: str) -> Path:
    """A folder to write into later: created now if missing (with its parents)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: cannot write there (permission denied)")
    return path
