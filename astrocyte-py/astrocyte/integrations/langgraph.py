"""LangGraph: a long-term memory ``BaseStore`` over Astrocyte (``pip install "astrocyte[langgraph]"``).

>>> store = AstrocyteStore(SyncAstrocyte.from_config(), bank_id="app")       # doctest: +SKIP
>>> graph = builder.compile(store=store)                                       # doctest: +SKIP

Each item is a memory in one bank: the text of its indexed fields (``index``, default the whole value)
is what recall searches; the value itself, namespace, key and timestamps ride along in metadata, so
``get`` returns exactly what ``put`` stored. ``search`` with a ``query`` runs Astrocyte recall
(vector + full text + graph + temporal, fused); without one it lists items, newest first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)
from langgraph.store.base.embed import get_text_at_path

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.errors import InvalidRequestError
from astrocyte.identity import AstrocyteContext
from astrocyte.integrations._bridge import MemoryBridge
from astrocyte.integrations._records import find
from astrocyte.types import MemoryHit, VectorFilters, VectorHit

__all__ = ["AstrocyteStore"]

_STORE_TAG = "langgraph:item"
_NAMESPACE = "lg_namespace"
_KEY = "lg_key"
_VALUE = "lg_value"
_CREATED = "lg_created_at"
_UPDATED = "lg_updated_at"

Namespace = tuple[str, ...]


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _item_tag(namespace: Namespace, key: str) -> str:
    return f"langgraph:key:{_digest(list(namespace), key)}"


def _prefix_tag(prefix: Namespace) -> str:
    return f"langgraph:ns:{_digest(list(prefix))}"


def _item(metadata: dict[str, Any], score: float | None = None) -> SearchItem:
    return SearchItem(
        namespace=tuple(json.loads(str(metadata[_NAMESPACE]))),
        key=str(metadata[_KEY]),
        value=json.loads(str(metadata[_VALUE])),
        created_at=datetime.fromisoformat(str(metadata[_CREATED])),
        updated_at=datetime.fromisoformat(str(metadata[_UPDATED])),
        score=score,
    )


def _unique(hits: Sequence[VectorHit | MemoryHit]) -> list[VectorHit | MemoryHit]:
    """One hit per item: a long value is stored as several chunks carrying the same metadata."""
    seen: dict[tuple[str, str], VectorHit | MemoryHit] = {}
    for hit in hits:
        seen.setdefault((str(hit.metadata[_NAMESPACE]), str(hit.metadata[_KEY])), hit)
    return list(seen.values())


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a is not None and float(a) > float(b),
    "$gte": lambda a, b: a is not None and float(a) >= float(b),
    "$lt": lambda a, b: a is not None and float(a) < float(b),
    "$lte": lambda a, b: a is not None and float(a) <= float(b),
}


def _matches(value: Any, wanted: Any) -> bool:
    """LangGraph's filter semantics: equality, nested dicts, and $eq/$ne/$gt/$gte/$lt/$lte."""
    if isinstance(wanted, dict):
        if any(str(k).startswith("$") for k in wanted):
            unknown = [k for k in wanted if k not in _OPERATORS]
            if unknown:
                raise InvalidRequestError(
                    f"unsupported filter operator {unknown[0]!r}; use one of {sorted(_OPERATORS)}",
                    field="filter",
                )
            return all(_OPERATORS[k](value, v) for k, v in wanted.items())
        return isinstance(value, dict) and all(_matches(value.get(k), v) for k, v in wanted.items())
    return bool(value == wanted)


def _namespace_matches(namespace: Namespace, condition: MatchCondition) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    part = (
        namespace[: len(path)]
        if condition.match_type == "prefix"
        else namespace[len(namespace) - len(path) :]
    )
    return all(p == "*" or p == n for n, p in zip(part, path, strict=True))


class AstrocyteStore(BaseStore):
    """A LangGraph ``BaseStore`` whose items are Astrocyte memories in one bank.

    ``index`` names the value fields (LangGraph path syntax, e.g. ``"memory"``, ``"facts[*].text"``)
    whose text is embedded and searched; the default ``["$"]`` is the whole value as JSON. A put's
    own ``index`` overrides it; ``index=False`` still stores the item (every memory is searchable)
    using the whole value. TTLs are not supported (``supports_ttl = False``).
    """

    supports_ttl = False

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
        index: list[str] | None = None,
    ) -> None:
        self._bridge = MemoryBridge(memory, bank_id=bank_id, context=context)
        self._index = index or ["$"]

    # ------------------------------------------------------------------ BaseStore

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        todo = list(ops)
        return self._bridge.run(lambda m: self._apply(m, todo), hook="AstrocyteStore.batch")

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        todo = list(ops)
        return await self._bridge.arun(lambda m: self._apply(m, todo))

    async def _apply(self, memory: Astrocyte, ops: list[Op]) -> list[Result]:
        """Ops run in order, so a get after a put in the same batch sees the put."""
        for op in ops:
            validate_op_namespace(op)
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(await self._get(memory, op.namespace, op.key))
            elif isinstance(op, PutOp):
                await self._put(memory, op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(await self._search(memory, op))
            elif isinstance(op, ListNamespacesOp):
                results.append(await self._list_namespaces(memory, op))
            else:
                raise InvalidRequestError(f"unknown store operation {type(op).__name__}", field="ops")
        return results

    # ------------------------------------------------------------------ operations

    async def _records(self, memory: Astrocyte, filters: VectorFilters) -> list[VectorHit]:
        return await find(memory, self._bridge.bank_id, self._bridge.context, filters)

    async def _chunks(self, memory: Astrocyte, namespace: Namespace, key: str) -> list[VectorHit]:
        return await self._records(memory, VectorFilters(tags=[_item_tag(namespace, key)]))

    async def _get(self, memory: Astrocyte, namespace: Namespace, key: str) -> Item | None:
        chunks = await self._chunks(memory, namespace, key)
        if not chunks:
            return None
        found = _item(chunks[0].metadata)
        return Item(
            value=found.value,
            key=found.key,
            namespace=found.namespace,
            created_at=found.created_at,
            updated_at=found.updated_at,
        )

    async def _put(self, memory: Astrocyte, op: PutOp) -> None:
        """Write the new version, then forget the old one's chunks: a failure in between leaves the
        old item in place rather than losing it."""
        namespace, key = tuple(op.namespace), op.key
        old = await self._chunks(memory, namespace, key)
        if op.value is not None:
            now = datetime.now(UTC)
            created = _item(old[0].metadata).created_at if old else now
            value = dict(op.value)
            await memory.retain(
                self._text(value, op.index),
                bank_id=self._bridge.bank_id,
                context=self._bridge.context,
                tags=[
                    _STORE_TAG,
                    _item_tag(namespace, key),
                    *(_prefix_tag(namespace[:n]) for n in range(1, len(namespace) + 1)),
                ],
                deduplicate=False,  # a store keeps every item, however alike
                metadata={
                    _NAMESPACE: json.dumps(list(namespace)),
                    _KEY: key,
                    _VALUE: json.dumps(value, sort_keys=True, default=str),
                    _CREATED: created.isoformat(),
                    _UPDATED: now.isoformat(),
                },
            )
        if old:
            await memory.forget(
                bank_id=self._bridge.bank_id, context=self._bridge.context, memory_ids=[h.id for h in old]
            )

    def _text(self, value: dict[str, Any], index: list[str] | bool | None) -> str:
        paths = index if isinstance(index, list) else self._index
        texts = [text for path in paths for text in get_text_at_path(value, path) if text.strip()]
        return "\n".join(texts) or json.dumps(value, sort_keys=True, default=str)

    async def _search(self, memory: Astrocyte, op: SearchOp) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        tag = _prefix_tag(prefix) if prefix else _STORE_TAG
        wanted = op.offset + op.limit
        if op.query:
            pool = max(wanted * 4, 20) if op.filter else wanted
            recalled = await memory.recall(
                op.query,
                bank_id=self._bridge.bank_id,
                context=self._bridge.context,
                tags=[tag],
                max_results=min(pool, 1000),
            )
            # the graph strategy ignores recall's tag filter: keep this store's items under the prefix
            hits: list[VectorHit | MemoryHit] = [h for h in recalled.hits if tag in h.tags]
            items = [_item(h.metadata, h.score) for h in _unique(hits)]
        else:
            listed = _unique(await self._records(memory, VectorFilters(tags=[tag])))
            items = sorted((_item(h.metadata) for h in listed), key=lambda i: i.updated_at, reverse=True)
        if op.filter:
            items = [i for i in items if all(_matches(i.value.get(k), v) for k, v in op.filter.items())]
        return items[op.offset : wanted]

    async def _list_namespaces(self, memory: Astrocyte, op: ListNamespacesOp) -> list[Namespace]:
        hits = await self._records(memory, VectorFilters(tags=[_STORE_TAG]))
        namespaces = {tuple(json.loads(str(h.metadata[_NAMESPACE]))) for h in hits}
        for condition in op.match_conditions or ():
            namespaces = {ns for ns in namespaces if _namespace_matches(ns, condition)}
        if op.max_depth is not None:
            namespaces = {ns[: op.max_depth] for ns in namespaces}
        return sorted(namespaces)[op.offset : op.offset + op.limit]
