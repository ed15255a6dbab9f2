"""The connection, locking and schema plumbing shared by the SQLite stores.

One :class:`SqliteDatabase` wraps one ``sqlite3`` connection (``check_same_thread=False``) behind a
``threading.Lock``; async callers hop to a worker thread with ``asyncio.to_thread`` so the event loop
never blocks on disk. Writes run in ``BEGIN IMMEDIATE`` transactions (all or nothing); reads run in a
deferred transaction so everything one call reads comes from one snapshot. Several connections (one per
store, possibly in other processes) may share a file: WAL mode lets readers proceed during a write,
one process's writers to a file queue on a lock of their own, and ``busy_timeout`` makes writers of
other processes queue instead of failing.

Schema versions live in the ``astrocyte_schema`` table, one row per component (``vector``, ``graph``,
``document``) so stores sharing a file migrate their own tables independently. Migrations are
forward-only; a file written by a newer Astrocyte (a version above the known ones) is refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar, TypeVar

from astrocyte.errors import StoreError
from astrocyte.stores._filters import as_utc
from astrocyte.types import HealthStatus, VectorFilters

__all__ = [
    "DEFAULT_BUSY_TIMEOUT_MS",
    "Migration",
    "SqliteDatabase",
    "SqliteStoreBase",
    "default_db_path",
    "dumps",
    "epoch_us",
    "ids_json",
    "iso",
    "parse_iso",
    "resolve_db_path",
    "time_bounds",
]

T = TypeVar("T")

#: One migration: the SQL statements (executed one by one, inside the migration transaction).
Migration = Sequence[str]

DEFAULT_BUSY_TIMEOUT_MS = 5000
_MEMORY = ":memory:"
#: One write lock per database file for all of this process's connections to it (see
#: :func:`_file_write_lock`), and the lock guarding that registry.
_FILE_WRITE_LOCKS: dict[str, threading.Lock] = {}
_FILE_WRITE_LOCKS_GUARD = threading.Lock()


def default_db_path() -> Path:
    """``$ASTROCYTE_HOME/memory.db``; ``ASTROCYTE_HOME`` defaults to ``./.astrocyte``."""
    home = os.environ.get("ASTROCYTE_HOME") or ".astrocyte"
    return Path(home).expanduser() / "memory.db"


def resolve_db_path(path: str | os.PathLike[str] | None) -> str:
    """The path to open: ``":memory:"`` as is, otherwise expanded with its directory created."""
    if path is None:
        target = default_db_path()
    else:
        raw = os.fspath(path)
        if raw == _MEMORY:
            return _MEMORY
        if not raw.strip():
            raise StoreError("sqlite path must not be empty")
        target = Path(raw).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the directory of {target}: {exc}") from exc
    return str(target)


def _file_write_lock(path: str) -> threading.Lock:
    """The lock this process's writers to ``path`` take around their write transaction.

    SQLite admits one writer per file; without this a second connection of the process (the stores
    sharing a file, written concurrently by retain) would poll SQLite's busy handler, which sleeps up
    to 100 ms between tries, and get the file late. Queued here it gets the file as soon as the
    previous writer commits. Other processes still wait through the busy timeout.
    """
    if path == _MEMORY:  # a private database per connection: nothing to share
        return threading.Lock()
    with _FILE_WRITE_LOCKS_GUARD:
        return _FILE_WRITE_LOCKS.setdefault(os.path.realpath(path), threading.Lock())


class SqliteDatabase:
    """A locked connection to one SQLite file with WAL, busy timeout and versioned schema."""

    def __init__(
        self,
        path: str,
        *,
        component: str,
        migrations: Sequence[Migration],
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = path
        self.component = component
        self._lock = threading.Lock()
        self._write_lock = _file_write_lock(path)
        self._closed = False
        try:
            conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open sqlite database {path}: {exc}") from exc
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.journal_mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            conn.execute("PRAGMA synchronous = NORMAL")
            self.schema_version = self._migrate(migrations)
        except sqlite3.Error as exc:
            conn.close()
            self._closed = True
            raise StoreError(f"cannot prepare sqlite database {path}: {exc}") from exc
        except BaseException:
            conn.close()
            self._closed = True
            raise

    # ------------------------------------------------------------------ schema

    def _migrate(self, migrations: Sequence[Migration]) -> int:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS astrocyte_schema ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = conn.execute(
                "SELECT version FROM astrocyte_schema WHERE component = ?", (self.component,)
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > len(migrations):
                raise StoreError(
                    f"{self.path}: the {self.component} schema is at version {current}, newer than the "
                    f"{len(migrations)} this astrocyte knows — upgrade astrocyte to open this file"
                )
            for statements in migrations[current:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO astrocyte_schema (component, version) VALUES (?, ?)"
                " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (self.component, len(migrations)),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(migrations)

    # ------------------------------------------------------------------ execution

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` under the lock (autocommit: ``fn`` manages its own transaction, if any)."""
        with self._lock:
            return self._run_locked(fn)

    def _run_locked(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection; the caller holds ``self._lock``."""
        if self._closed:
            raise StoreError(f"the sqlite {self.component} store ({self.path}) is closed")
        try:
            return fn(self._conn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite {self.component} store ({self.path}): {exc}") from exc

    @staticmethod
    def _transaction(
        begin: str,
        fn: Callable[[sqlite3.Connection], T],
        on_commit: Callable[[T], None] | None = None,
    ) -> Callable[[sqlite3.Connection], T]:
        """``fn`` wrapped in ``begin`` … ``COMMIT`` (rolled back on any error)."""

        def run(conn: sqlite3.Connection) -> T:
            conn.execute(begin)
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if on_commit is not None:
                on_commit(result)
            return result

        return run

    def _in_transaction(
        self,
        begin: str,
        fn: Callable[[sqlite3.Connection], T],
        on_commit: Callable[[T], None] | None = None,
    ) -> T:
        return self.call(self._transaction(begin, fn, on_commit))

    def write(self, fn: Callable[[sqlite3.Connection], T], on_commit: Callable[[T], None] | None = None) -> T:
        """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction: committed whole or rolled back.

        ``on_commit(result)`` runs after a successful commit, still under the lock (cache upkeep).
        """
        with self._lock, self._write_lock:  # connection first, then the file: every writer's order
            return self._run_locked(self._transaction("BEGIN IMMEDIATE", fn, on_commit))

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (one consistent snapshot)."""
        return self._in_transaction("BEGIN", fn)

    async def awrite(
        self, fn: Callable[[sqlite3.Connection], T], on_commit: Callable[[T], None] | None = None
    ) -> T:
        return await asyncio.to_thread(self.write, fn, on_commit)

    async def aread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self.read, fn)

    async def aread_small(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read bounded by its input (a few index seeks, e.g. rows by id): run inline when the
        connection is free, since a worker-thread hop (GIL hand-over included) costs more than such
        a query; when another call holds the connection, wait for it in a worker thread instead."""
        if not self._lock.acquire(blocking=False):
            return await self.aread(fn)
        try:
            return self._run_locked(self._transaction("BEGIN", fn))
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ lifecycle

    async def health(self) -> HealthStatus:
        started = time.perf_counter()
        try:
            await asyncio.to_thread(self.call, lambda conn: conn.execute("SELECT 1").fetchone())
        except StoreError as exc:
            return HealthStatus(healthy=False, message=str(exc), details={"path": self.path})
        return HealthStatus(
            healthy=True,
            message="ok",
            latency_ms=(time.perf_counter() - started) * 1000,
            details={
                "path": self.path,
                "journal_mode": self.journal_mode,
                "schema_version": self.schema_version,
                "component": self.component,
            },
        )

    def close(self) -> None:
        """Close the connection (idempotent); every later call raises :class:`StoreError`."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


class SqliteStoreBase:
    """Construction, health and close shared by the three SQLite stores."""

    SPI_VERSION: ClassVar[int] = 1
    _component: ClassVar[str]
    _migrations: ClassVar[tuple[Migration, ...]]

    def __init__(
        self, *, path: str | os.PathLike[str] | None = None, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        self._db = SqliteDatabase(
            resolve_db_path(path),
            component=self._component,
            migrations=self._migrations,
            busy_timeout_ms=busy_timeout_ms,
        )

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._db.path

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self._db.path!r})"

    async def health(self) -> HealthStatus:
        return await self._db.health()

    async def close(self) -> None:
        await self._db.aclose()


# --------------------------------------------------------------------------- row encoding helpers

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def dumps(value: object) -> str:
    """Compact JSON for metadata/tags/alias columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def epoch_us(value: datetime | None) -> int | None:
    """Microseconds since the Unix epoch (naive = UTC): an exact, sortable ``occurred_at`` key."""
    when = as_utc(value)
    return None if when is None else (when - _EPOCH) // _MICROSECOND


def iso(value: datetime | None) -> str | None:
    """The datetime as given (offset kept, naive stays naive), so it round-trips exactly."""
    return None if value is None else value.isoformat()


def parse_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def ids_json(ids: Iterable[str]) -> str:
    """A JSON array of distinct ids, bound as one parameter and expanded with ``json_each``."""
    return dumps(list(dict.fromkeys(ids)))


def time_bounds(filters: VectorFilters | None) -> tuple[int | None, int | None] | None:
    """``(start_us, end_us)`` of the filter's half-open time range, or None when it has none."""
    if filters is None or filters.time_range is None:
        return None
    return epoch_us(filters.time_range.start), epoch_us(filters.time_range.end)
