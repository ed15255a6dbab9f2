"""Caller identity carried by every memory operation.

Access control and bank resolution build on this (see the identity issue); today the context is
accepted by every API call and recorded, so callers can adopt it before enforcement lands.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["AstrocyteContext"]


class AstrocyteContext(BaseModel):
    """Who is calling: ``AstrocyteContext(principal="user:123")``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: str | None = None
