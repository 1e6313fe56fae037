"""One configuration for every process: the env file, no accidental installation, the store's own key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from headwater import __version__
from headwater.cli import app
from tests.support.cli import headwater_process, headwater_process_json, process_environment

HEAVY_MODULES = (
    "sqlalchemy",
    "alembic",
    "pyarrow",
    "fastapi",
    "uvicorn",
    "procrastinate",
    "rich",
    "pydantic",
)


def install(home: Path, *, secret_key: str | None = None) -> None:
    """``headwater migrate`` and one tenant, in ``home``."""
    env = {} if secret_key is None else {"HEADWATER_SECRET_KEY": secret_key}
    headwater_process_json(home, "migrate", env=env)
    headwater_process_json(home, "tenant", "create", "acme", env=env)


def test_a_command_without_an_installation_exits_2_naming_where_it_looked_and_creates_nothing(
    tmp_path: Path,
) -> None:
    done = headwater_process(tmp_path, "tenant", "list")
    assert done.returncode == 2
    assert str(tmp_path / "headwater.db") in done.stderr
    assert str(tmp_path / "headwater.key") in done.stderr
    assert "HEADWATER_DATABASE_URL" in done.stderr and "HEADWATER_ENV_FILE" in done.stderr
    shown = headwater_process_json(tmp_path, "partner", "list", "--tenant", "acme", code=2)
    assert shown["error"]["code"] == "InstallationNotFound"
    assert list(tmp_path.iterdir()) == []


def test_the_env_file_points_every_command_at_the_same_installation(tmp_path: Path) -> None:
    home, elsewhere, other = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "other"
    for directory in (home, elsewhere, other):
        directory.mkdir()
    install(home)
    settings = (
        f"HEADWATER_DATABASE_URL=sqlite+aiosqlite:///{home / 'headwater.db'}\n"
        f"HEADWATER_SECRET_KEY_FILE={home / 'headwater.key'}\n"
    )
    (elsewhere / "headwater.env").write_text(settings)
    listed = headwater_process_json(elsewhere, "tenant", "list")
    assert [t["name"] for t in listed["tenants"]] == ["acme"]

    named = tmp_path / "production.env"
    named.write_text(settings)
    listed = headwater_process_json(other, "tenant", "list", env={"HEADWATER_ENV_FILE": str(named)})
    assert [t["name"] for t in listed["tenants"]] == ["acme"]
    assert sorted(p.name for p in other.iterdir()) == []


def test_an_env_file_named_but_missing_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.env"
    shown = headwater_process_json(
        tmp_path, "tenant", "list", env={"HEADWATER_ENV_FILE": str(missing)}, code=2
    )
    assert shown["error"]["code"] == "ConfigurationError" and str(missing) in shown["error"]["message"]


def test_a_process_whose_keys_miss_the_stores_key_refuses_to_start(tmp_path: Path) -> None:
    original, stranger = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    install(tmp_path, secret_key=original)
    shown = headwater_process_json(tmp_path, "tenant", "list", env={"HEADWATER_SECRET_KEY": stranger}, code=2)
    assert shown["error"]["code"] == "SecretKeyMismatch"
    assert stranger not in shown["error"]["message"] and original not in shown["error"]["message"]
    served = headwater_process(tmp_path, "serve", "--port", "1", env={"HEADWATER_SECRET_KEY": stranger})
    assert served.returncode == 2 and "created with" in served.stderr


def test_a_rotated_key_list_keeps_working_and_the_old_key_can_then_be_dropped(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    install(tmp_path, secret_key=old)
    headwater_process_json(tmp_path, "tenant", "list", env={"HEADWATER_SECRET_KEY": f"{new},{old}"})
    listed = headwater_process_json(tmp_path, "tenant", "list", env={"HEADWATER_SECRET_KEY": new})
    assert [t["name"] for t in listed["tenants"]] == ["acme"]


def test_version_prints_the_version(tmp_path: Path) -> None:
    done = headwater_process(tmp_path, "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"headwater {__version__}")


def test_help_names_values_and_never_shows_python_types() -> None:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    runner = CliRunner()
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"]).stdout
        assert "Usage:" in shown, path
        for noise in ("<str>", "<bool>", "<int", "<float", "<path>"):
            assert noise not in shown, (path, shown)
    assert len(paths) > 20


def test_help_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from headwater.cli import main\n"
        "sys.argv = ['headwater', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=process_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
