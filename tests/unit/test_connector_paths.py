"""Remote paths are never trusted, and the source's patterns decide which files are considered."""

from __future__ import annotations

import pytest

from headwater.errors import RemotePathRefused
from headwater.ingest.connectors.base import ConnectionConfig
from headwater.ingest.connectors.paths import checked_directory, checked_relative, is_selected, join


@pytest.mark.parametrize(
    "path",
    [
        "",
        "..",
        "../x.csv",
        "a/../../x.csv",
        "/etc/passwd",
        "a//b.csv",
        "./x.csv",
        "a/./b",
        "x\x00.csv",
        "line\nbreak.csv",
        "..\\x.csv",
        "C:\\x.csv",
    ],
)
def test_paths_that_could_leave_the_working_directory_are_refused(path: str) -> None:
    with pytest.raises(RemotePathRefused):
        checked_relative(path)


@pytest.mark.parametrize(
    "path", ["x.csv", "a/b/c.csv", "..hidden.csv", "sales..2024.csv", "ünïcode ñame.csv"]
)
def test_plain_relative_paths_are_accepted(path: str) -> None:
    assert checked_relative(path) == path


@pytest.mark.parametrize("directory", ["../archive", "/", "", "a/../../b"])
def test_archive_directories_may_not_escape_or_be_the_root(directory: str) -> None:
    with pytest.raises(RemotePathRefused):
        checked_directory(directory)


def test_archive_directories_may_be_relative_or_absolute() -> None:
    assert checked_directory("archive/") == "archive"
    assert checked_directory("/data/archive") == "/data/archive"


def _config(**options: object) -> ConnectionConfig:
    return ConnectionConfig(kind="FTP", host="h", working_directory="/", **options)  # type: ignore[arg-type]


def test_file_pattern_matches_the_name_case_insensitively() -> None:
    config = _config(file_pattern="*.csv")
    assert is_selected("SALES.CSV", config)
    assert not is_selected("sales.xlsx", config)


def test_exclude_pattern_matches_the_name_or_the_relative_path() -> None:
    config = _config(exclude_pattern="archive/*", recursive=True)
    assert not is_selected("archive/old.csv", config)
    assert is_selected("new/old.csv", config)
    assert not is_selected("tmp.csv", _config(exclude_pattern="tmp*"))


def test_nested_files_are_selected_only_when_recursive() -> None:
    assert not is_selected("a/b.csv", _config())
    assert is_selected("a/b.csv", _config(recursive=True))


def test_join_keeps_the_root_form() -> None:
    assert join("/", "a.csv") == "/a.csv"
    assert join("/in/", "a.csv") == "/in/a.csv"
    assert join("", "a.csv") == "a.csv"
    assert join("bucket/prefix", "a/b.csv") == "bucket/prefix/a/b.csv"
