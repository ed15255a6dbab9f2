"""``astrocyte.yaml``: loading, ``${ENV}`` substitution, profiles and validation.

Config is data (YAML or JSON), never code. Every key is optional; an empty file (or no file at all)
gives a working embedded setup. Layers are deep-merged, later wins::

    compliance profile  →  profile  →  the user's file (after ${VAR} substitution)

When a later layer switches a backend (``vector_store: qdrant`` over a profile's ``sqlite``), the
earlier layer's ``vector_store_config`` is dropped so one backend's options never leak into another.

Every failure is a :class:`~astrocyte.errors.ConfigError` whose message names the key path
(``retain.max_chunk_size``) and, for misspelt keys, the nearest valid key.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Hashable, Mapping, Sequence
from datetime import date, datetime, time
from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import Literal, NamedTuple, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from astrocyte.access_settings import Agents, BankGrants, DeploymentSettings, IdentitySettings
from astrocyte.chat_proxy.settings import ChatProxySettings
from astrocyte.errors import ConfigError
from astrocyte.ingest.settings import ExtractionProfiles, Sources
from astrocyte.mip.settings import MipConfig
from astrocyte.policy.settings import PolicySettings
from astrocyte.recall_settings import RecallAuthority, RecallAuthorityConfig, TieredRetrievalConfig
from astrocyte.transport_config import OutboundTransportSettings

__all__ = [
    "BACKEND_KINDS",
    "CONFIG_FILE_NAMES",
    "PII_TYPES",
    "RECALL_STRATEGIES",
    "AstrocyteConfig",
    "BackendKind",
    "BackendSelection",
    "ChunkStrategy",
    "EntityExtraction",
    "HomeostasisSettings",
    "PiiAction",
    "PiiOverride",
    "PiiSettings",
    "PiiType",
    "RecallSettings",
    "RecallStrategy",
    "RetainSettings",
    "available_compliance_profiles",
    "available_profiles",
    "find_config_file",
    "load_config",
    "load_profile",
    "substitute_env",
]

ChunkStrategy = Literal["auto", "sentence", "paragraph", "dialogue", "fixed"]
EntityExtraction = Literal["none", "rules", "llm"]
RecallStrategy = Literal["vector", "fulltext", "graph", "temporal"]
PiiAction = Literal["off", "warn", "redact", "reject"]
PiiType = Literal["email", "phone", "credit_card", "iban", "ssn", "ip_address", "api_key"]
BackendKind = Literal["vector_store", "graph_store", "document_store", "embedding_provider", "llm_provider"]

RECALL_STRATEGIES: tuple[str, ...] = get_args(RecallStrategy)
PII_TYPES: tuple[str, ...] = get_args(PiiType)
#: Backend keys of the config, in the order the pipeline builds them; each has a ``<kind>_config``.
BACKEND_KINDS: tuple[BackendKind, ...] = get_args(BackendKind)
#: Files looked for in the working directory when ``load_config(None)`` is called.
CONFIG_FILE_NAMES: tuple[str, ...] = ("astrocyte.yaml", "astrocyte.yml", "astrocyte.json")

_PROFILE_PACKAGE = "astrocyte"
_PROFILE_DIR = "profiles"
_COMPLIANCE_DIR = "compliance"


def _default_strategy_weights() -> dict[str, float]:
    return {"vector": 1.0, "fulltext": 1.0, "graph": 0.3, "temporal": 0.3}


# --------------------------------------------------------------------------- settings models


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RetainSettings(_Section):
    """How ``retain`` turns content into memories."""

    chunk_strategy: ChunkStrategy = Field(
        default="auto",
        description="How content is split: auto picks by content type (conversation → dialogue, "
        "email/document → paragraph, otherwise sentence).",
    )
    max_chunk_size: int = Field(default=800, ge=16, description="Largest chunk, in characters.")
    chunk_overlap: int = Field(
        default=100, ge=0, description="Characters repeated between neighbouring chunks (fixed/sentence)."
    )
    dedup_threshold: float = Field(
        default=0.97,
        gt=0.0,
        le=1.0,
        description="Cosine similarity at or above which a new chunk is a duplicate of a stored memory "
        "and is skipped; 1.0 skips exact duplicates only.",
    )
    entity_extraction: EntityExtraction = Field(
        default="rules",
        description="none, rules (deterministic, offline) or llm (needs llm_provider; falls back to rules).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> RetainSettings:
        if self.chunk_overlap >= self.max_chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"max_chunk_size ({self.max_chunk_size})"
            )
        return self


class RecallSettings(_Section):
    """How ``recall`` retrieves and fuses candidates."""

    strategies: dict[str, float] = Field(
        default_factory=_default_strategy_weights,
        description="Weight of each retrieval strategy in reciprocal-rank fusion (vector, fulltext, graph, "
        "temporal). Keys not given keep their default weight; a weight of 0 disables a strategy.",
    )
    rrf_k: int = Field(default=60, ge=1, description="The k constant of reciprocal-rank fusion.")
    candidate_pool: int = Field(
        default=50, ge=1, description="Candidates each strategy contributes to fusion."
    )
    rerank: bool = Field(default=False, description="Run the configured reranker over fused hits.")
    fusion: Literal["score", "rrf"] = Field(
        default="score",
        description="How strategy rankings are combined: 'score' (min-max normalised scores blended "
        "with a rank prior, weighted) or 'rrf' (weighted reciprocal-rank fusion, ranks only).",
    )
    rank_blend: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Share of the rank prior in 'score' fusion (0 = scores only, 1 = ranks only).",
    )
    neighbor_window: int = Field(
        default=1,
        ge=0,
        description="Turns on each side of a top hit that receive part of its score (0 disables; "
        "needs a document store with neighbour lookup).",
    )
    neighbor_weight: float = Field(
        default=0.3,
        ge=0.0,
        description="Share of a hit's score lent to an adjacent turn (divided by distance).",
    )
    neighbor_seeds: int = Field(
        default=20, ge=1, description="How many top fused hits lend score to neighbours."
    )
    neighbor_max_gap_minutes: float = Field(
        default=60.0,
        gt=0.0,
        description="Adjacent memories further apart in time than this belong to another session: no spreading.",
    )
    speaker_boost: float = Field(
        default=0.2,
        ge=0.0,
        description="Score multiplier bonus for hits spoken by a participant the query names (0 disables).",
    )

    @field_validator("strategies", mode="before")
    @classmethod
    def _known_strategies(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value  # pydantic reports the type error
        problems = []
        for key in value:
            if key not in RECALL_STRATEGIES:
                problems.append(f"unknown strategy {key!r}{_did_you_mean(str(key), RECALL_STRATEGIES)}")
        if problems:
            raise ValueError("; ".join(problems) + f" (valid: {', '.join(RECALL_STRATEGIES)})")
        return {**_default_strategy_weights(), **value}

    @field_validator("strategies", mode="after")
    @classmethod
    def _weights_usable(cls, value: dict[str, float]) -> dict[str, float]:
        negative = sorted(name for name, weight in value.items() if weight < 0)
        if negative:
            raise ValueError(f"weights must be >= 0 (negative: {', '.join(negative)})")
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("at least one strategy needs a weight > 0")
        return value


class HomeostasisSettings(_Section):
    """Hard limits that keep recall and reflect inside a budget, whatever the caller asks."""

    max_recall_results: int = Field(default=50, ge=1, le=1000, description="Upper bound on hits per recall.")
    max_recall_tokens: int = Field(default=4000, ge=1, description="Upper bound on tokens of recalled text.")
    max_reflect_context_tokens: int = Field(
        default=3000, ge=1, description="Tokens of memory text handed to reflect synthesis."
    )


class PiiOverride(_Section):
    """PII settings for some banks or an extraction profile; unset keys inherit the ``pii:`` section."""

    action: PiiAction | None = None
    types: list[PiiType] | None = None


class PiiSettings(_Section):
    """The PII barrier applied to content before it reaches any store."""

    action: PiiAction = Field(
        default="off",
        description="off, warn (log only), redact (replace with [REDACTED:<type>]) or reject the request.",
    )
    types: list[PiiType] = Field(
        default_factory=lambda: list(get_args(PiiType)), description="Kinds of personal data to detect."
    )

    banks: dict[str, PiiOverride] = Field(default_factory=dict, description="Bank glob → override.")
    profiles: dict[str, PiiOverride] = Field(
        default_factory=dict, description="Extraction profile → override."
    )

    @field_validator("types", mode="after")
    @classmethod
    def _dedupe(cls, value: list[PiiType]) -> list[PiiType]:
        return list(dict.fromkeys(value))


class BackendSelection(NamedTuple):
    """A configured backend: its entry-point name and the keyword arguments for its constructor."""

    name: str
    config: dict[str, JsonValue]


class AstrocyteConfig(_Section):
    """The whole ``astrocyte.yaml``. Build it with :func:`load_config` so profiles are applied."""

    profile: str | None = Field(
        default=None, description="Built-in profile merged under this file: default, minimal, conversational."
    )
    compliance_profile: str | None = Field(
        default=None,
        description="Compliance profile merged first: gdpr, hipaa or pdpa (sets the PII barrier).",
    )
    vector_store: str = Field(
        default="sqlite", min_length=1, description="Entry point in astrocyte.vector_stores."
    )
    vector_store_config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Keyword arguments of the vector store's constructor."
    )
    graph_store: str | None = Field(
        default="sqlite",
        min_length=1,
        description="Entry point in astrocyte.graph_stores; null disables graph recall.",
    )
    graph_store_config: dict[str, JsonValue] = Field(default_factory=dict)
    document_store: str | None = Field(
        default="sqlite",
        min_length=1,
        description="Entry point in astrocyte.document_stores; null disables full-text recall.",
    )
    document_store_config: dict[str, JsonValue] = Field(default_factory=dict)
    embedding_provider: str = Field(
        default="hashing", min_length=1, description="Entry point in astrocyte.embedding_providers."
    )
    embedding_provider_config: dict[str, JsonValue] = Field(default_factory=dict)
    llm_provider: str | None = Field(
        default=None, min_length=1, description="Entry point in astrocyte.llm_providers; null = no LLM."
    )
    llm_provider_config: dict[str, JsonValue] = Field(default_factory=dict)
    retain: RetainSettings = Field(default_factory=RetainSettings)
    recall: RecallSettings = Field(default_factory=RecallSettings)
    homeostasis: HomeostasisSettings = Field(default_factory=HomeostasisSettings)
    pii: PiiSettings = Field(default_factory=PiiSettings)
    outbound_transport: OutboundTransportSettings = Field(default_factory=OutboundTransportSettings)
    agents: Agents = Field(default_factory=dict, description="Agent name → principal, default/allowed banks.")
    banks: dict[str, BankGrants] = Field(default_factory=dict, description="Bank glob → owners, writers...")
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    extraction_profiles: ExtractionProfiles = Field(
        default_factory=dict,
        description="Named extraction profiles (merged over builtin_text, builtin_conversation).",
    )
    sources: Sources = Field(
        default_factory=dict,
        description="Ingest sources and recall proxies by id (after extraction_profiles: references are checked).",
    )
    # Three separate knobs, all off by default (issue 8): trust, routing, recall cost.
    recall_authority: RecallAuthority = Field(
        default_factory=RecallAuthorityConfig,
        description="Truth precedence: authority tiers stamped at retain, authority_context at recall.",
    )
    mip: MipConfig = Field(
        default_factory=MipConfig, description="Memory intent protocol: rules routing retain/recall to banks."
    )
    tiered_retrieval: TieredRetrievalConfig = Field(
        default_factory=TieredRetrievalConfig,
        description="Cost-tiered recall: cache, vector+fulltext, graph+proxies, LLM; stop when sufficient.",
    )
    chat_proxy: ChatProxySettings = Field(
        default_factory=ChatProxySettings, description="The memory-augmented chat proxy of the gateway."
    )
    gateway: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Settings of the standalone gateway (auth, CORS, limits); validated by astrocyte-gateway.",
    )

    @field_validator("profile", mode="after")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in available_profiles():
            raise ValueError(_unknown_profile_text(value, available_profiles()))
        return value

    @field_validator("compliance_profile", mode="after")
    @classmethod
    def _known_compliance_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in available_compliance_profiles():
            raise ValueError(_unknown_profile_text(value, available_compliance_profiles()))
        return value

    def backends(self) -> dict[BackendKind, BackendSelection]:
        """The enabled backends by kind (a disabled graph/document store or absent LLM is left out)."""
        selected: dict[BackendKind, BackendSelection] = {}
        for kind in BACKEND_KINDS:
            name = getattr(self, kind)
            if name is not None:
                selected[kind] = BackendSelection(name, dict(getattr(self, f"{kind}_config")))
        return selected


# --------------------------------------------------------------------------- profiles


def _profile_root(compliance: bool) -> Traversable:
    root = resources.files(_PROFILE_PACKAGE).joinpath(_PROFILE_DIR)
    return root.joinpath(_COMPLIANCE_DIR) if compliance else root


def _profile_names(compliance: bool) -> list[str]:
    root = _profile_root(compliance)
    return sorted(entry.name[: -len(".yaml")] for entry in root.iterdir() if entry.name.endswith(".yaml"))


def available_profiles() -> list[str]:
    """Names of the built-in profiles (``default``, ``minimal``, ``conversational``...)."""
    return _profile_names(compliance=False)


def available_compliance_profiles() -> list[str]:
    """Names of the built-in compliance profiles (``gdpr``, ``hipaa``, ``pdpa``...)."""
    return _profile_names(compliance=True)


def _unknown_profile_text(name: str, valid: list[str]) -> str:
    return f"unknown profile {name!r}{_did_you_mean(name, valid)} (valid: {', '.join(valid)})"


def load_profile(name: str, *, compliance: bool = False) -> dict[str, object]:
    """The raw data of a built-in (compliance) profile; unknown names raise :class:`ConfigError`."""
    valid = _profile_names(compliance)
    if name not in valid:
        key = "compliance_profile" if compliance else "profile"
        raise ConfigError(_unknown_profile_text(name, valid), key_path=key)
    resource = _profile_root(compliance).joinpath(f"{name}.yaml")
    data = _parse_yaml(resource.read_text(encoding="utf-8"), f"<profile {name}>")
    return data


# --------------------------------------------------------------------------- parsing


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, object]:
    loader.flatten_mapping(node)
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _require_mapping(data: object, label: str) -> dict[str, object]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _parse_yaml(text: str, label: str) -> dict[str, object]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{label}: YAML syntax error{where}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: YAML syntax error: {exc}") from exc
    return _require_mapping(data, label)


def _parse_json(text: str, label: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{label}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    return _require_mapping(data, label)


def _read_file(path: Path) -> tuple[dict[str, object], str]:
    """The file's data and the label errors should name it by."""
    label = str(path)
    if path.is_dir():
        found = find_config_file(path)
        if found is None:
            raise ConfigError(f"{label}: directory holds none of {', '.join(CONFIG_FILE_NAMES)}")
        path, label = found, str(found)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {label}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read config file ({exc.strerror or exc})") from exc
    if path.suffix.lower() == ".json":
        return _parse_json(text, label), label
    return _parse_yaml(text, label), label


def find_config_file(directory: str | PathLike[str] | None = None) -> Path | None:
    """The first of :data:`CONFIG_FILE_NAMES` present in ``directory`` (default: the working directory)."""
    base = Path.cwd() if directory is None else Path(directory)
    for name in CONFIG_FILE_NAMES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- ${VAR} substitution

_ENV_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<has_default>:-(?P<default>[^}]*))?\}|(?P<bad>\$\{[^}]*\}?)"
)


def _key_path(parent: str, key: object) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def _substitute_string(value: str, path: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("bad") is not None:
            raise ConfigError(
                f"malformed variable reference {match.group('bad')!r}",
                key_path=path or None,
                hint="use ${NAME} or ${NAME:-default}; write $$ for a literal $",
            )
        name = match.group("name")
        current = env.get(name)
        if match.group("has_default") is not None:
            return current if current else match.group("default")
        if current is None:
            raise ConfigError(
                f"environment variable {name!r} is not set",
                key_path=path or None,
                hint=f"export {name}=... or write ${{{name}:-default}}",
            )
        return current

    return _ENV_REFERENCE.sub(replace, value)


def substitute_env(data: object, env: Mapping[str, str] | None = None, *, path: str = "") -> object:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string value of ``data`` (keys are left alone).

    ``${VAR:-default}`` uses ``default`` when ``VAR`` is unset or empty; ``$$`` is a literal ``$``.
    Substituted values stay strings (typed settings coerce them, e.g. ``"800"`` → 800). YAML dates
    become ISO 8601 strings so the result is plain JSON data. A missing variable without a default
    raises :class:`ConfigError` naming it and the key path.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    if isinstance(data, str):
        return _substitute_string(data, path, environ)
    if isinstance(data, Mapping):
        return {key: substitute_env(value, environ, path=_key_path(path, key)) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [substitute_env(item, environ, path=_key_path(path, index)) for index, item in enumerate(data)]
    if isinstance(data, datetime | date | time):
        return data.isoformat()
    return data


# --------------------------------------------------------------------------- merging


def _deep_merge(base: Mapping[str, object], overlay: Mapping[str, object]) -> dict[str, object]:
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _merge_layer(base: Mapping[str, object], overlay: Mapping[str, object]) -> dict[str, object]:
    """Deep merge; a backend switched by ``overlay`` drops ``base``'s options for the old backend."""
    trimmed = dict(base)
    for kind in BACKEND_KINDS:
        if kind in overlay and kind in base and overlay[kind] != base[kind]:
            trimmed.pop(f"{kind}_config", None)
    return _deep_merge(trimmed, overlay)


def _selected_name(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"must be a profile name (a string), got {type(value).__name__}", key_path=key)


# --------------------------------------------------------------------------- validation errors


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" — did you mean {matches[0]!r}?" if matches else ""


def _dotted(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path = _key_path(path, part)
    return path


def _section_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = AstrocyteConfig
    parts = iter(loc)
    for part in parts:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if get_origin(annotation) is dict:  # a mapping of sections keyed by name (sources.<id>)
            annotation = get_args(annotation)[1]
            if next(parts, None) is None:
                return None
        elif get_origin(annotation) is list:  # a list of sections (mip.rules[0])
            annotation = get_args(annotation)[0]
            if next(parts, None) is None:
                return None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _unknown_key_line(loc: tuple[int | str, ...]) -> str:
    parent, key = loc[:-1], str(loc[-1])
    prefix = _dotted(parent)
    full = _key_path(prefix, key)
    model = _section_model(parent)
    valid = list(model.model_fields) if model is not None else []
    matches = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if matches:
        return f"unknown key {full!r} — did you mean {_key_path(prefix, matches[0])!r}?"
    where = f" in {prefix}" if prefix else ""
    return f"unknown key {full!r} (valid keys{where}: {', '.join(valid)})"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error_lines(exc: ValidationError) -> list[tuple[str, str]]:
    """One ``(dotted key path, message line)`` per pydantic error."""
    lines: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append((_dotted(loc), _unknown_key_line(loc)))
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        if error["type"] != "missing" and isinstance(value, str | int | float | bool):
            message = f"{message} (got {_short(value)})"
        lines.append((_dotted(loc), f"{_dotted(loc)}: {message}" if loc else message))
    return lines


def _validate(data: Mapping[str, object]) -> AstrocyteConfig:
    try:
        return AstrocyteConfig.model_validate(data)
    except ValidationError as exc:
        lines = _error_lines(exc)
        if len(lines) == 1:
            path, line = lines[0]
            error = ConfigError(line)
            error.key_path = path or None
            raise error from exc
        body = "\n".join(f"  - {line}" for _, line in lines)
        raise ConfigError(f"{len(lines)} configuration errors:\n{body}") from exc


def _relabel(exc: ConfigError, label: str) -> ConfigError:
    """The same error prefixed with the file it came from (``key_path``/``hint`` kept as attributes)."""
    relabelled = ConfigError(f"{label}: {exc}")
    relabelled.key_path, relabelled.hint = exc.key_path, exc.hint
    return relabelled


def _build(raw: Mapping[str, object], env: Mapping[str, str]) -> AstrocyteConfig:
    substituted = substitute_env(raw, env)
    assert isinstance(substituted, dict)  # a mapping in, a mapping out
    merged: dict[str, object] = {}
    compliance = _selected_name(substituted, "compliance_profile")
    if compliance is not None:
        merged = _merge_layer(merged, load_profile(compliance, compliance=True))
    profile = _selected_name(substituted, "profile")
    if profile is not None:
        merged = _merge_layer(merged, load_profile(profile))
    return _validate(_merge_layer(merged, substituted))


# --------------------------------------------------------------------------- entry point


def load_config(
    source: str | PathLike[str] | Mapping[str, object] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> AstrocyteConfig:
    """Load, substitute, merge with profiles and validate a configuration.

    ``source`` is a path to a YAML/JSON file (or a directory holding ``astrocyte.yaml``), an already
    parsed mapping, or ``None``: then ``$ASTROCYTE_CONFIG`` if set, else ``./astrocyte.yaml``,
    ``./astrocyte.yml``, ``./astrocyte.json``, else all defaults. ``env`` replaces ``os.environ`` for
    ``${VAR}`` substitution (and the ``ASTROCYTE_CONFIG`` lookup).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    raw: dict[str, object]
    label: str | None = None
    if source is None:
        explicit = environ.get("ASTROCYTE_CONFIG")
        path = Path(explicit) if explicit else find_config_file()
        raw, label = _read_file(path) if path is not None else ({}, None)
    elif isinstance(source, Mapping):
        raw = dict(source)
    else:
        raw, label = _read_file(Path(source))

    try:
        return _build(raw, environ)
    except ConfigError as exc:
        if label is None:
            raise
        raise _relabel(exc, label) from exc
