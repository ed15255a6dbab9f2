"""Caller identity carried by every memory operation, and how it maps to banks.

``AstrocyteContext(principal="user:123")`` is the simplest form; a structured ``actor`` (and an
optional ``on_behalf_of`` for delegation) derives the principal. A :class:`BankResolver` maps a
principal to its default bank when a call names none: ``convention`` (``user:123`` → ``user-123``),
``config`` (rules from the ``identity:`` section) or a custom resolver registered in the entry-point
group ``astrocyte.bank_resolvers``. Grants are evaluated by :class:`astrocyte.access.AccessPolicy`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Literal, Protocol, Self, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from astrocyte.errors import BackendNotInstalledError, ConfigError

if TYPE_CHECKING:
    from astrocyte.access import AccessPolicy
    from astrocyte.access_settings import IdentitySettings, ResolverRule

__all__ = [
    "BANK_RESOLVER_GROUP",
    "PERMISSIONS",
    "ActorIdentity",
    "ActorType",
    "AstrocyteContext",
    "BankResolver",
    "ClaimBankResolver",
    "ClaimValue",
    "ConfigBankResolver",
    "ConventionBankResolver",
    "Permission",
    "build_bank_resolver",
    "split_principal",
]

ActorType = Literal["user", "agent", "service"]
#: Claims are portable JSON scalars or lists of strings (e.g. groups, scopes).
ClaimValue = str | int | float | bool | None | list[str]
#: ``read`` = recall, reflect, list; ``write`` = retain; ``forget`` = forget.
Permission = Literal["read", "write", "forget"]
PERMISSIONS: frozenset[Permission] = frozenset(get_args(Permission))
#: Entry-point group of custom bank resolvers (``identity.resolver: custom``).
BANK_RESOLVER_GROUP = "astrocyte.bank_resolvers"


class ActorIdentity(BaseModel):
    """A user, agent or service acting on memory: ``ActorIdentity(type="agent", id="support-bot")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ActorType
    id: str = Field(min_length=1, max_length=256)
    claims: dict[str, ClaimValue] = Field(default_factory=dict)

    @property
    def principal(self) -> str:
        """The principal string of this actor: ``"<type>:<id>"``."""
        return f"{self.type}:{self.id}"


class AstrocyteContext(BaseModel):
    """Who is calling, and for whom.

    ``principal`` is derived from ``actor`` when only the actor is given; when both are given they
    must agree. ``on_behalf_of`` names the party whose memory an agent acts on (OBO delegation).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: str | None = None
    actor: ActorIdentity | None = None
    on_behalf_of: ActorIdentity | None = None

    @model_validator(mode="after")
    def _derive_principal(self) -> Self:
        if self.actor is None:
            return self
        if self.principal is None:
            object.__setattr__(self, "principal", self.actor.principal)
        elif self.principal != self.actor.principal:
            raise ValueError(
                f"principal {self.principal!r} does not match actor {self.actor.principal!r}; "
                "give one of them, or make them agree"
            )
        return self

    @property
    def subject(self) -> tuple[str | None, Mapping[str, ClaimValue]]:
        """Whose memory the call is about: the on-behalf-of party, else the caller (principal, claims)."""
        if self.on_behalf_of is not None:
            return self.on_behalf_of.principal, self.on_behalf_of.claims
        return self.principal, self.actor.claims if self.actor is not None else {}

    def effective_permissions(self, bank_id: str, policy: AccessPolicy) -> frozenset[Permission]:
        """What this context may do on ``bank_id``: the caller's grants, narrowed (intersected) by the
        on-behalf-of party's grants when delegating. Delegation never widens what the caller has."""
        return policy.effective_permissions(self, bank_id)


def split_principal(principal: str) -> tuple[str, str] | None:
    """``"user:123"`` → ``("user", "123")``; ``None`` when the principal has no ``type:`` prefix."""
    kind, sep, ident = principal.partition(":")
    if not sep or not kind or not ident:
        return None
    return kind, ident


# --------------------------------------------------------------------------- bank resolvers


@runtime_checkable
class BankResolver(Protocol):
    """Maps a principal (with its claims) to its default bank, or ``None`` when it has none."""

    def resolve(self, principal: str, claims: Mapping[str, ClaimValue]) -> str | None: ...


class ConventionBankResolver:
    """``user:{id}`` → ``user-{id}``, ``agent:{id}`` → ``agent-{id}``, ``service:{id}`` → ``service-{id}``."""

    def resolve(self, principal: str, claims: Mapping[str, ClaimValue]) -> str | None:
        parts = split_principal(principal)
        if parts is None or parts[0] not in get_args(ActorType):
            return None
        return f"{parts[0]}-{parts[1]}"


class ConfigBankResolver:
    """The first rule whose ``principal`` glob matches wins; its ``bank`` template may use
    ``{type}``, ``{id}`` and ``{principal}``."""

    def __init__(self, rules: Sequence[ResolverRule]) -> None:
        self._rules = list(rules)

    def resolve(self, principal: str, claims: Mapping[str, ClaimValue]) -> str | None:
        parts = split_principal(principal) or ("", principal)
        for rule in self._rules:
            if fnmatch.fnmatchcase(principal, rule.principal):
                return rule.bank.format(type=parts[0], id=parts[1], principal=principal)
        return None


class ClaimBankResolver:
    """The bank named by one of the actor's claims (e.g. a ``tenant`` claim of a verified token)."""

    def __init__(self, claim: str = "bank_id", prefix: str = "") -> None:
        self._claim = claim
        self._prefix = prefix

    def resolve(self, principal: str, claims: Mapping[str, ClaimValue]) -> str | None:
        value = claims.get(self._claim)
        return f"{self._prefix}{value}" if isinstance(value, str) and value else None


def _custom_resolver(name: str, options: Mapping[str, object]) -> BankResolver:
    found = {ep.name: ep for ep in entry_points(group=BANK_RESOLVER_GROUP)}
    entry = found.get(name)
    if entry is None:
        error = BackendNotInstalledError(
            f"bank resolver {name!r} is not installed (installed: {', '.join(sorted(found)) or 'none'})",
            hint=f"install the distribution that registers it in entry-point group {BANK_RESOLVER_GROUP!r}",
        )
        error.key_path = "identity.custom_resolver"
        raise error
    try:
        resolver = entry.load()(**options)
    except TypeError as exc:
        raise ConfigError(
            f"bank resolver {name!r} rejects its options: {exc}", key_path="identity.custom_resolver_config"
        ) from exc
    if not isinstance(resolver, BankResolver):
        raise ConfigError(
            f"bank resolver {name!r} ({entry.value}) has no resolve(principal, claims) method",
            key_path="identity.custom_resolver",
        )
    return resolver


def build_bank_resolver(settings: IdentitySettings) -> BankResolver:
    """The resolver the ``identity:`` section selects."""
    if settings.resolver == "config":
        return ConfigBankResolver(settings.rules)
    if settings.resolver == "custom":
        assert settings.custom_resolver is not None  # the settings model requires it
        return _custom_resolver(settings.custom_resolver, settings.custom_resolver_config)
    return ConventionBankResolver()
