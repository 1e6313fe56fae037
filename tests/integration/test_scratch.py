"""Temporary copies live in headwater's own directory; what a crashed process left there is removed at start-up."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from headwater.errors import ConfigurationError
from headwater.ingest.scratch import scratch_directory, scratch_root
from headwater.runtime import open_runtime
from headwater.settings import Settings
from tests.conftest import make_settings

CRASHING_PROCESS = """
import os, sys
from pathlib import Path
from headwater.ingest.scratch import scratch_directory

with scratch_directory(Path(sys.argv[1])) as directory:
    (directory / "download-1").mkdir()
    (directory / "download-1" / "half.csv").write_bytes(b"saleDate,transactionId\\n2024-")
    print(directory, flush=True)
    os._exit(9)  # killed mid-download: no clean-up runs
"""


@pytest.fixture
def scratch_settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}", temp_directory=tmp_path / "tmp"
    )


def crash_in_the_middle_of_a_download(base: Path) -> Path:
    source = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_PROCESS, str(base)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": source},
        check=False,
    )
    assert done.returncode == 9, done.stderr
    return Path(done.stdout.strip())


async def test_a_crashed_process_leaves_files_that_the_next_start_removes(scratch_settings: Settings) -> None:
    base = scratch_settings.temp_directory
    assert base is not None
    left = crash_in_the_middle_of_a_download(base)
    assert (left / "download-1" / "half.csv").exists()

    async with open_runtime(scratch_settings) as runtime:
        assert not left.exists()
        assert runtime.scratch.parent == scratch_root(base)


async def test_start_up_leaves_alone_what_is_in_use_or_not_headwaters(scratch_settings: Settings) -> None:
    base = scratch_settings.temp_directory
    assert base is not None
    root = scratch_root(base)
    with scratch_directory(base) as in_use:  # another process, alive
        (in_use / "upload-1").mkdir()
        (root / "notes.txt").write_text("not headwater's")
        (root / "keep").mkdir()
        being_made = root / "work-new"  # no lock yet: its process may be making it right now
        being_made.mkdir()
        abandoned_before_locking = root / "work-old"
        abandoned_before_locking.mkdir()
        an_hour_ago = time.time() - 3600
        os.utime(abandoned_before_locking, (an_hour_ago, an_hour_ago))

        async with open_runtime(scratch_settings) as runtime:
            assert (in_use / "upload-1").is_dir()
            assert (root / "notes.txt").exists() and (root / "keep").is_dir()
            assert being_made.is_dir()
            assert not abandoned_before_locking.exists()
            own = runtime.scratch
            assert own.is_dir() and own != in_use

        assert not own.exists()  # a clean stop removes its own directory


async def test_the_directory_is_the_users_alone(scratch_settings: Settings) -> None:
    base = scratch_settings.temp_directory
    assert base is not None
    async with open_runtime(scratch_settings):
        pass
    root = scratch_root(base)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700

    root.chmod(0o777)
    with pytest.raises(ConfigurationError):
        async with open_runtime(scratch_settings):
            pass


def test_a_lock_held_elsewhere_keeps_a_directory(tmp_path: Path) -> None:
    root = scratch_root(tmp_path)
    root.mkdir(mode=0o700)
    held = root / "work-held"
    held.mkdir()
    (held / ".lock").touch()
    with open(held / ".lock", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with scratch_directory(tmp_path):
            assert held.is_dir()
    with scratch_directory(tmp_path):
        assert not held.exists()
