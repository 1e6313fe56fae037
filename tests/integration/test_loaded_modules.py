"""A process loads the job queue's library (and, on SQLite, psycopg) only when it uses the queue, and
SSH's library only for SFTP: a module once imported stays in the process for good."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.processes import libraries_loaded_by


def test_a_serving_sqlite_process_answers_readiness_without_the_queue_or_ssh_libraries(
    tmp_path: Path,
) -> None:
    served = f"""
        import asyncio
        import httpx
        from headwater.api.app import create_app
        from headwater.settings import Settings

        async def main():
            settings = Settings(
                database_url={f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}"!r},
                secret_key={Fernet.generate_key().decode()!r},
                secret_key_file={str(tmp_path / "headwater.key")!r},
                temp_directory={str(tmp_path)!r},
                run_imports=False,
                log_level="WARNING",
            )
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://headwater") as http:
                    answer = await http.get("/readyz")
                    assert answer.status_code == 200, answer.text

        asyncio.run(main())
        """

    assert libraries_loaded_by(served, ("procrastinate", "psycopg", "asyncssh")) == []


@pytest.mark.postgres
def test_a_process_opening_a_postgres_store_with_its_queue_leaves_the_queue_library_unloaded(
    postgres_url: str,
) -> None:
    opened = f"""
        from headwater.runtime import prepare_store
        prepare_store({postgres_url!r})
        """

    assert libraries_loaded_by(opened, ("procrastinate",)) == []
