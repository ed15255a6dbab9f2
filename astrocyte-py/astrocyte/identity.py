"""Caller identity carried by every memory operation.

``AstrocyteContext(principal="user:123")`` is the simplest form; a structured ``actor`` (and an
optional ``on_behalf_of`` for delegation) derives the principal. Bank resolution and access control
build on these DTOs.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ActorIdentity", "ActorType", "AstrocyteContext", "ClaimValue"]

ActorType = Literal["user", "agent", "service"]
#: Claims are portable JSON scalars or lists of strings (e.g. groups, scopes).
ClaimValue = str | int | float | bool | None | list[str]


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
