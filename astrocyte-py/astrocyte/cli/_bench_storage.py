"""``astrocyte bench storage``: retain throughput and recall p50/p95 beside the raw engine calls.

``--store memory|sqlite|postgres|pgvector|NAME`` picks the stores (NAME: any installed adapter, used
for every store kind it registers, configured by ``--store-config``). For ``postgres`` without a
``dsn`` (``--store-config`` or ``$ASTROCYTE_POSTGRES_DSN``) a private server is started with the
``pgserver`` package when it is installed. ``--bulk`` also times a bulk import of each size into fresh
stores (``Astrocyte.bulk_load`` vs the raw writes inside the stores' own ``bulk_load``, index build
included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from astrocyte._discovery import installed
from astrocyte.bench.storage import StorageReport, run_storage_bench
from astrocyte.errors import ConfigError, InvalidRequestError

__all__ = ["add_storage_command"]

_KINDS = ("vector_store", "document_store", "graph_store")


def _sizes(raw: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidRequestError("expected comma-separated sizes such as 10000,100000", field="--n") from exc
    if not sizes or min(sizes) < 1:
        raise InvalidRequestError("every size must be >= 1", field="--n")
    return sizes


def _extra_config(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"--store-config is not JSON: {exc}", field="--store-config") from exc
    if not isinstance(parsed, dict):
        raise InvalidRequestError("--store-config must be a JSON object", field="--store-config")
    return parsed


@contextlib.contextmanager
def _postgres_dsn(home: Path, configured: str | None) -> Iterator[str]:
    dsn = configured or os.environ.get("ASTROCYTE_POSTGRES_DSN")
    if dsn:
        yield dsn
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            pgserver: Any = importlib.import_module("pgserver")
    except ImportError as exc:
        raise ConfigError(
            "postgres bench needs a server",
            hint="set ASTROCYTE_POSTGRES_DSN, pass --store-config '{\"dsn\": ...}', or pip install pgserver",
        ) from exc
    data = Path(tempfile.mkdtemp(prefix="astrocyte-bench-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def _store_config(
    store: str, home: Path, extra: dict[str, Any], dsn: str | None, name: str = "bench"
) -> dict[str, Any]:
    """The stores of ``--store``; another ``name`` gives fresh, empty ones (SQLite file, Postgres schema)."""
    if store == "memory":
        return {kind: "memory" for kind in _KINDS}
    if store == "sqlite":
        options = {"path": str(home / f"{name}.db"), **extra}
        return {kind: "sqlite" for kind in _KINDS} | {f"{kind}_config": options for kind in _KINDS}
    if store in ("postgres", "pgvector"):
        options = {**extra, "dsn": dsn, "schema": extra.get("schema", f"{name}_{uuid.uuid4().hex[:8]}")}
        return {kind: store for kind in _KINDS} | {f"{kind}_config": options for kind in _KINDS}
    kinds = [kind for kind in _KINDS if store in installed(kind)]
    if "vector_store" not in kinds:
        raise ConfigError(
            f"no vector store named {store!r} is installed",
            hint=f"installed: {', '.join(installed('vector_store'))}",
        )
    selected: dict[str, Any] = {kind: None for kind in _KINDS}
    selected |= {kind: store for kind in kinds} | {f"{kind}_config": dict(extra) for kind in kinds}
    return selected


def _print(report: StorageReport, console: Console) -> None:
    table = Table(
        title=f"bench storage — {report.store}, {report.dimensions} dims, {report.queries} queries "
        "(query embedding excluded)"
    )
    for column in (
        "n",
        "retain/s",
        "raw write/s",
        "recall",
        "p50 ms",
        "raw p50",
        "overhead p50",
        "p95 ms",
        "raw p95",
    ):
        table.add_column(column, justify="right")
    for size in report.sizes:
        for name, (framework, raw) in size.recall.items():
            table.add_row(
                f"{size.n:,}",
                f"{size.retain_per_s:,.0f}",
                f"{size.raw_write_per_s:,.0f}",
                name,
                f"{framework.p50_ms:.2f}",
                f"{raw.p50_ms:.2f}",
                f"+{framework.p50_ms - raw.p50_ms:.2f} ms ({framework.p50_ms / raw.p50_ms:.2f}x)"
                if raw.p50_ms
                else "-",
                f"{framework.p95_ms:.2f}",
                f"{raw.p95_ms:.2f}",
            )
    console.print(table)
    bulk = [size for size in report.sizes if size.bulk is not None]
    if bulk:
        table = Table(title="bulk import into fresh stores (Astrocyte.bulk_load; index build included)")
        for column in ("n", "memories/s", "raw write/s", "framework/raw"):
            table.add_column(column, justify="right")
        for size in bulk:
            assert size.bulk is not None
            imported, written = size.bulk
            table.add_row(f"{size.n:,}", f"{imported:,.0f}", f"{written:,.0f}", f"{imported / written:.2f}x")
        console.print(table)


def _run(args: argparse.Namespace) -> int:
    sizes = _sizes(args.n)
    extra = _extra_config(args.store_config)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory(prefix="astrocyte-bench-") as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp)
        dsn = None
        if args.store in ("postgres", "pgvector"):
            dsn = stack.enter_context(_postgres_dsn(home, extra.get("dsn")))
        config = _store_config(args.store, home, extra, dsn)
        with Progress(*columns, console=console, transient=True) as progress:
            tasks: dict[str, Any] = {}

            def advance(stage: str, done: int, total: int) -> None:
                if stage not in tasks or progress.tasks[tasks[stage]].total != total:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done)

            report = asyncio.run(
                run_storage_bench(
                    config,
                    sizes,
                    store=args.store,
                    queries=args.queries,
                    batch=args.batch,
                    progress=advance,
                    bulk_store_config=(
                        (lambda: _store_config(args.store, home, extra, dsn, f"bulk_{uuid.uuid4().hex[:8]}"))
                        if args.bulk
                        else None
                    ),
                )
            )
    _print(report, Console(highlight=False, width=max(140, Console().width)))
    return 0


def add_storage_command(inner: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = inner.add_parser(
        "storage",
        help="Retain throughput and recall p50/p95 through the framework beside the raw engine.",
        description=__doc__,
    )
    parser.set_defaults(handler=_run)
    parser.add_argument(
        "--store", default="sqlite", help="memory, sqlite, postgres, pgvector or an adapter name"
    )
    parser.add_argument("--n", default="10000", help="comma-separated memory counts (default 10000)")
    parser.add_argument("--queries", type=int, default=200, help="recall queries per size (default 200)")
    parser.add_argument("--batch", type=int, default=500, help="memories per retain_many call (default 500)")
    parser.add_argument(
        "--store-config", default=None, help="JSON object of store options (dsn, schema, ...)"
    )
    parser.add_argument(
        "--bulk", action="store_true", help="also time a bulk import of each size into fresh stores"
    )
