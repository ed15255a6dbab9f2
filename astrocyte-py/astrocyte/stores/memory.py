"""The ``memory`` reference stores: vector, graph and document stores held in process memory.

They define the behaviour the contract suites in :mod:`astrocyte.testing` check, are the default for
tests and notebooks, and keep nothing after the process exits. No method awaits while it mutates
state, so each call is atomic with respect to other tasks on the same event loop.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from astrocyte.errors import ConfigError, InvalidRequestError, StoreError
from astrocyte.stores._filters import cosine_scores, matches_filters, validate_vector
from astrocyte.stores._text import tokenize
from astrocyte.types import (
    Document,
    DocumentHit,
    Entity,
    EntityLink,
    GraphHit,
    HealthStatus,
    MemoryEntityAssociation,
    Metadata,
    NeighborDocument,
    VectorFilters,
    VectorHit,
    VectorItem,
)

__all__ = ["InMemoryDocumentStore", "InMemoryGraphStore", "InMemoryVectorStore"]


# --------------------------------------------------------------------------- shared helpers


def _copy_metadata(metadata: Metadata) -> Metadata:
    # Values are scalars or flat lists; copying the lists is enough to keep callers out of our state.
    return {key: list(value) if isinstance(value, list) else value for key, value in metadata.items()}


def _reject_unknown_options(kind: str, options: dict[str, object]) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise ConfigError(
            f"unknown option(s) {names}",
            key_path=f"{kind}_config",
            hint="remove them; the memory store takes no such options",
        )


def _check_limit(limit: int, name: str = "limit") -> None:
    if limit < 0:
        raise InvalidRequestError("must not be negative", field=name)


class _Lifecycle:
    """Open/closed state shared by the three stores: a closed store refuses every call."""

    _kind: ClassVar[str] = "store"

    def __init__(self) -> None:
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the in-memory {self._kind} store is closed")

    async def close(self) -> None:
        """Drop every bank; the store refuses calls afterwards."""
        self._closed = True
        self._clear()

    def _clear(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- vector store


@dataclass(slots=True)
class _VectorRecord:
    id: str
    text: str
    metadata: Metadata
    tags: list[str]
    occurred_at: datetime | None

    @classmethod
    def of(cls, item: VectorItem) -> _VectorRecord:
        return cls(item.id, item.text, _copy_metadata(item.metadata), list(item.tags), item.occurred_at)

    def hit(self, score: float) -> VectorHit:
        return VectorHit(
            id=self.id,
            text=self.text,
            score=score,
            metadata=_copy_metadata(self.metadata),
            tags=list(self.tags),
            occurred_at=self.occurred_at,
        )


class _VectorBank:
    """One bank: records in insertion order and a row-aligned float32 matrix.

    The matrix lives in a buffer that doubles when full, so one-at-a-time writes stay amortised O(dim)
    instead of copying the whole bank on every write.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.records: list[_VectorRecord] = []
        self.rows: dict[str, int] = {}
        self._buffer: npt.NDArray[np.float32] = np.zeros((16, dim), dtype=np.float32)

    @property
    def matrix(self) -> npt.NDArray[np.float32]:
        return self._buffer[: len(self.records)]

    def upsert(self, items: Iterable[VectorItem]) -> None:
        for item in items:
            row = self.rows.get(item.id)
            if row is None:
                row = len(self.records)
                self._reserve(row + 1)
                self.rows[item.id] = row
                self.records.append(_VectorRecord.of(item))
            else:
                # Replacing in place keeps the row, so list_vectors paging order stays stable.
                self.records[row] = _VectorRecord.of(item)
            self._buffer[row] = np.asarray(item.vector, dtype=np.float32)

    def remove(self, ids: Iterable[str]) -> int:
        doomed = sorted({self.rows[i] for i in ids if i in self.rows})
        if not doomed:
            return 0
        kept = np.delete(self.matrix, doomed, axis=0)
        gone = set(doomed)
        self.records = [r for row, r in enumerate(self.records) if row not in gone]
        self.rows = {r.id: row for row, r in enumerate(self.records)}
        self._buffer[: len(kept)] = kept
        return len(doomed)

    def vector(self, row: int) -> list[float]:
        return [float(x) for x in self._buffer[row]]

    def _reserve(self, rows: int) -> None:
        capacity = self._buffer.shape[0]
        if rows <= capacity:
            return
        while capacity < rows:
            capacity *= 2
        grown = np.zeros((capacity, self.dim), dtype=np.float32)
        grown[: len(self.records)] = self.matrix
        self._buffer = grown


def _top_rows(scores: npt.NDArray[np.float32], candidates: npt.NDArray[np.intp], limit: int) -> list[int]:
    """Best ``limit`` of ``candidates`` by score descending; ties keep insertion order."""
    if candidates.size > limit:
        # argpartition keeps top-k O(n); the exact order is settled on the k survivors below.
        part = np.argpartition(-scores[candidates], limit - 1)[:limit]
        candidates = candidates[part]
    order = np.lexsort((candidates, -scores[candidates]))
    return [int(candidates[i]) for i in order]


def _query_matrix(query_vectors: list[list[float]], dim: int) -> npt.NDArray[np.float32]:
    """The query vectors as one float32 matrix, checked as ``validate_vector`` checks each one."""
    for vector in query_vectors:
        if len(vector) != dim:
            validate_vector(vector, dim, field="query_vectors")  # raises the matching error
    queries = np.asarray(query_vectors, dtype=np.float32)
    if not np.all(np.isfinite(queries)):
        raise InvalidRequestError("vector contains NaN or infinity", field="query_vectors")
    return queries


def _cosine_score_rows(
    matrix: npt.NDArray[np.float32], q: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """One row per query of ``q``: ``cosine_scores(matrix, query)`` of every stored row, as one product."""
    q_norms = np.linalg.norm(q, axis=1)
    q_norms[q_norms == 0] = 1.0
    denom = np.outer(q_norms, np.linalg.norm(matrix, axis=1))
    denom[denom == 0] = 1.0
    cos = (q @ matrix.T) / denom
    scores: npt.NDArray[np.float32] = np.clip((cos + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    return scores


class InMemoryVectorStore(_Lifecycle):
    """Exact cosine search over a numpy matrix per bank.

    Options: ``dimensions`` fixes the dimension of every bank; without it each bank takes the
    dimension of its first vector. Scores are ``(cos + 1) / 2``: 1 identical, 0.5 orthogonal,
    0 opposite.
    """

    SPI_VERSION: ClassVar[int] = 1
    _kind = "vector"

    def __init__(self, *, dimensions: int | None = None, **options: object) -> None:
        super().__init__()
        _reject_unknown_options("vector_store", options)
        if dimensions is not None and (isinstance(dimensions, bool) or dimensions < 1):
            raise ConfigError("must be a positive integer", key_path="vector_store_config.dimensions")
        self._dimensions = dimensions
        self._banks: dict[str, _VectorBank] = {}

    def _clear(self) -> None:
        self._banks.clear()

    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        self._check_open()
        if not items:
            return []
        by_bank: dict[str, dict[str, VectorItem]] = {}
        for item in items:
            # The last write of an id within one batch wins, as if the batch were applied in order.
            by_bank.setdefault(item.bank_id, {})[item.id] = item
        dims = {bank: self._validate_batch(bank, batch.values()) for bank, batch in by_bank.items()}
        # Everything is validated before anything is written, so a bad batch leaves no trace.
        for bank_id, batch in by_bank.items():
            bank = self._banks.get(bank_id)
            if bank is None:
                bank = self._banks[bank_id] = _VectorBank(dims[bank_id])
            bank.upsert(batch.values())
        return [item.id for item in items]

    def _validate_batch(self, bank_id: str, items: Iterable[VectorItem]) -> int:
        bank = self._banks.get(bank_id)
        expected = bank.dim if bank is not None else self._dimensions
        for item in items:
            validate_vector(item.vector, expected, field=f"items[{item.id}].vector")
            expected = len(item.vector)
        assert expected is not None  # at least one item was checked
        return expected

    async def search_similar(
        self,
        query_vector: list[float],
        bank_id: str,
        limit: int = 10,
        filters: VectorFilters | None = None,
    ) -> list[VectorHit]:
        """Nearest ``limit`` items passing ``filters`` (filters apply before the limit)."""
        self._check_open()
        _check_limit(limit)
        bank = self._banks.get(bank_id)
        validate_vector(query_vector, bank.dim if bank else None, field="query_vector")
        if bank is None or limit == 0:
            return []
        scores = cosine_scores(bank.matrix, query_vector)
        if filters is None:
            candidates = np.arange(len(bank.records))
        else:
            mask = [
                matches_filters(filters, tags=r.tags, metadata=r.metadata, occurred_at=r.occurred_at)
                for r in bank.records
            ]
            candidates = np.flatnonzero(np.asarray(mask, dtype=bool))
        if candidates.size == 0:
            return []
        return [bank.records[row].hit(float(scores[row])) for row in _top_rows(scores, candidates, limit)]

    async def search_similar_many(
        self,
        query_vectors: list[list[float]],
        bank_id: str,
        limit: int = 10,
        min_score: float | None = None,
    ) -> list[list[VectorHit]]:
        """``search_similar`` of each vector, scored in one matrix product (the retain dedup probes)."""
        self._check_open()
        _check_limit(limit)
        bank = self._banks.get(bank_id)
        if bank is None:
            for vector in query_vectors:
                validate_vector(vector, None, field="query_vectors")
            return [[] for _ in query_vectors]
        queries = _query_matrix(query_vectors, bank.dim)
        if limit == 0 or not query_vectors:
            return [[] for _ in query_vectors]
        rows = np.arange(len(bank.records))
        floor = -np.inf if min_score is None else min_score
        return [
            [
                bank.records[row].hit(float(scores[row]))
                for row in _top_rows(scores, rows, limit)
                if scores[row] >= floor
            ]
            for scores in _cosine_score_rows(bank.matrix, queries)
        ]

    async def delete(self, ids: list[str], bank_id: str) -> int:
        self._check_open()
        bank = self._banks.get(bank_id)
        if bank is None:
            return 0
        count = bank.remove(ids)
        if not bank.records:
            # An empty bank is forgotten entirely, dimension included (list_banks lists non-empty ones).
            del self._banks[bank_id]
        return count

    async def list_vectors(self, bank_id: str, offset: int = 0, limit: int = 100) -> list[VectorItem]:
        """A page in first-insertion order (an upsert keeps its position)."""
        self._check_open()
        _check_limit(limit)
        _check_limit(offset, "offset")
        bank = self._banks.get(bank_id)
        if bank is None:
            return []
        end = min(offset + limit, len(bank.records))
        return [
            VectorItem(
                id=r.id,
                bank_id=bank_id,
                vector=bank.vector(row),
                text=r.text,
                metadata=_copy_metadata(r.metadata),
                tags=list(r.tags),
                occurred_at=r.occurred_at,
            )
            for row, r in zip(range(offset, end), bank.records[offset:end], strict=True)
        ]

    async def list_banks(self) -> list[str]:
        self._check_open()
        return sorted(self._banks)

    async def health(self) -> HealthStatus:
        if self._closed:
            return HealthStatus(healthy=False, message="in-memory vector store is closed")
        total = sum(len(b.records) for b in self._banks.values())
        return HealthStatus(
            healthy=True, message="in-memory", details={"banks": len(self._banks), "vectors": total}
        )


# --------------------------------------------------------------------------- graph store


def _fold(text: str) -> str:
    return text.casefold().strip()


def _merge_entity(old: Entity, new: Entity) -> Entity:
    """Re-storing an entity keeps every name it was known by: old aliases, new aliases, the old name."""
    seen = {_fold(new.name)}
    aliases: list[str] = []
    for alias in [*old.aliases, *new.aliases, old.name]:
        if _fold(alias) not in seen:
            seen.add(_fold(alias))
            aliases.append(alias)
    return Entity(
        id=new.id,
        name=new.name,
        entity_type=new.entity_type if new.entity_type != "unknown" else old.entity_type,
        aliases=aliases,
        metadata={**_copy_metadata(old.metadata), **_copy_metadata(new.metadata)},
    )


def _entity_match_rank(entity: Entity, query: str) -> int | None:
    """0 exact name, 1 exact alias, 2 name prefix, 3 alias prefix, 4 name substring, 5 alias substring."""
    name = _fold(entity.name)
    aliases = [_fold(a) for a in entity.aliases]
    checks = (
        (name == query, any(a == query for a in aliases)),
        (name.startswith(query), any(a.startswith(query) for a in aliases)),
        (query in name, any(query in a for a in aliases)),
    )
    for tier, (by_name, by_alias) in enumerate(checks):
        if by_name:
            return 2 * tier
        if by_alias:
            return 2 * tier + 1
    return None


_LinkKey = tuple[str, str, str]


@dataclass(slots=True)
class _GraphBank:
    entities: dict[str, Entity] = field(default_factory=dict)
    links: dict[_LinkKey, EntityLink] = field(default_factory=dict)
    incident: dict[str, set[_LinkKey]] = field(default_factory=dict)  # entity -> keys of its links
    mentions: dict[str, dict[str, None]] = field(default_factory=dict)  # entity -> memories (ordered set)
    memories: dict[str, dict[str, None]] = field(default_factory=dict)  # memory -> entities (ordered set)

    def neighbours(self, entity_id: str) -> Iterator[tuple[str, float]]:
        """Linked entities in either direction with the link weight clamped to (0, 1]."""
        for key in self.incident.get(entity_id, ()):
            weight = min(self.links[key].weight, 1.0)
            if weight > 0:
                yield (key[1] if key[0] == entity_id else key[0]), weight

    def knows(self, entity_id: str) -> bool:
        return entity_id in self.entities or entity_id in self.mentions or entity_id in self.incident

    def drop_entity(self, entity_id: str) -> None:
        self.entities.pop(entity_id, None)
        for key in self.incident.pop(entity_id, set()):
            self.links.pop(key, None)
            other = key[1] if key[0] == entity_id else key[0]
            if other in self.incident:
                self.incident[other].discard(key)


def _reach(bank: _GraphBank, start: Iterable[str], max_depth: int) -> dict[str, tuple[float, int]]:
    """Best ``(score, depth)`` per entity reachable from ``start`` within ``max_depth`` hops.

    A walk's strength is the product of its clamped link weights; an entity's score at depth ``d`` is
    ``strength / (1 + d)``, and the best over depths 0..max_depth wins (a strong 2-hop path may beat a
    weak 1-hop one). Layered relaxation keeps this O(max_depth x links).
    """
    frontier = {e: 1.0 for e in start if bank.knows(e)}
    best: dict[str, tuple[float, int]] = {}
    for depth in range(max_depth + 1):
        for entity_id, strength in frontier.items():
            score = strength / (1 + depth)
            if entity_id not in best or score > best[entity_id][0]:
                best[entity_id] = (score, depth)
        if depth == max_depth:
            break
        following: dict[str, float] = {}
        for entity_id, strength in frontier.items():
            for other, weight in bank.neighbours(entity_id):
                following[other] = max(following.get(other, 0.0), strength * weight)
        frontier = following
    return best


class InMemoryGraphStore(_Lifecycle):
    """Entities, links and memory mentions in dictionaries.

    ``query_neighbors`` scoring: a memory mentioning a query entity scores 1.0 (depth 0). Links are
    traversed in both directions; each hop multiplies the path strength by the link weight clamped to
    ``(0, 1]`` (links with weight <= 0 are not traversed), and an entity reached at depth ``d`` scores
    ``strength / (1 + d)``. A memory takes the best score over the entities it mentions (ties: smaller
    depth, then more reached entities mentioned, then id). Forgotten memories take their associations
    with them; entities left with no memory are dropped together with their links.
    """

    SPI_VERSION: ClassVar[int] = 1
    _kind = "graph"

    def __init__(self, **options: object) -> None:
        super().__init__()
        _reject_unknown_options("graph_store", options)
        self._banks: dict[str, _GraphBank] = {}

    def _clear(self) -> None:
        self._banks.clear()

    def _bank(self, bank_id: str) -> _GraphBank:
        return self._banks.setdefault(bank_id, _GraphBank())

    async def store_entities(self, entities: list[Entity], bank_id: str) -> list[str]:
        self._check_open()
        if not entities:
            return []
        bank = self._bank(bank_id)
        for entity in entities:
            old = bank.entities.get(entity.id)
            fresh = entity.model_copy(deep=True)
            bank.entities[entity.id] = fresh if old is None else _merge_entity(old, fresh)
        return [e.id for e in entities]

    async def store_links(self, links: list[EntityLink], bank_id: str) -> int:
        self._check_open()
        if not links:
            return 0
        bank = self._bank(bank_id)
        written: set[_LinkKey] = set()
        for link in links:
            key = (link.source_id, link.target_id, link.relation)
            bank.links[key] = link.model_copy(deep=True)
            bank.incident.setdefault(link.source_id, set()).add(key)
            bank.incident.setdefault(link.target_id, set()).add(key)
            written.add(key)
        return len(written)

    async def link_memories_to_entities(
        self, associations: list[MemoryEntityAssociation], bank_id: str
    ) -> int:
        self._check_open()
        if not associations:
            return 0
        bank = self._bank(bank_id)
        new = 0
        for assoc in associations:
            mentioned = bank.memories.setdefault(assoc.memory_id, {})
            if assoc.entity_id in mentioned:
                continue
            mentioned[assoc.entity_id] = None
            bank.mentions.setdefault(assoc.entity_id, {})[assoc.memory_id] = None
            new += 1
        return new

    async def query_neighbors(
        self, entity_ids: list[str], bank_id: str, max_depth: int = 2, limit: int = 20
    ) -> list[GraphHit]:
        self._check_open()
        _check_limit(limit)
        _check_limit(max_depth, "max_depth")
        bank = self._banks.get(bank_id)
        if bank is None or limit == 0:
            return []
        # memory -> (score, depth, entity, how many reached entities it mentions)
        found: dict[str, tuple[float, int, str, int]] = {}
        for entity_id, (score, depth) in _reach(bank, entity_ids, max_depth).items():
            for memory_id in bank.mentions.get(entity_id, {}):
                prior = found.get(memory_id)
                if prior is None:
                    found[memory_id] = (score, depth, entity_id, 1)
                elif (score, -depth) > (prior[0], -prior[1]):
                    found[memory_id] = (score, depth, entity_id, prior[3] + 1)
                else:
                    found[memory_id] = (*prior[:3], prior[3] + 1)
        best = heapq.nsmallest(limit, found.items(), key=lambda kv: (-kv[1][0], kv[1][1], -kv[1][3], kv[0]))
        return [
            GraphHit(memory_id=memory_id, entity_id=entity_id, depth=depth, score=score)
            for memory_id, (score, depth, entity_id, _) in best
        ]

    async def query_entities(self, query: str, bank_id: str, limit: int = 10) -> list[Entity]:
        """Exact name/alias matches first, then prefix, then substring (all case-insensitive)."""
        self._check_open()
        _check_limit(limit)
        bank = self._banks.get(bank_id)
        needle = _fold(query)
        if bank is None or not needle or limit == 0:
            return []
        ranked: list[tuple[int, str, str, Entity]] = []
        for entity in bank.entities.values():
            rank = _entity_match_rank(entity, needle)
            if rank is not None:
                ranked.append((rank, _fold(entity.name), entity.id, entity))
        return [e.model_copy(deep=True) for *_, e in heapq.nsmallest(limit, ranked, key=lambda r: r[:3])]

    async def delete_memories(self, memory_ids: list[str], bank_id: str) -> int:
        """Drop the memories' associations; return how many of them the graph knew."""
        self._check_open()
        bank = self._banks.get(bank_id)
        if bank is None:
            return 0
        count = 0
        for memory_id in dict.fromkeys(memory_ids):
            mentioned = bank.memories.pop(memory_id, None)
            if mentioned is None:
                continue
            count += 1
            for entity_id in mentioned:
                holders = bank.mentions.get(entity_id, {})
                holders.pop(memory_id, None)
                if not holders:
                    bank.mentions.pop(entity_id, None)
                    bank.drop_entity(entity_id)
        return count

    async def health(self) -> HealthStatus:
        if self._closed:
            return HealthStatus(healthy=False, message="in-memory graph store is closed")
        entities = sum(len(b.entities) for b in self._banks.values())
        return HealthStatus(
            healthy=True, message="in-memory", details={"banks": len(self._banks), "entities": entities}
        )


# --------------------------------------------------------------------------- document store

#: BM25 parameters (the usual Lucene/Okapi defaults).
_K1 = 1.2
_B = 0.75


@dataclass(slots=True)
class _DocEntry:
    document: Document
    seq: int  # insertion order, breaks score ties deterministically
    length: int
    terms: dict[str, int]


@dataclass(slots=True)
class _DocBank:
    docs: dict[str, _DocEntry] = field(default_factory=dict)
    postings: dict[str, dict[str, int]] = field(default_factory=dict)  # term -> doc id -> tf
    total_length: int = 0
    next_seq: int = 0
    _order: list[str] | None = None  # ids in retain order, rebuilt lazily after a write
    _position: dict[str, int] = field(default_factory=dict)  # id -> index in _order

    def remove(self, doc_id: str) -> bool:
        entry = self.docs.pop(doc_id, None)
        if entry is None:
            return False
        self._order = None
        self.total_length -= entry.length
        for term in entry.terms:
            posting = self.postings[term]
            del posting[doc_id]
            if not posting:
                del self.postings[term]
        return True

    def add(self, document: Document) -> None:
        tokens = tokenize(document.text)
        terms: dict[str, int] = {}
        for token in tokens:
            terms[token] = terms.get(token, 0) + 1
        prior = self.docs.get(document.id)
        seq = prior.seq if prior is not None else self.next_seq
        self.next_seq += prior is None
        self.remove(document.id)
        self._order = None
        self.docs[document.id] = _DocEntry(document, seq, len(tokens), terms)
        self.total_length += len(tokens)
        for term, tf in terms.items():
            self.postings.setdefault(term, {})[document.id] = tf

    def neighbors(self, doc_id: str, window: int) -> list[NeighborDocument]:
        """Up to ``window`` documents each side of ``doc_id`` in retain order (``[]`` if unknown)."""
        if doc_id not in self.docs:
            return []
        if self._order is None:
            self._order = sorted(self.docs, key=lambda i: self.docs[i].seq)
            self._position = {doc: index for index, doc in enumerate(self._order)}
        order = self._order
        position = self._position[doc_id]
        return [
            NeighborDocument(
                offset=index - position, document=self.docs[order[index]].document.model_copy(deep=True)
            )
            for index in range(max(0, position - window), min(len(order), position + window + 1))
            if index != position
        ]

    def bm25(self, query_terms: Iterable[str]) -> dict[str, float]:
        """Okapi BM25 with Lucene's non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``."""
        n = len(self.docs)
        avgdl = (self.total_length / n) or 1.0
        scores: dict[str, float] = {}
        for term in query_terms:
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log(1.0 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc_id, tf in posting.items():
                norm = _K1 * (1.0 - _B + _B * self.docs[doc_id].length / avgdl)
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * (_K1 + 1.0) / (tf + norm)
        return scores


def _doc_hit(document: Document, score: float) -> DocumentHit:
    return DocumentHit(
        id=document.id,
        text=document.text,
        score=score,
        metadata=_copy_metadata(document.metadata),
        tags=list(document.tags),
        occurred_at=document.occurred_at,
    )


class InMemoryDocumentStore(_Lifecycle):
    """BM25 (k1=1.2, b=0.75) over :func:`astrocyte.stores._text.tokenize` tokens, per bank.

    Repeated query terms count once; only documents containing a query term are returned, so a
    query of stopwords or punctuation alone yields ``[]``.
    """

    SPI_VERSION: ClassVar[int] = 1
    _kind = "document"

    def __init__(self, **options: object) -> None:
        super().__init__()
        _reject_unknown_options("document_store", options)
        self._banks: dict[str, _DocBank] = {}

    def _clear(self) -> None:
        self._banks.clear()

    async def store_documents(self, documents: list[Document], bank_id: str) -> list[str]:
        self._check_open()
        if not documents:
            return []
        bank = self._banks.setdefault(bank_id, _DocBank())
        for document in documents:
            bank.add(document.model_copy(deep=True))
        return [d.id for d in documents]

    async def store_document(self, document: Document, bank_id: str) -> str:
        """Single-document convenience over :meth:`store_documents`."""
        return (await self.store_documents([document], bank_id))[0]

    async def search_fulltext(
        self, query: str, bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[DocumentHit]:
        self._check_open()
        _check_limit(limit)
        bank = self._banks.get(bank_id)
        if bank is None or limit == 0:
            return []
        scores = bank.bm25(dict.fromkeys(tokenize(query)))
        ranked: list[tuple[float, int, _DocEntry]] = []
        for doc_id, score in scores.items():
            entry = bank.docs[doc_id]
            doc = entry.document
            if matches_filters(filters, tags=doc.tags, metadata=doc.metadata, occurred_at=doc.occurred_at):
                ranked.append((-score, entry.seq, entry))
        best = heapq.nsmallest(limit, ranked, key=lambda r: r[:2])
        return [_doc_hit(entry.document, -neg) for neg, _, entry in best]

    async def get_document(self, document_id: str, bank_id: str) -> Document | None:
        self._check_open()
        bank = self._banks.get(bank_id)
        entry = bank.docs.get(document_id) if bank is not None else None
        return entry.document.model_copy(deep=True) if entry is not None else None

    async def get_documents(self, ids: list[str], bank_id: str) -> list[Document]:
        self._check_open()
        bank = self._banks.get(bank_id)
        if bank is None:
            return []
        return [bank.docs[i].document.model_copy(deep=True) for i in dict.fromkeys(ids) if i in bank.docs]

    async def get_neighbors(
        self, ids: list[str], bank_id: str, window: int = 1
    ) -> dict[str, list[NeighborDocument]]:
        self._check_open()
        bank = self._banks.get(bank_id)
        if bank is None or window < 1:
            return {}
        return {i: bank.neighbors(i, window) for i in dict.fromkeys(ids) if i in bank.docs}

    async def delete(self, ids: list[str], bank_id: str) -> int:
        self._check_open()
        bank = self._banks.get(bank_id)
        if bank is None:
            return 0
        count = sum(bank.remove(doc_id) for doc_id in dict.fromkeys(ids))
        if not bank.docs:
            del self._banks[bank_id]
        return count

    async def health(self) -> HealthStatus:
        if self._closed:
            return HealthStatus(healthy=False, message="in-memory document store is closed")
        docs = sum(len(b.docs) for b in self._banks.values())
        return HealthStatus(
            healthy=True, message="in-memory", details={"banks": len(self._banks), "documents": docs}
        )
