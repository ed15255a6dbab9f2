"""A PostgreSQL 16 + pgvector server for the whole test session, and a fresh schema per test.

``ASTROCYTE_POSTGRES_DSN`` points the tests at an existing server (CI service containers); otherwise
the ``pgserver`` package starts a private one on a unix socket (no TCP port, so the machine's own
PostgreSQL is never touched). When neither works the tests skip with one line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from astrocyte_postgres import DSN_ENV
from psycopg import sql


def _start_pgserver(directory: Path) -> tuple[str, object]:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(directory, cleanup_mode="stop")
    return str(server.get_uri()), server


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    configured = os.environ.get(DSN_ENV)
    server: object | None = None
    if configured:
        dsn = configured
    else:
        try:
            # Not under pytest's tmp dir: its 0700 parent would lock out pgserver's own system user,
            # and a short path keeps the unix socket path within its length limit.
            data_dir = Path(tempfile.mkdtemp(prefix="astrocyte-pg-"))
            dsn, server = _start_pgserver(data_dir)
        except Exception as exc:  # any start failure means "no server here": skip, one line
            pytest.skip(f"postgres not available (set {DSN_ENV} or install pgserver): {exc}")
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    except psycopg.Error as exc:
        pytest.skip(f"postgres with pgvector not reachable at {dsn}: {exc}")
    yield dsn
    if server is not None:
        server.cleanup()  # type: ignore[attr-defined]
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name unique to the test, dropped (with everything in it) afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
