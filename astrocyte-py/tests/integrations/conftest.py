"""Fixtures for the framework integrations: the embedded SQLite store with the hashing embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _frameworks import embedded_config

from astrocyte import Astrocyte, SyncAstrocyte


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[Astrocyte]:
    async with Astrocyte.from_config(embedded_config(tmp_path)) as instance:
        yield instance


@pytest.fixture
def sync_memory(tmp_path: Path) -> Iterator[SyncAstrocyte]:
    with SyncAstrocyte.from_config(embedded_config(tmp_path)) as instance:
        yield instance
