"""The ``extraction_profiles:`` and ``sources:`` sections of ``astrocyte.yaml``.

An extraction profile tunes how retain treats one kind of content (chunking, entity extraction,
content type) and how fields of an inbound message become metadata and tags. ``builtin_text`` and
``builtin_conversation`` always exist; a configured profile of the same name is laid over the
built-in field by field.

A source is one inbound connector (``webhook``, ``stream``, ``poll``) or a federated ``proxy`` that
recall consults. Cross references (a source naming a missing profile) are checked at load time.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from astrocyte.ingest.jsonpath import JsonPath, JsonPathError
from astrocyte.pipeline.chunking import ChunkStrategy
from astrocyte.provider import SourceType
from astrocyte.types import ContentType

__all__ = [
    "BUILTIN_PROFILES",
    "ExtractionProfile",
    "ExtractionProfiles",
    "SourceConfig",
    "Sources",
    "TagRule",
    "effective_profiles",
]

_EntityMode = Literal["none", "rules", "llm"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_path(value: str) -> str:
    try:
        JsonPath.parse(value)
    except JsonPathError as exc:
        raise ValueError(str(exc)) from None
    return value


_Path = Annotated[str, AfterValidator(_check_path)]


class TagRule(_Section):
    """Add ``tag`` when a condition holds on the message field at ``path`` (or on the content).

    ``{value}`` in ``tag`` is replaced by the matched field value (``channel:{value}``).
    """

    tag: str = Field(min_length=1)
    path: _Path | None = Field(
        default=None, description="JSONPath of the field tested; omitted: the content."
    )
    equals: str | int | float | bool | None = Field(default=None, description="Field equals this value.")
    contains: str | None = Field(default=None, description="Case-insensitive substring of the value.")
    matches: str | None = Field(default=None, description="Regular expression searched in the value.")
    present: bool | None = Field(default=None, description="true: the field exists (any value).")

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> TagRule:
        given = [
            name
            for name in ("equals", "contains", "matches", "present")
            if name in self.model_fields_set and getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("a tag rule needs exactly one condition: equals, contains, matches or present")
        if self.present is not None and self.path is None:
            raise ValueError("'present' needs a 'path' to test")
        return self


class ExtractionProfile(_Section):
    """How retain treats one kind of content. Unset fields keep the ``retain:`` settings."""

    content_type: ContentType | None = Field(
        default=None, description="Content type used when the request does not set one."
    )
    chunk_strategy: ChunkStrategy | None = None
    max_chunk_size: int | None = Field(default=None, ge=16)
    chunk_overlap: int | None = Field(default=None, ge=0)
    entity_extraction: _EntityMode | None = None
    metadata_mapping: dict[str, _Path] = Field(
        default_factory=dict,
        description="Metadata key -> JSONPath into the inbound message ($.participant_name).",
    )
    tag_rules: list[TagRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ExtractionProfile:
        if (
            self.chunk_overlap is not None
            and self.max_chunk_size is not None
            and self.chunk_overlap >= self.max_chunk_size
        ):
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than max_chunk_size ({self.max_chunk_size})"
            )
        return self


#: Profiles every configuration has.
BUILTIN_PROFILES: dict[str, ExtractionProfile] = {
    "builtin_text": ExtractionProfile(
        content_type="text", chunk_strategy="sentence", entity_extraction="rules"
    ),
    "builtin_conversation": ExtractionProfile(
        content_type="conversation",
        chunk_strategy="dialogue",
        entity_extraction="rules",
        metadata_mapping={"participant": "$.participant_name", "session_id": "$.session_id"},
    ),
}


def effective_profiles(configured: Mapping[str, ExtractionProfile]) -> dict[str, ExtractionProfile]:
    """Built-ins merged with configured profiles (a configured field overrides the built-in's)."""
    merged = dict(BUILTIN_PROFILES)
    for name, profile in configured.items():
        base = merged.get(name)
        if base is None:
            merged[name] = profile
        else:
            overrides = {field: getattr(profile, field) for field in profile.model_fields_set}
            merged[name] = base.model_copy(update=overrides)
    return merged


class SourceConfig(_Section):
    """One entry of ``sources:`` (keyed by source id)."""

    type: SourceType
    driver: str | None = Field(
        default=None, min_length=1, description="Entry point in astrocyte.ingest_sources (stream, poll)."
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Keyword arguments of the driver's constructor."
    )
    target_bank: str | None = Field(default=None, min_length=1, description="Bank every message goes to.")
    target_bank_template: str | None = Field(
        default=None,
        min_length=1,
        description="Bank per message: {principal}, {source_id} or a top-level message field (user-{user_id}).",
    )
    extraction_profile: str | None = None
    content_path: _Path = Field(default="$.content", description="JSONPath of the text in a JSON message.")
    idempotency_path: _Path | None = Field(
        default=None, description="JSONPath of a message's own id; default: the transport's message id."
    )
    tags: list[str] = Field(default_factory=list, description="Tags added to every memory of this source.")
    max_attempts: int = Field(default=5, ge=1, description="Deliveries before a message is dead-lettered.")
    error_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures after which the source is reported degraded."
    )
    # webhook
    secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key, 16+ characters (webhook).")
    signature_header: str = "X-Astrocyte-Signature"
    timestamp_header: str = "X-Astrocyte-Timestamp"
    replay_window_seconds: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # proxy
    url: str | None = Field(default=None, description="Proxy URL template with {query}.")
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    results_path: _Path = Field(default="$.hits", description="JSONPath of the hit list in a proxy answer.")

    @field_validator("target_bank_template")
    @classmethod
    def _template_parses(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"invalid template {value!r}: {exc}") from None
        if not fields:
            raise ValueError(f"template {value!r} has no {{field}}; use target_bank for a fixed bank")
        bad = [name for name in fields if not name.isidentifier()]
        if bad:
            raise ValueError(f"template fields must be plain names, got {bad}")
        return value

    @model_validator(mode="after")
    def _fits_type(self) -> SourceConfig:
        problems = _type_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _type_problems(source: SourceConfig) -> list[str]:
    problems: list[str] = []
    if source.type in ("stream", "poll") and source.driver is None:
        problems.append(f"a {source.type} source needs 'driver' (an installed astrocyte.ingest_sources name)")
    if source.type == "webhook" and (source.secret is None or len(source.secret.get_secret_value()) < 16):
        problems.append("a webhook source needs 'secret' of at least 16 characters (use ${ENV_VAR})")
    if source.type == "proxy":
        if source.url is None or "{query}" not in source.url:
            problems.append("a proxy source needs 'url' containing {query}")
        if source.target_bank is None:
            problems.append("a proxy source needs 'target_bank' (the bank whose recalls consult it)")
    elif (source.target_bank is None) == (source.target_bank_template is None):
        problems.append("give exactly one of 'target_bank' or 'target_bank_template'")
    return problems


def _check_references(sources: dict[str, SourceConfig], info: ValidationInfo) -> dict[str, SourceConfig]:
    """Every source's ``extraction_profile`` must name a built-in or configured profile."""
    configured = info.data.get("extraction_profiles") or {}
    known = sorted(effective_profiles(configured))
    for source_id, source in sources.items():
        if source.extraction_profile is not None and source.extraction_profile not in known:
            raise ValueError(
                f"source {source_id!r} names unknown extraction_profile {source.extraction_profile!r} — "
                f"define it under extraction_profiles or use one of: {', '.join(known)}"
            )
    return sources


def _check_ids(value: dict[str, object]) -> dict[str, object]:
    for key in value:
        if not key or not key.strip() or len(key) > 128:
            raise ValueError(f"ids must be 1-128 non-blank characters, got {key!r}")
    return value


#: ``extraction_profiles:`` field type of :class:`~astrocyte.config.AstrocyteConfig`.
ExtractionProfiles = Annotated[dict[str, ExtractionProfile], AfterValidator(_check_ids)]
#: ``sources:`` field type (declare it after ``extraction_profiles`` so references can be checked).
Sources = Annotated[dict[str, SourceConfig], AfterValidator(_check_ids), AfterValidator(_check_references)]
