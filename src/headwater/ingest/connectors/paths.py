"""Remote paths: never trusted, always relative to the working directory, filtered by the source's patterns."""

from __future__ import annotations

from fnmatch import fnmatchcase

from headwater.errors import RemotePathRefused
from headwater.ingest.connectors.base import ConnectionConfig


def checked_relative(path: str) -> str:
    """``path`` if it is a plain relative path that stays inside the working directory.

    Refused: empty paths, absolute paths, ``.``/``..``/empty segments, backslashes (a Windows
    separator that could smuggle a ``..``) and control characters such as NUL.
    """
    if not path:
        raise RemotePathRefused("empty remote path refused")
    if any(ord(char) < 32 or char == "\x7f" for char in path):
        raise RemotePathRefused(f"remote path {path!r} refused: it contains control characters")
    if path.startswith("/") or "\\" in path:
        raise RemotePathRefused(f"remote path {path!r} refused: it must be relative to the working directory")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise RemotePathRefused(f"remote path {path!r} refused: it must not contain '.', '..' or '//'")
    return path


def checked_directory(directory: str) -> str:
    """A target directory for moves: relative to the working directory, or absolute; never with ``..``."""
    stripped = directory.strip()
    if not stripped.strip("/"):
        raise RemotePathRefused("the archive directory must not be the root")
    checked_relative(stripped.strip("/"))
    return stripped.rstrip("/")


def is_selected(path: str, config: ConnectionConfig) -> bool:
    """Whether a listed file passes filePattern (on its name) and excludePattern (on name or path).

    Patterns are globs matched case-insensitively: partners write ``*.csv`` and send ``SALES.CSV``.
    """
    name = path.rsplit("/", 1)[-1].lower()
    if not fnmatchcase(name, (config.file_pattern or "*").lower()):
        return False
    if config.exclude_pattern:
        exclude = config.exclude_pattern.lower()
        if fnmatchcase(name, exclude) or fnmatchcase(path.lower(), exclude):
            return False
    return config.recursive or "/" not in path


def join(root: str, relative: str) -> str:
    """``relative`` under the remote ``root`` (``""`` meaning the login directory or bucket root)."""
    if not root:
        return relative
    return f"{root.rstrip('/')}/{relative}" if root != "/" else f"/{relative}"
