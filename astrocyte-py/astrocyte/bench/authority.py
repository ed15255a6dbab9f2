"""Prompt-token cost of the recall-authority block handed to reflect (``apply_to_reflect``).

The block's size depends on the number of hits (one ``[n]`` each), the tiers and the rules, not on
the memory text; the relative cost depends on how long the memories are. Measured on real LoCoMo
turns with the token counter reflect budgets with (:func:`astrocyte.pipeline.tokens.count_tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from astrocyte.pipeline.tokens import count_tokens
from astrocyte.recall.authority import RecallAuthority
from astrocyte.recall_settings import RecallAuthorityConfig
from astrocyte.types import MemoryHit

__all__ = ["AuthorityCost", "measure_authority_tokens"]

_TIERS = (
    ("facts", "curated knowledge graph facts"),
    ("documents", "documents and proxied sources"),
    ("chat", "raw chat history"),
)
_RULE = "A fact from the knowledge graph overrides anything said in chat."
_QUESTION = "What did Caroline research after the support group meeting?"


@dataclass(frozen=True, slots=True)
class AuthorityCost:
    hits: int
    prompt_tokens: int  # the user message reflect sends: numbered memories + question
    block_tokens: int  # what the authority block adds

    @property
    def overhead(self) -> float:
        return self.block_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def measure_authority_tokens(
    texts: Sequence[str], sizes: Sequence[int] = (5, 10, 20, 50)
) -> list[AuthorityCost]:
    """The cost for the first ``n`` of ``texts`` as hits spread round-robin over three tiers."""
    authority = RecallAuthority(
        RecallAuthorityConfig.model_validate(
            {
                "enabled": True,
                "tiers": [{"name": name, "description": about} for name, about in _TIERS],
                "tier_by_bank": {f"{name}-*": name for name, _ in _TIERS},
                "rules_inline": [_RULE],
                "apply_to_reflect": True,
            }
        )
    )
    costs: list[AuthorityCost] = []
    for size in sorted({min(size, len(texts)) for size in sizes}):
        hits = [
            MemoryHit(memory_id=f"m{i}", bank_id=f"{_TIERS[i % 3][0]}-bank", text=text, score=1.0 / (i + 1))
            for i, text in enumerate(texts[:size])
        ]
        numbered = "\n".join(f"[{i}] {hit.text}" for i, hit in enumerate(hits, start=1))
        prompt = f"Memories:\n{numbered}\n\nQuestion: {_QUESTION}"
        block = authority.context(hits).text
        costs.append(AuthorityCost(len(hits), count_tokens(prompt), count_tokens(f"\n\n{block}")))
    return costs
