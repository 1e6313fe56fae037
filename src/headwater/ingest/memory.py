"""Process-wide memory settings for long imports."""

from __future__ import annotations

import ctypes
import os
import sys

_M_ARENA_MAX = -8  # glibc's mallopt parameter numbers
_M_MMAP_THRESHOLD = -3


def cap_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas, as ``MALLOC_ARENA_MAX`` would, unless the environment already does.

    glibc gives threads that allocate at the same time arenas of their own (up to eight per core), and
    each keeps what was freed in it. Imports allocate batch after batch from the event loop, the
    parser's thread and the connectors' threads, so the freed batches pile up in several arenas:
    measured on a million-row file, peak RSS 272 MB uncapped, 243 MB with two arenas, at the same speed.
    Call it before threads start. Returns whether the cap was applied.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no arenas to cap)
        return False


def fix_mmap_threshold(threshold: int = 256 * 1024) -> bool:
    """Give glibc's malloc a fixed mmap threshold, as ``MALLOC_MMAP_THRESHOLD_`` would, unless the
    environment already sets one.

    glibc raises the threshold each time a large block is freed (up to 32 MB), after which large
    blocks (Arrow arrays, COPY payloads, download chunks) come from the arenas, where what is freed
    stays. A fixed threshold maps each large block and returns it when freed. The stages of an
    import overlap, so several batches, a payload and a download chunk are alive at once: measured
    on a million-row file, the reader and encoder's peak RSS fell by 32 MB, at the same speed. Call it
    before threads start. Returns whether the threshold was set.
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):  # not glibc
        return False
