"""LoCoMo evidence-retrieval benchmark (no LLM; deterministic for a fixed embedder).

Protocol (``shared/benchmarks/locomo/README.md``): every turn of a conversation is retained as one
memory in that conversation's bank, with its speaker, session date and ``dia_id``; for every question
of categories 1–4 the top k memories are recalled and scored by evidence recall@k =
|evidence ∩ dia_ids of the top k| / |evidence|, averaged over questions, plus MRR of the first
evidence hit. The full pipeline is run beside BM25-only and vector-only baselines in one run.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from astrocyte._facade import Astrocyte
from astrocyte.errors import InvalidRequestError
from astrocyte.types import RetainRequest

__all__ = [
    "CATEGORY_NAMES",
    "Conversation",
    "LocomoReport",
    "Question",
    "load_locomo",
    "normalize_evidence",
    "run_locomo",
]

CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
_DATE_FORMATS = ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y")


@dataclass(frozen=True, slots=True)
class Turn:
    dia_id: str
    speaker: str
    text: str
    session: int
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Question:
    question: str
    evidence: tuple[str, ...]
    category: int


@dataclass(slots=True)
class Conversation:
    sample_id: str
    turns: list[Turn]
    questions: list[Question]
    skipped_questions: int = 0

    @property
    def last_time(self) -> datetime:
        return max(t.occurred_at for t in self.turns)


def _parse_session_date(raw: str) -> datetime:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidRequestError(f"unrecognised session date {raw!r}", field="session_date_time")


def normalize_evidence(raw: Sequence[str], known: set[str]) -> tuple[str, ...]:
    """Split ``"D8:6; D9:17"``, repair ``"D:11:26"`` → ``"D11:26"``, drop ids naming no turn."""
    ids: list[str] = []
    for entry in raw:
        for piece in str(entry).split(";"):
            piece = piece.strip()
            piece = re.sub(r"^D:(\d+):(\d+)$", r"D\1:\2", piece)
            if piece in known and piece not in ids:
                ids.append(piece)
    return tuple(ids)


def _turn_text(turn: Mapping[str, Any]) -> str:
    text = str(turn.get("text", "")).strip()
    caption = turn.get("blip_caption")
    if caption:
        text = f"{text} [shares a photo: {caption}]".strip()
    return text


def load_locomo(path: str | Path) -> list[Conversation]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    conversations: list[Conversation] = []
    for sample in data:
        conv = sample["conversation"]
        turns: list[Turn] = []
        sessions = sorted(
            int(m.group(1)) for key in conv if (m := re.fullmatch(r"session_(\d+)", key)) and conv[key]
        )
        for number in sessions:
            start = _parse_session_date(conv[f"session_{number}_date_time"])
            for index, turn in enumerate(conv[f"session_{number}"]):
                # Turns of a session share its date; a second per turn keeps their order.
                when = start + timedelta(seconds=index)
                turns.append(Turn(turn["dia_id"], turn["speaker"], _turn_text(turn), number, when))
        known = {t.dia_id for t in turns}
        questions: list[Question] = []
        skipped = 0
        for qa in sample["qa"]:
            category = int(qa.get("category", 0))
            if category not in CATEGORY_NAMES:
                continue
            evidence = normalize_evidence(qa.get("evidence", []), known)
            if not evidence:
                skipped += 1
                continue
            questions.append(Question(str(qa["question"]), evidence, category))
        conversations.append(Conversation(sample["sample_id"], turns, questions, skipped))
    return conversations


@dataclass(slots=True)
class _Scores:
    recall: dict[int, list[float]] = field(default_factory=dict)
    reciprocal_ranks: list[float] = field(default_factory=list)
    by_category: dict[int, dict[int, list[float]]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    last_tier: dict[int, int] = field(default_factory=dict)  # tiered retrieval: where recall stopped

    def add(self, category: int, evidence: Sequence[str], ranked: Sequence[str], ks: Sequence[int]) -> None:
        wanted = set(evidence)
        for k in ks:
            value = len(wanted & set(ranked[:k])) / len(wanted)
            self.recall.setdefault(k, []).append(value)
            self.by_category.setdefault(category, {}).setdefault(k, []).append(value)
        first = next((i for i, dia in enumerate(ranked, start=1) if dia in wanted), None)
        self.reciprocal_ranks.append(1.0 / first if first else 0.0)


@dataclass(slots=True)
class LocomoReport:
    ks: list[int]
    questions: int
    skipped_questions: int
    memories: int
    retain_seconds: float
    variants: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "ks": self.ks,
            "questions": self.questions,
            "skipped_questions": self.skipped_questions,
            "memories": self.memories,
            "retain_seconds": round(self.retain_seconds, 3),
            "retain_memories_per_second": round(self.memories / self.retain_seconds, 1)
            if self.retain_seconds
            else None,
            "variants": self.variants,
        }


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summarise(scores: _Scores) -> dict[str, Any]:
    return {
        "recall": {str(k): round(statistics.fmean(v), 4) for k, v in scores.recall.items()},
        "mrr": round(statistics.fmean(scores.reciprocal_ranks), 4) if scores.reciprocal_ranks else 0.0,
        "by_category": {
            f"{c} {CATEGORY_NAMES[c]}": {str(k): round(statistics.fmean(v), 4) for k, v in per_k.items()}
            | {"n": len(next(iter(per_k.values())))}
            for c, per_k in sorted(scores.by_category.items())
        },
        "recall_ms_p50": round(statistics.median(scores.latencies_ms), 3) if scores.latencies_ms else 0.0,
        "recall_ms_p95": round(_percentile(scores.latencies_ms, 0.95), 3),
    } | (
        {"stopped_at_tier": {str(t): n for t, n in sorted(scores.last_tier.items())}}
        if scores.last_tier
        else {}
    )


#: Variant name → the strategies it restricts recall to (None = the configured full pipeline).
VARIANTS: dict[str, list[str] | None] = {"bm25": ["fulltext"], "vector": ["vector"], "astrocyte": None}


async def run_locomo(
    memory: Astrocyte,
    conversations: list[Conversation],
    *,
    ks: Sequence[int] = (1, 5, 10),
    bank_prefix: str = "locomo",
    variants: Mapping[str, list[str] | None] = VARIANTS,
    progress: Callable[[str, int], None] | None = None,
    twins: Mapping[str, Astrocyte] | None = None,
) -> LocomoReport:
    """Retain every conversation into its own bank, then score each variant on every question.

    ``twins`` are further variants: other facades over the same stores (e.g. tiered retrieval on),
    scored with their full configured pipeline in the same run."""
    max_k = max(ks)
    memories = 0
    retain_seconds = 0.0
    banks: dict[str, str] = {}
    for conv in conversations:
        bank = f"{bank_prefix}-{conv.sample_id}"
        banks[conv.sample_id] = bank
        await memory.forget(bank_id=bank, all=True)
        requests = [
            RetainRequest(
                content=f"{t.speaker}: {t.text}",
                bank_id=bank,
                content_type="conversation",
                metadata={"dia_id": t.dia_id, "session": t.session, "speaker": t.speaker},
                occurred_at=t.occurred_at,
            )
            for t in conv.turns
        ]
        started = time.perf_counter()
        for start in range(0, len(requests), 128):
            await memory.retain_many(requests[start : start + 128])
            if progress:
                progress("retain", min(128, len(requests) - start))
        retain_seconds += time.perf_counter() - started
        memories += len(requests)

    # Twins run interleaved with the full pipeline, question by question and in alternating order,
    # so a machine whose load drifts during the run cannot favour one of them.
    groups: list[list[tuple[str, Astrocyte, list[str] | None]]] = [
        [
            (name, memory, strategies),
            *(((t, twin, None) for t, twin in (twins or {}).items()) if strategies is None else ()),
        ]
        for name, strategies in variants.items()
    ]
    scores: dict[str, _Scores] = {}
    for group in groups:
        for conv in conversations:
            for index, question in enumerate(conv.questions):
                turn = index % len(group)
                for name, facade, strategies in group[turn:] + group[:turn]:
                    result = await facade.recall(
                        question.question,
                        bank_id=banks[conv.sample_id],
                        max_results=max_k,
                        strategies=strategies,
                        now=conv.last_time,
                    )
                    score = scores.setdefault(name, _Scores())
                    score.latencies_ms.append(result.trace.total_ms - result.trace.embedding_ms)
                    if result.trace.tiers:
                        last = result.trace.tiers[-1].tier
                        score.last_tier[last] = score.last_tier.get(last, 0) + 1
                    ranked = [str(h.metadata.get("dia_id")) for h in result.hits]
                    score.add(question.category, question.evidence, ranked, ks)
                    if progress:
                        progress(name, 1)
    results = {name: _summarise(score) for name, score in scores.items()}
    return LocomoReport(
        ks=list(ks),
        questions=sum(len(c.questions) for c in conversations),
        skipped_questions=sum(c.skipped_questions for c in conversations),
        memories=memories,
        retain_seconds=retain_seconds,
        variants=results,
    )
