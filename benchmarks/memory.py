"""The peak memory of a benchmarked process, read from Linux ``/proc``.

``VmHWM`` rather than ``ru_maxrss``: a child's ``ru_maxrss`` starts from its parent's resident size at
the fork and keeps it through ``exec``, so a small child of a large benchmark process reports the
benchmark's own size (every ``headwater run`` seemed to peak at the same 250 MB)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def peak_rss(pid: int | str = "self") -> float:
    """The process's peak resident size so far, in MB (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Start the process's peak resident size again from its current size (Linux ``clear_refs``), so that
    a later ``peak_rss`` is the peak of what it did since, not of its start."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass(frozen=True)
class Watched:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def run_watching_memory(command: list[str], env: dict[str, str], every: float = 0.05) -> Watched:
    """Run ``command`` to its end, reading its peak resident size every ``every`` seconds (the peak only
    grows, so the last reading before it exits is the peak, but for its last moments)."""
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while True:
        peak = max(peak, peak_rss(child.pid))
        try:
            stdout, stderr = child.communicate(timeout=every)
        except subprocess.TimeoutExpired:
            continue
        return Watched(child.returncode, stdout, stderr, peak)
