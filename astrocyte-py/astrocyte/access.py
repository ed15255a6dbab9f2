"""Access control: which principal may read, write or forget which bank.

Grants come from config — ``agents:`` (allowed bank globs), ``banks:`` (owners / writers / readers)
and, unless ``identity.own_bank_access`` is off, the bank a principal's resolver maps it to (the
principal owns it). A delegated call (``on_behalf_of``) gets the intersection of the caller's and
the delegator's grants, so delegation can only narrow. Context-less calls are trusted only when the
deployment allows them.
"""

from __future__ import annotations

from collections.abc import Mapping

from astrocyte.access_settings import (
    AgentSettings,
    BankGrants,
    DeploymentSettings,
    IdentitySettings,
    matches_any,
)
from astrocyte.errors import AccessDeniedError, InvalidRequestError
from astrocyte.identity import (
    PERMISSIONS,
    AstrocyteContext,
    BankResolver,
    ClaimValue,
    Permission,
    build_bank_resolver,
)

__all__ = ["AccessPolicy"]

_NONE: frozenset[Permission] = frozenset()
_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owners": PERMISSIONS,
    "writers": frozenset({"write"}),
    "readers": frozenset({"read"}),
}


class AccessPolicy:
    """Evaluates grants (sync, pure over the config it was built from)."""

    def __init__(
        self,
        *,
        agents: Mapping[str, AgentSettings] | None = None,
        banks: Mapping[str, BankGrants] | None = None,
        identity: IdentitySettings | None = None,
        deployment: DeploymentSettings | None = None,
        resolver: BankResolver | None = None,
    ) -> None:
        self._identity = identity or IdentitySettings()
        self._deployment = deployment or DeploymentSettings()
        self._agents = {agent.principal or f"agent:{name}": agent for name, agent in (agents or {}).items()}
        self._banks = dict(banks or {})
        self.resolver = resolver or build_bank_resolver(self._identity)

    @property
    def anonymous_allowed(self) -> bool:
        return self._deployment.anonymous_allowed

    # ------------------------------------------------------------------ resolution

    def default_bank_of(self, principal: str, claims: Mapping[str, ClaimValue]) -> str | None:
        """A configured agent's ``default_bank``, else what the bank resolver maps the principal to."""
        agent = self._agents.get(principal)
        if agent is not None and agent.default_bank is not None:
            return agent.default_bank
        return self.resolver.resolve(principal, claims)

    def resolve_bank(self, context: AstrocyteContext) -> str:
        """The bank a call with ``context`` and no explicit bank targets (the delegator's, under OBO)."""
        principal, claims = context.subject
        bank = self.default_bank_of(principal, claims) if principal else None
        if bank is None:
            raise InvalidRequestError(
                f"no bank_id given and the {self._identity.resolver!r} bank resolver maps no bank for "
                f"principal {principal!r}; pass bank_id",
                field="bank_id",
            )
        return bank

    # ------------------------------------------------------------------ grants

    def permissions_for(
        self, principal: str, bank_id: str, claims: Mapping[str, ClaimValue] | None = None
    ) -> frozenset[Permission]:
        """The union of everything config grants ``principal`` on ``bank_id``."""
        granted: set[Permission] = set()
        if self._identity.own_bank_access and self.default_bank_of(principal, claims or {}) == bank_id:
            return PERMISSIONS
        agent = self._agents.get(principal)
        if agent is not None and matches_any(bank_id, agent.allowed_banks):
            granted.update(agent.permissions)
        for pattern, grants in self._banks.items():
            if not matches_any(bank_id, [pattern]):
                continue
            for role, permissions in _ROLE_PERMISSIONS.items():
                if matches_any(principal, getattr(grants, role)):
                    granted.update(permissions)
        return frozenset(granted)

    def effective_permissions(self, context: AstrocyteContext, bank_id: str) -> frozenset[Permission]:
        """The caller's grants, intersected with the on-behalf-of party's grants when delegating."""
        if context.principal is None:
            return _NONE
        claims = context.actor.claims if context.actor is not None else {}
        permissions = self.permissions_for(context.principal, bank_id, claims)
        if context.on_behalf_of is not None:
            delegator = context.on_behalf_of
            permissions &= self.permissions_for(delegator.principal, bank_id, delegator.claims)
        return permissions

    # ------------------------------------------------------------------ enforcement

    def check(self, context: AstrocyteContext | None, bank_id: str, permission: Permission) -> None:
        """Raise :class:`AccessDeniedError` unless ``context`` holds ``permission`` on ``bank_id``."""
        if context is None:
            if self.anonymous_allowed:
                return
            raise AccessDeniedError(
                f"deployment mode {self._deployment.mode!r} requires an AstrocyteContext on every call "
                f"(needed {permission!r} on bank {bank_id!r})",
                bank_id=bank_id,
                permission=permission,
            )
        if context.on_behalf_of is not None and not self._identity.obo_enabled:
            raise AccessDeniedError(
                f"principal {context.principal!r} acts on behalf of {context.on_behalf_of.principal!r} but "
                "delegation is disabled (identity.obo_enabled: false)",
                principal=context.principal,
                bank_id=bank_id,
                permission=permission,
            )
        if permission not in self.effective_permissions(context, bank_id):
            raise AccessDeniedError(principal=context.principal, bank_id=bank_id, permission=permission)

    def readable(self, context: AstrocyteContext | None, banks: list[str]) -> list[str]:
        """The subset of ``banks`` the caller may read (all of them for a trusted anonymous call)."""
        if context is None or (context.on_behalf_of is not None and not self._identity.obo_enabled):
            self.check(context, "*", "read")  # raises unless a trusted anonymous call
            return list(banks)
        return [bank for bank in banks if "read" in self.effective_permissions(context, bank)]
