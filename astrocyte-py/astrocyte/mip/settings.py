"""The ``mip:`` section of ``astrocyte.yaml`` and the rules of a ``mip.yaml`` file.

A rule matches a request on its operation, content type, tags, metadata, principal, agent, requested
bank or query, and then routes it (``retain_to`` banks, ``recall_from`` banks, strategy weights) or
denies it. Rules are evaluated in order; the first that matches and acts on the operation wins.

``mip.yaml``::

    rules:
      - name: tickets-to-support
        when: {content_type: [email], tags_any: [ticket]}
        retain_to: ["{bank_id}", support]
      - name: no-bots-in-hr
        when: {agent: ["*"], bank: [hr-*]}
        deny: agents may not touch HR memory
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import Field, PrivateAttr, TypeAdapter, ValidationError, field_validator, model_validator

from astrocyte._section import Section
from astrocyte.types import ContentType

__all__ = ["BANK_TEMPLATE_FIELDS", "MipConfig", "MipMatch", "MipRule", "Operation"]

Operation = Literal["retain", "recall"]
#: Placeholders a bank template may use.
BANK_TEMPLATE_FIELDS = frozenset({"bank_id", "principal", "agent"})
# The recall strategies (astrocyte.config.RECALL_STRATEGIES; not imported: config imports this module).
_STRATEGIES = ("vector", "fulltext", "graph", "temporal")
_Scalar = str | int | float | bool | None


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class MipMatch(Section):
    """Conditions that must all hold (an omitted condition always holds). Lists mean "any of";
    ``principal``, ``agent``, ``bank`` and string ``metadata`` values are globs."""

    operation: list[Operation] | None = None
    content_type: list[ContentType] | None = Field(default=None, description="Retain only.")
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    metadata: dict[str, _Scalar] | None = Field(default=None, description="Retain only; key → value/glob.")
    principal: list[str] | None = None
    agent: list[str] | None = Field(default=None, description="Glob on the agent id of the caller.")
    bank: list[str] | None = Field(default=None, description="Glob on the requested bank.")
    query_matches: str | None = Field(default=None, description="Regex searched in a recall query.")

    @field_validator(
        "operation", "content_type", "tags_any", "tags_all", "principal", "agent", "bank", mode="before"
    )
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return _as_list(value)

    @field_validator("query_matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value


class MipRule(Section):
    """One routing rule: conditions (``when``) and what to do (route or deny)."""

    name: str = Field(min_length=1, max_length=128)
    when: MipMatch = Field(default_factory=MipMatch)
    deny: str | None = Field(default=None, min_length=1, description="Refuse the request with this reason.")
    retain_to: list[str] | None = Field(
        default=None, description="Banks a retain is written to (fan-out); {bank_id}, {principal}, {agent}."
    )
    recall_from: list[str] | None = Field(default=None, description="Bank set a recall searches.")
    strategies: dict[str, float] | None = Field(default=None, description="Recall strategy weights.")

    @field_validator("retain_to", "recall_from")
    @classmethod
    def _templates(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("give at least one bank")
        for template in value:
            try:
                fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
            except ValueError as exc:
                raise ValueError(f"invalid bank template {template!r}: {exc}") from None
            unknown = sorted(fields - BANK_TEMPLATE_FIELDS)
            if unknown:
                raise ValueError(
                    f"bank template {template!r} uses {unknown}; allowed: "
                    + ", ".join("{" + name + "}" for name in sorted(BANK_TEMPLATE_FIELDS))
                )
        return list(dict.fromkeys(value))

    @field_validator("strategies")
    @classmethod
    def _known_strategies(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        unknown = sorted(set(value) - set(_STRATEGIES))
        if unknown:
            raise ValueError(f"unknown strategies {unknown} (valid: {', '.join(_STRATEGIES)})")
        if any(weight < 0 for weight in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return value

    @model_validator(mode="after")
    def _acts(self) -> Self:
        routes = [key for key in ("retain_to", "recall_from", "strategies") if getattr(self, key) is not None]
        if self.deny is not None and routes:
            raise ValueError(f"rule {self.name!r}: a deny rule cannot also route ({', '.join(routes)})")
        if self.deny is None and not routes:
            raise ValueError(
                f"rule {self.name!r} does nothing: give deny, retain_to, recall_from or strategies"
            )
        return self

    def acts_on(self, operation: Operation) -> bool:
        """Whether this rule has an effect on ``operation`` (a deny acts on both)."""
        if self.deny is not None:
            return True
        if operation == "retain":
            return self.retain_to is not None
        return self.recall_from is not None or self.strategies is not None


_RULES = TypeAdapter(list[MipRule])
_UNKNOWN_KEY = (
    "unknown key (rule keys: name, when, deny, retain_to, recall_from, strategies; when keys: "
    + ", ".join(MipMatch.model_fields)
    + ")"
)


def _location(loc: tuple[int | str, ...]) -> str:
    path = "rules"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _load_rules(path: str) -> list[MipRule]:
    """The rules of a ``mip.yaml`` file; every problem names the file and the rule's key path."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError(f"{path}: expected a mapping with a 'rules' list at the top level")
    extra = sorted(set(data) - {"rules", "version"})
    if extra:
        raise ValueError(f"{path}: unknown top-level keys {extra} (valid: rules, version)")
    try:
        return _RULES.validate_python(data["rules"])
    except ValidationError as exc:
        lines = [
            f"{_location(tuple(e['loc']))}: "
            + (
                _UNKNOWN_KEY
                if e["type"] == "extra_forbidden"
                else str(e["msg"]).removeprefix("Value error, ")
            )
            for e in exc.errors(include_url=False)
        ]
        raise ValueError(f"{path}: " + "; ".join(lines)) from None


class MipConfig(Section):
    """Memory intent protocol: route retains and recalls by rule (``rules`` inline or ``rules_path``)."""

    enabled: bool = Field(
        default=False, description="Evaluate the rules on every retain, recall and reflect."
    )
    rules_path: str | None = Field(default=None, description="A mip.yaml file holding the rules.")
    rules: list[MipRule] = Field(default_factory=list, description="Rules given inline.")
    _file_rules: list[MipRule] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.rules_path is not None and self.rules:
            raise ValueError("give rules inline or in rules_path, not both")
        if self.rules_path is not None:
            self._file_rules = _load_rules(self.rules_path)
        names = [rule.name for rule in self.effective_rules()]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique (repeated: {', '.join(repeated)})")
        if self.enabled and not names:
            raise ValueError("an enabled mip needs rules (inline 'rules' or 'rules_path')")
        return self

    def effective_rules(self) -> list[MipRule]:
        """The rules in evaluation order."""
        return self._file_rules or self.rules
