"""Who is calling: API keys and JWTs → :class:`Caller` (an ``AstrocyteContext`` plus scopes).

Modes (``gateway.auth.mode``):

* ``api_key`` — ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; keys are looked up by their
  SHA-256 digest, so the config never holds a usable key;
* ``jwt_hs256`` — HS256 tokens signed with a shared secret;
* ``jwt_oidc`` — RS256/ES256 tokens of an OIDC provider, keys from its JWKS (cached, refetched once
  when a token names an unknown ``kid``).

Tokens must carry ``exp`` and match ``iss``/``aud`` when configured. The header's ``alg`` is checked
against the mode's own list *before* any verification, so ``alg: none`` and HS/RS confusion (an HS256
token "signed" with the provider's public key) are refused. FastAPI dependencies: :func:`authenticate`
(any caller), :func:`caller_context` (its context) and :func:`require_admin` (the admin scope).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request
from pydantic import ValidationError

from astrocyte.http import build_async_client
from astrocyte.identity import ActorIdentity, AstrocyteContext, ClaimValue
from astrocyte_gateway.problems import GatewayProblem
from astrocyte_gateway.settings import AuthSettings, ClaimMapping, JwtSettings, hash_api_key

__all__ = [
    "ApiKeyAuthenticator",
    "Authenticator",
    "Caller",
    "HS256Authenticator",
    "JwksCache",
    "OidcAuthenticator",
    "authenticate",
    "build_authenticator",
    "caller_context",
    "require_admin",
]

_ACTOR_TYPES = ("user", "agent", "service")
_JWKS_MIN_REFRESH_SECONDS = 10.0
#: The JWK key type each asymmetric algorithm family needs.
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller."""

    context: AstrocyteContext
    scopes: frozenset[str]

    @property
    def principal(self) -> str:
        assert self.context.principal is not None
        return self.context.principal


def _unauthorized(code: str, detail: str, scheme: str = "Bearer") -> GatewayProblem:
    return GatewayProblem(401, code, detail, headers={"WWW-Authenticate": scheme})


def _actor(principal: str, claims: Mapping[str, ClaimValue] | None = None) -> ActorIdentity:
    kind, _, ident = principal.partition(":")
    try:
        return ActorIdentity.model_validate({"type": kind, "id": ident, "claims": dict(claims or {})})
    except ValidationError:
        raise _unauthorized("invalid_token", f"principal {principal[:80]!r} is not '<type>:<id>'") from None


class Authenticator(Protocol):
    async def authenticate(self, headers: Mapping[str, str]) -> Caller: ...

    async def aclose(self) -> None: ...


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("invalid_authorization", "Authorization must be 'Bearer <credential>'")
    return token.strip()


class ApiKeyAuthenticator:
    def __init__(self, settings: AuthSettings) -> None:
        self._callers: dict[str, Caller] = {}
        for entry in settings.api_keys:
            obo = _actor(entry.on_behalf_of) if entry.on_behalf_of else None
            context = AstrocyteContext(actor=_actor(entry.principal), on_behalf_of=obo)
            self._callers[entry.sha256] = Caller(context, frozenset(entry.scopes))

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        key = headers.get("x-api-key") or _bearer(headers)
        if not key:
            raise _unauthorized(
                "missing_credentials", "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'"
            )
        caller = self._callers.get(hash_api_key(key.strip()))
        if caller is None:
            raise _unauthorized("invalid_api_key", "API key not recognised")
        return caller

    async def aclose(self) -> None:
        return None


# --------------------------------------------------------------------------- JWT


def _scopes(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _claim_value(value: object) -> ClaimValue | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _principal_from(value: object, claims: Mapping[str, Any], mapping: ClaimMapping) -> str:
    if not isinstance(value, str) or not value:
        raise _unauthorized("invalid_token", f"token has no string claim {mapping.subject!r}")
    kind, sep, ident = value.partition(":")
    if sep and kind in _ACTOR_TYPES and ident:
        return value
    declared = claims.get(mapping.actor_type) if mapping.actor_type else None
    actor_type = declared if declared in _ACTOR_TYPES else mapping.default_actor_type
    return f"{actor_type}:{value}"


def context_from_claims(claims: Mapping[str, Any], mapping: ClaimMapping) -> Caller:
    """The caller a verified token's claims describe (subject, type, copied claims, delegation, scopes)."""
    principal = _principal_from(claims.get(mapping.subject), claims, mapping)
    copied: dict[str, ClaimValue] = {}
    for name in mapping.copy_claims:
        value = _claim_value(claims.get(name))
        if value is not None:
            copied[name] = value
    on_behalf_of = None
    delegated = claims.get(mapping.delegation)
    if isinstance(delegated, dict):
        delegated = delegated.get("sub")
    if delegated is not None:
        if not isinstance(delegated, str) or ":" not in delegated:
            raise _unauthorized(
                "invalid_token", f"claim {mapping.delegation!r} must be a principal such as 'user:alice'"
            )
        on_behalf_of = _actor(delegated)
    context = AstrocyteContext(actor=_actor(principal, copied), on_behalf_of=on_behalf_of)
    return Caller(context, _scopes(claims.get(mapping.scopes)))


_JWT_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "token is not valid yet (nbf/iat)"),
    (jwt.InvalidAudienceError, "invalid_audience", "token audience does not match"),
    (jwt.InvalidIssuerError, "invalid_issuer", "token issuer does not match"),
    (jwt.MissingRequiredClaimError, "missing_claim", "token lacks a required claim"),
    (jwt.InvalidSignatureError, "invalid_signature", "token signature does not verify"),
)


def _decode(token: str, key: Any, algorithm: str, settings: JwtSettings) -> dict[str, Any]:
    required = ["exp"] if settings.require_exp else []
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": required, "verify_aud": settings.audience is not None},
        )
    except jwt.PyJWTError as exc:
        for cls, code, detail in _JWT_ERRORS:
            if isinstance(exc, cls):
                raise _unauthorized(code, f"{detail}: {exc}") from None
        raise _unauthorized("invalid_token", f"token rejected: {exc}") from None
    return claims


def _header(token: str, allowed: frozenset[str]) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _unauthorized("invalid_token", f"malformed token: {exc}") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in allowed:
        raise _unauthorized(
            "algorithm_not_allowed",
            f"token algorithm {str(algorithm)[:20]!r} is not accepted (accepted: {', '.join(sorted(allowed))})",
        )
    return header


def _token(headers: Mapping[str, str]) -> str:
    token = _bearer(headers)
    if token is None:
        raise _unauthorized("missing_credentials", "send a token as 'Authorization: Bearer <jwt>'")
    return token


class HS256Authenticator:
    _ALLOWED = frozenset({"HS256"})

    def __init__(self, settings: JwtSettings) -> None:
        assert settings.secret is not None  # AuthSettings requires it in this mode
        self._settings = settings
        self._secret = settings.secret.get_secret_value().encode()

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        token = _token(headers)
        _header(token, self._ALLOWED)
        claims = _decode(token, self._secret, "HS256", self._settings)
        return context_from_claims(claims, self._settings.claims)

    async def aclose(self) -> None:
        return None


class JwksCache:
    """The provider's signing keys by ``kid``, fetched through :mod:`astrocyte.http` and kept for
    ``ttl`` seconds; an unknown ``kid`` triggers one refetch (at most every 10 s, against key floods)."""

    def __init__(self, url: str, ttl: float) -> None:
        self._url = url
        self._ttl = ttl
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = asyncio.Lock()
        self._client = build_async_client(timeout=5.0, purpose="jwks")

    async def key(self, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        if now - self._fetched_at > self._ttl or (
            kid not in self._keys and now - self._fetched_at > _JWKS_MIN_REFRESH_SECONDS
        ):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        found = self._keys.get(kid)
        if found is None:
            raise _unauthorized("unknown_key", f"no key {kid!r} in the provider's JWKS")
        return found

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < 1.0:
                return  # another request refreshed while we waited
            try:
                response = await self._client.get(self._url)
                response.raise_for_status()
                keyset = jwt.PyJWKSet.from_dict(response.json())
            except Exception as exc:  # network, HTTP or JSON failure: keep serving the cached keys
                if not self._keys:
                    raise GatewayProblem(
                        503, "jwks_unavailable", f"cannot fetch the identity provider's keys: {exc}"
                    ) from None
                return
            self._keys = {key.key_id: key for key in keyset.keys}
            self._fetched_at = time.monotonic()

    async def aclose(self) -> None:
        await self._client.aclose()


class OidcAuthenticator:
    def __init__(self, settings: JwtSettings) -> None:
        assert settings.jwks_url is not None  # AuthSettings requires it in this mode
        self._settings = settings
        self._allowed = frozenset(settings.algorithms)
        self._jwks = JwksCache(settings.jwks_url, settings.jwks_cache_seconds)

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        token = _token(headers)
        header = _header(token, self._allowed)
        algorithm: str = header["alg"]
        kid = header.get("kid")
        key = await self._jwks.key(kid if isinstance(kid, str) else None)
        if key.key_type != _KEY_TYPE[algorithm[:2]]:
            raise _unauthorized(
                "algorithm_not_allowed", f"key {kid!r} ({key.key_type}) cannot verify {algorithm}"
            )
        claims = _decode(token, key.key, algorithm, self._settings)
        return context_from_claims(claims, self._settings.claims)

    async def aclose(self) -> None:
        await self._jwks.aclose()


def build_authenticator(settings: AuthSettings) -> Authenticator:
    if settings.mode == "jwt_hs256":
        return HS256Authenticator(settings.jwt)
    if settings.mode == "jwt_oidc":
        return OidcAuthenticator(settings.jwt)
    return ApiKeyAuthenticator(settings)


# --------------------------------------------------------------------------- dependencies


async def authenticate(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller (401 problem otherwise)."""
    caller: Caller = await request.app.state.gateway.authenticator.authenticate(request.headers)
    request.state.principal = caller.principal
    return caller


async def caller_context(caller: Annotated[Caller, Depends(authenticate)]) -> AstrocyteContext:
    """FastAPI dependency: the caller's :class:`AstrocyteContext`."""
    return caller.context


async def require_admin(request: Request, caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
    """FastAPI dependency: a caller holding the admin scope (403 problem otherwise)."""
    scope: str = request.app.state.gateway.settings.auth.admin_scope
    if scope not in caller.scopes:
        raise GatewayProblem(403, "admin_scope_required", f"this endpoint needs the {scope!r} scope")
    return caller
