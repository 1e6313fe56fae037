from __future__ import annotations

import sys

import pytest

from headwater.ingest.memory import cap_malloc_arenas, fix_mmap_threshold


def test_an_arena_cap_set_in_the_environment_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")

    assert cap_malloc_arenas() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas exist on Linux only")
def test_the_arena_cap_is_applied_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    assert cap_malloc_arenas() is True


def test_an_mmap_threshold_set_in_the_environment_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")

    assert fix_mmap_threshold() is False


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's mmap threshold exists on Linux only"
)
def test_the_mmap_threshold_is_fixed_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)

    assert fix_mmap_threshold() is True
