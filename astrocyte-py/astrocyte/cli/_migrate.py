"""``astrocyte migrate``: apply pending schema migrations of the configured stores.

Stores with a versioned schema implement the optional :class:`~astrocyte.provider.Migratable`
capability; the others (in-memory, or adapters that need no schema) are listed as such. Run it before
a deploy when the stores are configured with ``migrate_on_start: false``.
"""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from astrocyte._discovery import create_provider
from astrocyte.cli._base import Subparsers, add_command, add_config_option
from astrocyte.config import load_config
from astrocyte.provider import Migratable

__all__ = ["register", "run_migrations"]

_STORE_KINDS = ("vector_store", "document_store", "graph_store")


async def run_migrations(config_source: str | None) -> list[tuple[str, str, list[str] | None]]:
    """``(kind, name, applied)`` per configured store; ``applied`` is None for a store without schema."""
    config = load_config(config_source)
    backends = config.backends()
    results: list[tuple[str, str, list[str] | None]] = []
    for kind in _STORE_KINDS:
        selection = backends.get(kind)  # type: ignore[call-overload]
        if selection is None:
            continue
        store = create_provider(kind, selection.name, selection.config)
        try:
            applied = await store.migrate() if isinstance(store, Migratable) else None
        finally:
            await store.close()  # type: ignore[attr-defined]
        results.append((kind, selection.name, applied))
    return results


def _run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    for kind, name, applied in asyncio.run(run_migrations(args.config)):
        if applied is None:
            console.print(f"{kind} {name}: no versioned schema")
        elif applied:
            console.print(f"{kind} {name}: applied {', '.join(applied)}")
        else:
            console.print(f"{kind} {name}: up to date")
    return 0


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "migrate", _run, help="Apply pending schema migrations of the configured stores."
    )
    add_config_option(parser)
