"""Bank scoping of the console: a bank the caller may not read is neither listed nor reachable."""

from __future__ import annotations

from astrocyte import AccessDeniedError, Astrocyte, AstrocyteContext
from astrocyte.errors import NotFoundError
from astrocyte.identity import PERMISSIONS, Permission

__all__ = ["permissions_on", "require_readable"]


def permissions_on(memory: Astrocyte, context: AstrocyteContext | None, bank_id: str) -> list[Permission]:
    """What the caller may do on ``bank_id`` (everything for a trusted anonymous call)."""
    if context is None:
        try:
            memory.access.check(
                None, bank_id, "read"
            )  # allowed only when the deployment trusts anonymous calls
        except AccessDeniedError:
            return []
        return sorted(PERMISSIONS)
    return sorted(memory.access.effective_permissions(context, bank_id))


def require_readable(memory: Astrocyte, context: AstrocyteContext | None, bank_id: str) -> list[Permission]:
    """The caller's permissions on ``bank_id``; :class:`NotFoundError` when it may not read it — the
    same answer as for a bank that does not exist, so probing reveals nothing."""
    permissions = permissions_on(memory, context, bank_id)
    if "read" not in permissions:
        raise NotFoundError(f"no bank {bank_id!r} that you may read")
    return permissions
