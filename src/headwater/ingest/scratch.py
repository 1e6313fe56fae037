"""headwater's own temporary directory: where downloads and uploads are copied while they are imported.

Everything lives under ``<HEADWATER_TEMP_DIRECTORY or the system's>/headwater-<uid>``, mode 0700, refused
when another user owns it or others may write to it. Each process works in a ``work-*`` directory of its
own, which it holds a lock on (``flock``) for as long as it lives. At start-up every ``work-*`` directory
whose lock nobody holds any more (its process died, say in the middle of a download) is removed; nothing
else is ever touched.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from headwater.errors import ConfigurationError
from headwater.logging import get_logger

WORK_PREFIX = "work-"
LOCK_NAME = ".lock"
# A work directory without its lock yet may be one another process is making this very moment.
UNLOCKED_GRACE_SECONDS = 60.0

log = get_logger(__name__)


def scratch_root(base: Path | None) -> Path:
    return (base or Path(tempfile.gettempdir())) / f"headwater-{os.getuid()}"


def _make_own_directory(root: Path) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.lstat()  # lstat: a link planted in a shared /tmp is refused, not followed
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ConfigurationError(f"{root} must be a directory of this user's alone (mode 0700)")


def _abandoned(directory: Path) -> bool:
    try:
        descriptor = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return time.time() - directory.lstat().st_mtime > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its process is alive
    finally:
        os.close(descriptor)
    return True


def remove_leftovers(root: Path) -> list[Path]:
    """The work directories of processes that are gone, removed; returns them."""
    removed = []
    for entry in root.iterdir():
        if not entry.name.startswith(WORK_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        if _abandoned(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def scratch_directory(base: Path | None) -> Iterator[Path]:
    """This process's work directory, locked while the block runs, removed at its end."""
    root = scratch_root(base)
    _make_own_directory(root)
    removed = remove_leftovers(root)
    if removed:
        log.info("removed temporary files left by a stopped process", directories=len(removed))
    directory = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=root))
    # Locked before it is given its name, so that no other process ever sees it unlocked.
    pending = directory / f"{LOCK_NAME}-new"
    descriptor = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        pending.rename(directory / LOCK_NAME)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        os.close(descriptor)
