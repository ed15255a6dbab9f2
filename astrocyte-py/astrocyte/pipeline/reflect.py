"""Reflect: answer a question from memory, always citing the memories used.

With an ``llm_provider`` the answer is synthesised by the model from numbered memories (it cites them
as ``[n]``); without one, a deterministic extractive answer picks the sentences that best cover the
question's words, preferring higher-ranked memories.
"""

from __future__ import annotations

import re

from astrocyte.pipeline.chunking import split_sentences
from astrocyte.pipeline.tokens import count_tokens
from astrocyte.provider import LLMProvider
from astrocyte.stores._text import tokenize
from astrocyte.types import LLMMessage, MemoryHit, ReflectResult

__all__ = ["build_context", "extractive_answer", "llm_answer"]

_NO_MEMORY = "I have no memories relevant to that question."
_SYSTEM_PROMPT = (
    "You answer questions using only the numbered memories provided. Cite every memory you use as [n]. "
    "If the memories do not contain the answer, say so plainly."
)
_CITATION = re.compile(r"\[(\d+)\]")


def build_context(hits: list[MemoryHit], max_tokens: int) -> list[MemoryHit]:
    """The best hits that fit ``max_tokens`` (at least one, truncation happens upstream by rank)."""
    kept: list[MemoryHit] = []
    used = 0
    for hit in hits:
        cost = count_tokens(hit.text)
        if kept and used + cost > max_tokens:
            break
        kept.append(hit)
        used += cost
    return kept


def extractive_answer(question: str, hits: list[MemoryHit], max_sentences: int = 3) -> ReflectResult:
    if not hits:
        return ReflectResult(answer=_NO_MEMORY, synthesis="extractive")
    terms = set(tokenize(question))
    scored: list[tuple[float, int, int, str]] = []
    for rank, hit in enumerate(hits):
        for position, sentence in enumerate(split_sentences(hit.text) or [hit.text]):
            overlap = len(terms & set(tokenize(sentence)))
            # Coverage of the question dominates; rank and position break ties deterministically.
            score = overlap + 1.0 / (rank + 2)
            scored.append((score, rank, position, sentence))
    best = sorted(scored, key=lambda s: (-s[0], s[1], s[2]))[:max_sentences]
    best.sort(key=lambda s: (s[1], s[2]))  # read in memory order
    cited = list(dict.fromkeys(hits[rank].memory_id for _, rank, _, _ in best))
    return ReflectResult(
        answer=" ".join(sentence for *_, sentence in best),
        cited_memory_ids=cited,
        sources=[h for h in hits if h.memory_id in cited],
        synthesis="extractive",
    )


async def llm_answer(
    question: str,
    hits: list[MemoryHit],
    llm: LLMProvider,
    max_tokens: int = 512,
    *,
    authority: str | None = None,
) -> ReflectResult:
    """``authority``: the recall-authority block (tiers of the numbered memories), given after them."""
    if not hits:
        return ReflectResult(answer=_NO_MEMORY, synthesis="llm")
    numbered = "\n".join(f"[{i}] {hit.text}" for i, hit in enumerate(hits, start=1))
    if authority:
        numbered = f"{numbered}\n\n{authority}"
    completion = await llm.complete(
        [
            LLMMessage(role="system", content=_SYSTEM_PROMPT),
            LLMMessage(role="user", content=f"Memories:\n{numbered}\n\nQuestion: {question}"),
        ],
        max_tokens=max_tokens,
    )
    indexes = [int(n) - 1 for n in _CITATION.findall(completion.text)]
    cited = list(dict.fromkeys(hits[i].memory_id for i in indexes if 0 <= i < len(hits)))
    return ReflectResult(
        answer=completion.text.strip(),
        cited_memory_ids=cited,
        sources=[h for h in hits if h.memory_id in cited],
        synthesis="llm",
    )
