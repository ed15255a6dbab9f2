"""The bridge every integration uses: sync and async hooks over Astrocyte and SyncAstrocyte."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from astrocyte import Astrocyte, InvalidRequestError, SyncAstrocyte
from astrocyte.integrations import MemoryBridge, SyncCallError

pytestmark = pytest.mark.backend("sqlite")


async def test_async_hooks_over_async_astrocyte(memory: Astrocyte) -> None:
    bridge = MemoryBridge(memory, bank_id="b")
    await bridge.aretain("Bob keeps bees.")
    assert (await bridge.arecall("bees")).hits[0].text == "Bob keeps bees."
    assert (await bridge.aforget(all=True)).deleted_count == 1


async def test_blocking_hook_over_async_astrocyte_names_the_hook_and_the_fix(memory: Astrocyte) -> None:
    with pytest.raises(SyncCallError, match=r"store\.get is a blocking call.*SyncAstrocyte"):
        MemoryBridge(memory, bank_id="b").recall("x", hook="store.get")


async def test_blocking_hook_inside_a_running_loop_uses_a_worker_thread(sync_memory: SyncAstrocyte) -> None:
    bridge = MemoryBridge(sync_memory, bank_id="b")  # e.g. a sync framework call made from a notebook
    bridge.retain("Alice moved to Lisbon.", hook="test")
    assert bridge.recall("Lisbon", hook="test").hits
    assert (await bridge.arecall("Lisbon")).hits  # async hook: the twin's loop runs in a worker thread


def test_blocking_hooks_from_many_threads_share_one_sync_astrocyte(sync_memory: SyncAstrocyte) -> None:
    bridges = [MemoryBridge(sync_memory, bank_id="b") for _ in range(2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(lambda i: bridges[i % 2].retain(f"fact number {i} about topic {i}", hook="t"), range(8))
        )
    assert len(sync_memory.recall("fact number topic", bank_id="b", max_results=20).hits) == 8


def test_construction_errors_are_typed(sync_memory: SyncAstrocyte) -> None:
    with pytest.raises(InvalidRequestError, match="memory"):
        MemoryBridge(object(), bank_id="b")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="bank_id"):
        MemoryBridge(sync_memory)
