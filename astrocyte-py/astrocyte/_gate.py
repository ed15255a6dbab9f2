"""The policy gate every facade call passes: bank resolution and access control.

The facade asks the gate which bank a call targets (explicit, else the context's resolved bank),
and the gate checks the caller's permission on every bank before the pipeline runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from astrocyte.access import AccessPolicy
from astrocyte.config import AstrocyteConfig
from astrocyte.identity import AstrocyteContext, Permission

__all__ = ["Gate"]


class Gate:
    def __init__(self, config: AstrocyteConfig) -> None:
        self.access = AccessPolicy(
            agents=config.agents, banks=config.banks, identity=config.identity, deployment=config.deployment
        )

    def bank_for(self, explicit: str | None, request: object, context: AstrocyteContext | None) -> str | None:
        """The bank to fill into a request: ``explicit``, else (when the request names none and a
        context is given) the context's resolved bank."""
        if explicit is not None or context is None:
            return explicit
        if isinstance(request, Mapping) and (request.get("bank_id") or request.get("bank_ids")):
            return None
        if request is not None and not isinstance(request, str | Mapping):
            return None  # a DTO carries its own bank
        return self.access.resolve_bank(context)

    def admit(self, context: AstrocyteContext | None, banks: list[str], permission: Permission) -> None:
        for bank in dict.fromkeys(banks):
            self.access.check(context, bank, permission)

    def readable(self, context: AstrocyteContext | None, banks: list[str]) -> list[str]:
        return self.access.readable(context, banks)
