"""What the three Postgres stores share: the psycopg 3 async pool, migrate-on-start, health, close.

The pool opens lazily on first use (constructors are synchronous and may run outside an event loop);
every pooled connection has ``search_path = <schema>, public`` so tables resolve in the configured
schema and the ``vector`` type in ``public``. With ``migrate_on_start`` (the default) the first use
applies pending migrations; with it off, ``astrocyte migrate`` must have been run first.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, ClassVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from astrocyte.errors import ConfigError, StoreError
from astrocyte.types import HealthStatus
from astrocyte_postgres._schema import Component, apply_migrations, check_schema_name

__all__ = ["DSN_ENV", "PostgresStoreBase"]

#: Where the DSN comes from when ``dsn`` is not configured.
DSN_ENV = "ASTROCYTE_POSTGRES_DSN"


class PostgresStoreBase:
    """Pool, migrations and lifecycle; subclasses set ``_component`` and implement the SPI."""

    SPI_VERSION: ClassVar[int] = 1
    _component: ClassVar[Component]
    #: Server settings (``name=value``) of every pooled connection besides ``search_path``.
    _session_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        dsn: str | None = None,
        schema: str = "public",
        min_pool_size: int = 1,
        max_pool_size: int = 10,
        migrate_on_start: bool = True,
        connect_timeout_s: float = 10.0,
    ) -> None:
        resolved = dsn or os.environ.get(DSN_ENV)
        if not resolved:
            raise ConfigError(
                f"{type(self).__name__} needs a connection string",
                key_path="dsn",
                hint=f"set `dsn: postgresql://user:pass@host/db` in the store config or ${DSN_ENV}",
            )
        if min_pool_size < 1 or max_pool_size < min_pool_size:
            raise ConfigError(
                f"pool sizes must satisfy 1 <= min_pool_size <= max_pool_size, got "
                f"{min_pool_size} and {max_pool_size}",
                key_path="max_pool_size",
            )
        self._dsn = resolved
        self._schema = check_schema_name(schema)
        self._migrate_on_start = migrate_on_start
        self._pool_settings: dict[str, Any] = {
            "min_size": min_pool_size,
            "max_size": max_pool_size,
            "timeout": connect_timeout_s,
            "kwargs": {"options": self._options(), "autocommit": True},
        }
        self._pool = self._new_pool()
        self._ready = False
        self._closed = False
        self._lock = asyncio.Lock()

    def _options(self) -> str:
        settings = (f"search_path={self._schema},public", *self._session_settings)
        return " ".join(f"-c {setting}" for setting in settings)

    @property
    def schema(self) -> str:
        return self._schema

    async def _open(self) -> AsyncConnectionPool:
        if self._ready:
            return self._pool
        if self._closed:
            raise StoreError(f"{type(self).__name__} is closed")
        async with self._lock:
            if not self._ready:
                try:
                    await self._pool.open(wait=True)
                    if self._migrate_on_start:
                        async with self._pool.connection() as conn:
                            await apply_migrations(conn, self._schema, self._component)
                except psycopg.Error as exc:
                    await self._pool.close()
                    self._pool = self._new_pool()  # a closed pool cannot reopen
                    raise StoreError(f"postgres {self._component} store cannot start: {exc}") from exc
                self._ready = True
        return self._pool

    def _new_pool(self) -> AsyncConnectionPool:
        return AsyncConnectionPool(self._dsn, open=False, **self._pool_settings)

    async def _delete_counted(self, table: str, counter: str, ids: list[str], bank_id: str) -> int:
        """Delete ``ids`` of ``bank_id`` from ``table`` and lower the bank's ``counter`` in
        ``<table>``'s bank table (``astrocyte_vectors`` → ``astrocyte_vector_banks``) in one
        transaction; returns how many rows existed. Table names are this package's constants."""
        if not ids:
            return 0
        banks = f"{table.removesuffix('s')}_banks"
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"WITH gone AS (DELETE FROM {table} WHERE bank_id = %s AND id = ANY(%s)"
                " RETURNING 1) SELECT count(*) FROM gone",
                (bank_id, list(dict.fromkeys(ids))),
            )
            row = await cursor.fetchone()
            removed = int(row[0]) if row else 0
            if removed:
                await conn.execute(
                    f"UPDATE {banks} SET {counter} = {counter} - %s WHERE bank_id = %s",
                    (removed, bank_id),
                )
        return removed

    def _connection(self) -> _PooledConnection:
        return _PooledConnection(self)

    async def migrate(self) -> list[str]:
        """Apply pending migrations of this store's tables (see :class:`astrocyte.provider.Migratable`)."""
        pool = await self._open()
        async with pool.connection() as conn:
            return await apply_migrations(conn, self._schema, self._component)

    async def health(self) -> HealthStatus:
        started = time.perf_counter()
        try:
            async with self._connection() as conn:
                await conn.execute("SELECT 1")
        except StoreError as exc:
            return HealthStatus(healthy=False, message=str(exc))
        latency = (time.perf_counter() - started) * 1000
        return HealthStatus(
            healthy=True,
            message=f"postgres {self._component} store in schema {self._schema!r}",
            latency_ms=latency,
        )

    async def close(self) -> None:
        self._closed = True
        self._ready = False
        await self._pool.close()


class _PooledConnection:
    """``async with store._connection() as conn``: a pooled connection; driver errors become StoreError."""

    def __init__(self, store: PostgresStoreBase) -> None:
        self._store = store
        self._context: Any = None

    async def __aenter__(self) -> AsyncConnection[Any]:
        pool = await self._store._open()
        self._context = pool.connection()
        try:
            conn: AsyncConnection[Any] = await self._context.__aenter__()
        except psycopg.Error as exc:
            raise StoreError(f"postgres {self._store._component} store: {exc}") from exc
        return conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        await self._context.__aexit__(exc_type, exc, tb)
        if isinstance(exc, psycopg.Error):
            raise StoreError(f"postgres {self._store._component} store: {exc}") from exc
