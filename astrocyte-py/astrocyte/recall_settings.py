"""The ``recall_authority:`` and ``tiered_retrieval:`` sections of ``astrocyte.yaml``.

Two separate knobs, both off unless ``enabled: true``:

* ``recall_authority`` — which source is more trustworthy. Memories carry an ``authority_tier``
  (stamped at retain from ``tier_by_profile`` or ``tier_by_bank``); recall groups hits by tier and
  states the precedence rules; reflect may apply them (``apply_to_reflect``).
* ``tiered_retrieval`` — how much work recall spends. Tier 0 is a recall cache, tier 1 vector + full
  text, tier 2 graph expansion + proxy sources, tier 3 LLM query rewrite + rerank; recall stops at the
  first tier whose hits satisfy ``min_results`` / ``min_score``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from astrocyte._section import Section
from astrocyte.ingest.settings import effective_profiles

__all__ = [
    "AUTHORITY_TIER_KEY",
    "AuthorityTier",
    "RecallAuthorityConfig",
    "RecallCacheSettings",
    "TieredRetrievalConfig",
]

#: The metadata key retain stamps and recall reads.
AUTHORITY_TIER_KEY = "authority_tier"


class AuthorityTier(Section):
    """One level of trust; ``tiers`` lists them from most to least authoritative."""

    name: str = Field(min_length=1, max_length=64, description="Tier name stamped on memories.")
    description: str = Field(default="", description="What this tier holds (shown to the model).")


class RecallAuthorityConfig(Section):
    """Truth precedence between memory sources."""

    enabled: bool = Field(default=False, description="Stamp tiers at retain and build authority_context.")
    tiers: list[AuthorityTier] = Field(
        default_factory=list,
        description="Tiers from most to least authoritative (a name or {name, description}).",
    )
    tier_by_bank: dict[str, str] = Field(
        default_factory=dict,
        description="Bank glob → tier (first matching glob wins; proxy hits match 'proxy:<source id>').",
    )
    tier_by_profile: dict[str, str] = Field(
        default_factory=dict, description="Extraction profile → tier (wins over tier_by_bank)."
    )
    rules_inline: list[str] = Field(
        default_factory=list, description="Precedence rules stated to the model, one sentence each."
    )
    rules_path: str | None = Field(
        default=None, description="Text file of further precedence rules, one per line ('#' comments)."
    )
    apply_to_reflect: bool = Field(
        default=False, description="Reflect answers from the highest tier that covers the question."
    )

    @field_validator("tiers", mode="before")
    @classmethod
    def _names_as_tiers(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("rules_path")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no such file {value!r}; give an existing text file or use rules_inline")
        return value

    @model_validator(mode="after")
    def _tiers_known(self) -> Self:
        names = [tier.name for tier in self.tiers]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"tier names must be unique (repeated: {', '.join(duplicated)})")
        if self.enabled and not names:
            raise ValueError("an enabled recall_authority needs 'tiers' (most authoritative first)")
        for key in ("tier_by_bank", "tier_by_profile"):
            unknown = sorted({tier for tier in getattr(self, key).values() if tier not in names})
            if unknown:
                raise ValueError(
                    f"{key} names unknown tiers {unknown}; add them to 'tiers' (defined: {', '.join(names)})"
                )
        return self

    def rules(self) -> list[str]:
        """Inline rules followed by the non-blank, non-comment lines of ``rules_path``."""
        lines = list(self.rules_inline)
        if self.rules_path is not None:
            text = Path(self.rules_path).read_text(encoding="utf-8")
            lines += [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        return lines


def _check_profiles(config: RecallAuthorityConfig, info: ValidationInfo) -> RecallAuthorityConfig:
    """``tier_by_profile`` must name built-in or configured extraction profiles."""
    known = sorted(effective_profiles(info.data.get("extraction_profiles") or {}))
    unknown = sorted(set(config.tier_by_profile) - set(known))
    if unknown:
        raise ValueError(
            f"tier_by_profile names unknown extraction profiles {unknown}; "
            f"define them under extraction_profiles or use one of: {', '.join(known)}"
        )
    return config


#: ``recall_authority:`` field type (declared after ``extraction_profiles`` so profiles can be checked).
RecallAuthority = Annotated[RecallAuthorityConfig, AfterValidator(_check_profiles)]


class RecallCacheSettings(Section):
    """Tier 0: recent recall results, dropped on any write or forget to one of their banks."""

    max_entries: int = Field(default=1024, ge=0, description="Cached recalls kept (0 disables the cache).")
    ttl_seconds: float = Field(
        default=300.0, gt=0, description="Age after which an entry is recomputed (bounds proxy staleness)."
    )


class TieredRetrievalConfig(Section):
    """Cost-tiered recall: escalate only until the hits are good enough."""

    enabled: bool = Field(
        default=False, description="Recall through tiers instead of every strategy at once."
    )
    min_results: int = Field(
        default=3, ge=1, description="Hits that must reach min_score for a tier to be sufficient."
    )
    min_score: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Agreement of the tier's strategies on a hit: weighted rank prior summed over the "
        "strategies that found it / all strategies' weights (1.0 = ranked first by every strategy).",
    )
    max_tier: int = Field(default=3, ge=1, le=3, description="Highest tier recall may escalate to.")
    cache: RecallCacheSettings = Field(default_factory=RecallCacheSettings)
