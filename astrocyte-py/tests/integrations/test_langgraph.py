"""LangGraph: the ``BaseStore`` through its own API (put/get/search/delete/list_namespaces, sync and
async) and inside a compiled ``StateGraph``."""

from __future__ import annotations

from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, GetOp, InvalidNamespaceError, PutOp

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext, InvalidRequestError, SyncAstrocyte
from astrocyte.integrations import SyncCallError
from astrocyte.integrations.langgraph import AstrocyteStore

pytestmark = pytest.mark.backend("sqlite")

ALICE = ("users", "alice", "memories")
BOB = ("users", "bob", "memories")


async def test_put_get_update_delete(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    assert await store.aget(ALICE, "home") is None
    await store.aput(ALICE, "home", {"text": "Alice lives in Lisbon", "since": 2023})
    first = await store.aget(ALICE, "home")
    assert first is not None
    assert (first.namespace, first.key, first.value) == (
        ALICE,
        "home",
        {"text": "Alice lives in Lisbon", "since": 2023},
    )
    await store.aput(ALICE, "home", {"text": "Alice lives in Porto", "since": 2025})
    second = await store.aget(ALICE, "home")
    assert second is not None and second.value["text"] == "Alice lives in Porto"
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert len((await memory.recall("Alice lives", bank_id="app")).hits) == 1  # the old version is gone
    await store.adelete(ALICE, "home")
    assert await store.aget(ALICE, "home") is None


async def test_identical_values_under_different_keys_are_both_kept(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    await store.aput(ALICE, "a", {"text": "likes tea"})
    await store.aput(BOB, "a", {"text": "likes tea"})
    assert (await store.aget(ALICE, "a")) is not None and (await store.aget(BOB, "a")) is not None


async def test_search_by_query_is_scoped_to_the_namespace_prefix(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    await store.aput(ALICE, "1", {"text": "Alice moved to Lisbon in May 2023"})
    await store.aput(ALICE, "2", {"text": "Alice is a marine biologist"})
    await store.aput(BOB, "1", {"text": "Bob moved to Lisbon too"})
    found = await store.asearch(ALICE, query="Where did she move? Lisbon")
    assert found[0].key == "1" and {i.namespace for i in found} == {ALICE}
    assert all(i.score is not None for i in found)
    everyone = await store.asearch(("users",), query="moved to Lisbon", limit=10)
    assert {(i.namespace, i.key) for i in everyone} >= {(ALICE, "1"), (BOB, "1")}


async def test_search_without_query_lists_newest_first_with_filters_and_paging(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    for n in range(5):
        await store.aput(
            ("docs",),
            f"d{n}",
            {"text": f"document {n}", "n": n, "meta": {"kind": "even" if n % 2 == 0 else "odd"}},
        )
    listed = await store.asearch(("docs",), limit=10)
    assert [i.key for i in listed] == ["d4", "d3", "d2", "d1", "d0"]
    assert [i.key for i in await store.asearch(("docs",), limit=2, offset=1)] == ["d3", "d2"]
    assert [i.key for i in await store.asearch(("docs",), filter={"meta": {"kind": "odd"}})] == ["d3", "d1"]
    assert [i.key for i in await store.asearch(("docs",), filter={"n": {"$gte": 3}})] == ["d4", "d3"]
    with pytest.raises(InvalidRequestError, match="operator"):
        await store.asearch(("docs",), filter={"n": {"$regex": "1"}})


async def test_index_fields_choose_what_is_searched(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app", index=["summary"])
    await store.aput(("notes",), "n1", {"summary": "volcano trip", "body": "zebra"})
    hits = await memory.recall("volcano", bank_id="app")
    assert hits.hits[0].text == "volcano trip"
    await store.aput(("notes",), "n2", {"summary": "ignored", "body": "glacier hike"}, index=["body"])
    assert (await memory.recall("glacier", bank_id="app")).hits[0].text == "glacier hike"


async def test_list_namespaces_with_conditions_and_depth(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    await store.aput(ALICE, "k", {"text": "a"})
    await store.aput(BOB, "k", {"text": "b"})
    await store.aput(("docs", "v1"), "k", {"text": "c"})
    assert await store.alist_namespaces() == [("docs", "v1"), ALICE, BOB]
    assert await store.alist_namespaces(prefix=("users",)) == [ALICE, BOB]
    assert await store.alist_namespaces(suffix=("v1",)) == [("docs", "v1")]
    assert await store.alist_namespaces(prefix=("users", "*", "memories")) == [ALICE, BOB]
    assert await store.alist_namespaces(max_depth=1) == [("docs",), ("users",)]


async def test_batch_runs_ops_in_order(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    results = await store.abatch(
        [PutOp(ALICE, "k", {"text": "x"}), GetOp(ALICE, "k"), PutOp(ALICE, "k", None), GetOp(ALICE, "k")]
    )
    assert results[0] is None and results[1] is not None and results[1].value == {"text": "x"}
    assert results[2] is None and results[3] is None


async def test_invalid_namespace_is_rejected_before_anything_is_written(memory: Astrocyte) -> None:
    store = AstrocyteStore(memory, bank_id="app")
    with pytest.raises(InvalidNamespaceError):
        await store.abatch([PutOp(("ok",), "k", {"text": "x"}), PutOp(("a.b",), "k", {"text": "y"})])
    assert await store.aget(("ok",), "k") is None


async def test_sync_methods_over_async_astrocyte_are_a_typed_error(memory: Astrocyte) -> None:
    with pytest.raises(SyncCallError, match="abatch"):
        AstrocyteStore(memory, bank_id="app").get(ALICE, "k")


async def test_context_is_enforced(memory: Astrocyte) -> None:
    alice = AstrocyteContext(principal="user:alice")
    own = AstrocyteStore(memory, context=alice)
    await own.aput(ALICE, "k", {"text": "mine"})
    assert (await own.aget(ALICE, "k")) is not None
    foreign = AstrocyteStore(memory, bank_id="user-bob", context=alice)
    with pytest.raises(AccessDeniedError):
        await foreign.aget(ALICE, "k")
    with pytest.raises(AccessDeniedError):
        await foreign.aput(ALICE, "k", {"text": "theirs"})


class _State(TypedDict):
    user: str
    message: str
    recalled: list[str]


def _remember(state: _State, *, store: BaseStore) -> dict[str, list[str]]:
    namespace = ("users", state["user"], "memories")
    store.put(namespace, f"m{len(store.search(namespace))}", {"text": state["message"]})
    return {"recalled": [i.value["text"] for i in store.search(namespace, query=state["message"], limit=3)]}


def test_store_inside_a_compiled_graph(sync_memory: SyncAstrocyte) -> None:
    store = AstrocyteStore(sync_memory, bank_id="app")
    builder = StateGraph(_State)
    builder.add_node("remember", _remember)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", END)
    graph = builder.compile(store=store)
    graph.invoke({"user": "alice", "message": "I moved to Lisbon", "recalled": []})
    out = graph.invoke({"user": "alice", "message": "I work as a marine biologist", "recalled": []})
    assert out["recalled"][0] == "I work as a marine biologist"
    assert "I moved to Lisbon" in out["recalled"]
    assert {i.key for i in store.search(("users", "alice"))} == {"m0", "m1"}
    assert store.list_namespaces() == [("users", "alice", "memories")]
