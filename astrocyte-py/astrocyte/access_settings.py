"""Config sections for identity and access control: ``agents:``, ``banks:``, ``identity:``, ``deployment:``.

Every section is optional; without them a config behaves exactly as before (library mode,
context-less calls allowed, the convention resolver). Mistakes that span keys inside a section
(an agent's default bank outside its allowed patterns, a resolver missing its rules, a standalone
deployment that would accept anonymous calls) fail at load time with the fix in the message.
"""

from __future__ import annotations

import fnmatch
import string
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, JsonValue, field_validator, model_validator

from astrocyte._section import Section
from astrocyte.identity import PERMISSIONS, Permission

__all__ = [
    "AgentSettings",
    "Agents",
    "BankGrants",
    "DeploymentMode",
    "DeploymentSettings",
    "IdentitySettings",
    "ResolverKind",
    "ResolverRule",
    "matches_any",
]

ResolverKind = Literal["convention", "config", "custom"]
DeploymentMode = Literal["library", "standalone", "plugin"]
_TEMPLATE_FIELDS = frozenset({"type", "id", "principal"})


def matches_any(value: str, patterns: list[str]) -> bool:
    """Whether ``value`` matches one of the glob ``patterns`` (``*``, ``?``, ``[...]``; case-sensitive)."""
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def _no_blank(values: list[str]) -> list[str]:
    if any(not value.strip() for value in values):
        raise ValueError("entries must be non-empty principals or patterns")
    return values


class AgentSettings(Section):
    """One agent under ``agents:`` (keyed by agent name)."""

    principal: str | None = Field(
        default=None, min_length=1, description="The agent's principal; defaults to 'agent:<name>'."
    )
    default_bank: str | None = Field(
        default=None, min_length=1, description="Bank used when the agent's calls name none."
    )
    allowed_banks: list[str] = Field(
        default_factory=list, description="Glob patterns of banks the agent may use ('support-*')."
    )
    permissions: list[Permission] = Field(
        default_factory=lambda: sorted(PERMISSIONS),
        description="What the agent may do on its allowed banks: read, write, forget.",
    )

    _patterns = field_validator("allowed_banks")(_no_blank)

    @model_validator(mode="after")
    def _default_bank_allowed(self) -> Self:
        if self.default_bank is not None and not matches_any(self.default_bank, self.allowed_banks):
            raise ValueError(
                f"default_bank {self.default_bank!r} is outside allowed_banks {self.allowed_banks}; "
                "add a matching pattern to allowed_banks or choose a default_bank it allows"
            )
        return self


class BankGrants(Section):
    """Who may use a bank (or every bank matching a glob) under ``banks:``. Owners may read, write and
    forget; writers may retain; readers may recall, reflect and list. Entries are principals or globs
    (``user:*``)."""

    owners: list[str] = Field(default_factory=list)
    writers: list[str] = Field(default_factory=list)
    readers: list[str] = Field(default_factory=list)

    _entries = field_validator("owners", "writers", "readers")(_no_blank)


class ResolverRule(Section):
    """``{principal: "user:*", bank: "tenant-{id}"}``: the bank of principals matching the glob."""

    principal: str = Field(min_length=1, description="Glob over principals ('user:*', 'agent:support-*').")
    bank: str = Field(min_length=1, description="Bank template; may use {type}, {id} and {principal}.")

    @field_validator("bank")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"malformed bank template {value!r}: {exc}") from exc
        unknown = names - _TEMPLATE_FIELDS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)} in {value!r}; use {{type}}, {{id}} or {{principal}}"
            )
        return value


class IdentitySettings(Section):
    """``identity:`` — how principals map to banks and whether delegation is accepted."""

    resolver: ResolverKind = Field(
        default="convention",
        description="convention (user:1 → user-1), config (identity.rules) or custom (an entry point "
        "in astrocyte.bank_resolvers named by identity.custom_resolver).",
    )
    rules: list[ResolverRule] = Field(default_factory=list, description="Rules of the config resolver.")
    custom_resolver: str | None = Field(default=None, min_length=1)
    custom_resolver_config: dict[str, JsonValue] = Field(default_factory=dict)
    obo_enabled: bool = Field(default=True, description="Accept on_behalf_of delegation in contexts.")
    own_bank_access: bool = Field(
        default=True,
        description="A principal owns the bank its resolver maps it to (user:1 may use user-1).",
    )

    @model_validator(mode="after")
    def _resolver_prerequisites(self) -> Self:
        if self.resolver == "config" and not self.rules:
            raise ValueError(
                "resolver 'config' needs identity.rules (e.g. [{principal: 'user:*', bank: 'user-{id}'}]) "
                "— add rules or use resolver: convention"
            )
        if self.resolver == "custom" and self.custom_resolver is None:
            raise ValueError(
                "resolver 'custom' needs identity.custom_resolver: the entry-point name in "
                "astrocyte.bank_resolvers"
            )
        if self.resolver != "custom" and self.custom_resolver is not None:
            raise ValueError(
                f"custom_resolver {self.custom_resolver!r} is ignored unless resolver is 'custom' "
                "— set resolver: custom or remove custom_resolver"
            )
        return self


class DeploymentSettings(Section):
    """``deployment:`` — where this Astrocyte runs, which decides whether calls need an identity."""

    mode: DeploymentMode = Field(
        default="library",
        description="library (in-process), standalone (the gateway; every call needs a context) or plugin.",
    )
    allow_anonymous: bool | None = Field(
        default=None,
        description="Accept calls without an AstrocyteContext (trusted, full access). Default: true in "
        "library and plugin mode; standalone mode never allows it.",
    )

    @model_validator(mode="after")
    def _standalone_needs_identity(self) -> Self:
        if self.mode == "standalone" and self.allow_anonymous:
            raise ValueError(
                "mode 'standalone' never accepts context-less calls — remove allow_anonymous "
                "(or use mode: library for an in-process deployment)"
            )
        return self

    @property
    def anonymous_allowed(self) -> bool:
        return self.allow_anonymous if self.allow_anonymous is not None else self.mode != "standalone"


def _agent_principals(agents: dict[str, AgentSettings]) -> dict[str, AgentSettings]:
    """Fill each agent's principal from its name and reject two agents claiming one principal."""
    filled: dict[str, AgentSettings] = {}
    owner: dict[str, str] = {}
    for name, agent in agents.items():
        principal = agent.principal or f"agent:{name}"
        if principal in owner:
            raise ValueError(
                f"agents {owner[principal]!r} and {name!r} both use principal {principal!r}; "
                "give each agent its own principal"
            )
        owner[principal] = name
        filled[name] = agent.model_copy(update={"principal": principal})
    return filled


#: The type of the ``agents:`` field (keyed by agent name).
Agents = Annotated[dict[str, AgentSettings], AfterValidator(_agent_principals)]
