"""Recall authority: which memory source is more trustworthy when memories disagree.

Retain stamps ``metadata["authority_tier"]`` (an explicit valid tier in the request wins, then
``tier_by_profile``, then the first matching ``tier_by_bank`` glob). Recall groups the fused hits by
tier into an :class:`~astrocyte.types.AuthorityContext` whose ``text`` states the precedence rules;
reflect hands that block to the model (``apply_to_reflect``) or, without a model, answers from the
highest tier that covers the question.
"""

from __future__ import annotations

import fnmatch
import math

from astrocyte.errors import InvalidRequestError
from astrocyte.pipeline.chunking import split_sentences
from astrocyte.pipeline.reflect import extractive_answer
from astrocyte.recall_settings import AUTHORITY_TIER_KEY, RecallAuthorityConfig
from astrocyte.stores._text import tokenize
from astrocyte.types import AuthorityContext, AuthorityTierGroup, MemoryHit, ReflectResult, RetainRequest

__all__ = ["RecallAuthority"]

_HEADER = (
    "Authority of the memories, most trusted first. When memories conflict, the higher tier wins; "
    "use a lower tier only for what no higher tier says."
)
_UNRANKED = "untiered"


class RecallAuthority:
    """The ``recall_authority:`` settings applied to retain requests, recall hits and reflect."""

    def __init__(self, config: RecallAuthorityConfig) -> None:
        self._config = config
        self._rank = {tier.name: rank for rank, tier in enumerate(config.tiers, start=1)}
        self._rules = config.rules() if config.enabled else []

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    @property
    def applies_to_reflect(self) -> bool:
        return self._config.enabled and self._config.apply_to_reflect

    # ------------------------------------------------------------------ retain

    def stamp(self, request: RetainRequest) -> RetainRequest:
        """The request with its tier in ``metadata["authority_tier"]`` (unchanged when none applies)."""
        if not self.enabled:
            return request
        given = request.metadata.get(AUTHORITY_TIER_KEY)
        if given is not None:
            if given not in self._rank:
                raise InvalidRequestError(
                    f"unknown authority tier {given!r}; use one of {list(self._rank)} or leave it out",
                    field=f"metadata.{AUTHORITY_TIER_KEY}",
                )
            return request
        tier = self._config.tier_by_profile.get(request.extraction_profile or "") or self._bank_tier(
            request.bank_id
        )
        if tier is None:
            return request
        return request.model_copy(update={"metadata": {**request.metadata, AUTHORITY_TIER_KEY: tier}})

    def _bank_tier(self, bank_id: str) -> str | None:
        return next(
            (tier for glob, tier in self._config.tier_by_bank.items() if fnmatch.fnmatchcase(bank_id, glob)),
            None,
        )

    # ------------------------------------------------------------------ recall

    def tier_of(self, hit: MemoryHit) -> str | None:
        """A hit's tier: its stamp, else its bank's (proxy hits: bank ``proxy:<source id>``)."""
        stamped = hit.metadata.get(AUTHORITY_TIER_KEY)
        if isinstance(stamped, str) and stamped in self._rank:
            return stamped
        return self._bank_tier(hit.bank_id)

    def context(self, hits: list[MemoryHit]) -> AuthorityContext:
        """``hits`` grouped by tier (most trusted first), with the rules and the prompt block."""
        groups: dict[str | None, list[int]] = {}
        for position, hit in enumerate(hits, start=1):
            groups.setdefault(self.tier_of(hit), []).append(position)
        descriptions = {tier.name: tier.description for tier in self._config.tiers}
        ordered = sorted(groups, key=self._order)
        tiers = [
            AuthorityTierGroup(
                tier=tier,
                rank=index,
                description=descriptions.get(tier or "", ""),
                memory_ids=[hits[p - 1].memory_id for p in groups[tier]],
            )
            for index, tier in enumerate(ordered, start=1)
        ]
        lines = [_HEADER]
        for group, tier in zip(tiers, ordered, strict=True):
            label = group.tier or _UNRANKED
            about = f" ({group.description})" if group.description else ""
            cited = ", ".join(f"[{p}]" for p in groups[tier])
            lines.append(f"{group.rank}. {label}{about}: {cited}")
        if self._rules:
            lines.append("Rules:")
            lines += [f"- {rule}" for rule in self._rules]
        return AuthorityContext(tiers=tiers, rules=list(self._rules), text="\n".join(lines))

    def _order(self, tier: str | None) -> int:
        return self._rank.get(tier or "", len(self._rank) + 1)

    # ------------------------------------------------------------------ reflect

    def extractive_answer(self, question: str, hits: list[MemoryHit]) -> ReflectResult:
        """Answer from the most trusted tier whose best sentence covers at least half as many
        question terms as the best sentence of any tier; lower tiers are not quoted then."""
        if not hits:
            return extractive_answer(question, hits)
        terms = set(tokenize(question))
        coverage: dict[str | None, int] = {}
        for hit in hits:
            best = max(
                (len(terms & set(tokenize(s))) for s in split_sentences(hit.text) or [hit.text]), default=0
            )
            tier = self.tier_of(hit)
            coverage[tier] = max(coverage.get(tier, 0), best)
        needed = max(1, math.ceil(max(coverage.values()) / 2))
        for tier in sorted(coverage, key=self._order):
            if coverage[tier] >= needed:
                return extractive_answer(question, [h for h in hits if self.tier_of(h) == tier])
        return extractive_answer(question, hits)
