"""The ``gateway:`` section of ``astrocyte.yaml``: auth, CORS, body limit, observability.

Every key is optional. Secrets come in through ``${ENV}`` substitution (``secret: ${ASTROCYTE_JWT_SECRET}``)
and API keys are stored only as SHA-256 hex digests (``astrocyte-gateway hash-key <key>`` prints one).
Invalid settings fail at load time with the key path (``gateway.auth.jwt.secret``) and the fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from astrocyte.errors import ConfigError
from astrocyte.identity import ActorType

__all__ = [
    "ENV_VARS",
    "ApiKeyEntry",
    "AuthMode",
    "AuthSettings",
    "ClaimMapping",
    "CorsSettings",
    "GatewaySettings",
    "JwtSettings",
    "hash_api_key",
    "parse_gateway_settings",
]

AuthMode = Literal["api_key", "jwt_hs256", "jwt_oidc"]
AsymmetricAlgorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_DEFAULT_ALGORITHMS: tuple[AsymmetricAlgorithm, ...] = ("RS256", "ES256")

#: Environment variables the gateway itself reads (the config file may name more via ``${VAR}``).
ENV_VARS: dict[str, str] = {
    "ASTROCYTE_CONFIG": "path of astrocyte.yaml",
    "ASTROCYTE_GATEWAY_HOST": "bind address (default 127.0.0.1)",
    "ASTROCYTE_GATEWAY_PORT": "port (default 8080)",
    "ASTROCYTE_GATEWAY_LOG_LEVEL": "log level of the access log and uvicorn (default info)",
}

_HEX = frozenset("0123456789abcdef")


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is configured."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyEntry(_Section):
    """One API key: its SHA-256 digest and the principal it authenticates."""

    sha256: str = Field(description="SHA-256 hex digest of the key (never the key itself).")
    principal: str = Field(min_length=3, description="'<type>:<id>' with type user, agent or service.")
    scopes: list[str] = Field(default_factory=list, description="e.g. ['astrocyte:admin'].")
    on_behalf_of: str | None = Field(
        default=None, description="Principal this key always acts for (OBO delegation), e.g. 'user:alice'."
    )

    @field_validator("sha256")
    @classmethod
    def _is_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if len(value) != 64 or not set(value) <= _HEX:
            raise ValueError(
                "must be the 64-character SHA-256 hex digest of the key "
                "(run: astrocyte-gateway hash-key <key>), never the key itself"
            )
        return value

    @field_validator("principal", "on_behalf_of")
    @classmethod
    def _typed(cls, value: str | None) -> str | None:
        if value is not None:
            _check_principal(value)
        return value


def _check_principal(value: str) -> None:
    kind, sep, ident = value.partition(":")
    if not sep or kind not in ("user", "agent", "service") or not ident:
        raise ValueError(f"principal {value!r} must look like 'user:<id>', 'agent:<id>' or 'service:<id>'")


class ClaimMapping(_Section):
    """Which token claims become the ``AstrocyteContext``."""

    subject: str = Field(default="sub", description="Claim holding the caller's id (or '<type>:<id>').")
    actor_type: str | None = Field(
        default=None,
        description="Claim holding the actor type (user, agent, service); else default_actor_type.",
    )
    default_actor_type: ActorType = "user"
    delegation: str = Field(
        default="obo",
        description="Claim naming the principal the caller acts for ('user:alice' or {'sub': ...}).",
    )
    scopes: str = Field(default="scope", description="Claim with scopes (space-separated string or list).")
    copy_claims: list[str] = Field(
        default_factory=list, description="Claims copied into ActorIdentity.claims (tenant, groups...)."
    )


class JwtSettings(_Section):
    secret: SecretStr | None = Field(default=None, description="HS256 shared secret (32+ bytes).")
    issuer: str | None = Field(default=None, description="Required 'iss' (always checked for jwt_oidc).")
    audience: str | None = Field(default=None, description="Required 'aud'.")
    jwks_url: str | None = Field(default=None, description="JWKS document of the OIDC provider.")
    algorithms: list[AsymmetricAlgorithm] = Field(
        default_factory=lambda: list(_DEFAULT_ALGORITHMS),
        description="Accepted asymmetric algorithms (jwt_oidc).",
    )
    leeway_seconds: int = Field(default=30, ge=0, le=600)
    jwks_cache_seconds: int = Field(default=300, ge=1)
    require_exp: bool = True
    claims: ClaimMapping = Field(default_factory=ClaimMapping)


class AuthSettings(_Section):
    mode: AuthMode = "api_key"
    api_keys: list[ApiKeyEntry] = Field(default_factory=list)
    jwt: JwtSettings = Field(default_factory=JwtSettings)
    admin_scope: str = Field(default="astrocyte:admin", min_length=1)

    @model_validator(mode="after")
    def _mode_prerequisites(self) -> Self:
        if self.mode == "jwt_hs256":
            secret = self.jwt.secret.get_secret_value() if self.jwt.secret else ""
            if len(secret.encode()) < 32:
                raise ValueError(
                    "mode jwt_hs256 needs jwt.secret of at least 32 bytes "
                    "(e.g. secret: ${ASTROCYTE_JWT_SECRET})"
                )
        if self.mode == "jwt_oidc" and (
            not self.jwt.jwks_url or not self.jwt.issuer or not self.jwt.audience
        ):
            raise ValueError("mode jwt_oidc needs jwt.jwks_url, jwt.issuer and jwt.audience")
        if self.jwt.jwks_url is not None and not self.jwt.jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"jwt.jwks_url {self.jwt.jwks_url!r} must be an http(s) URL")
        digests = [entry.sha256 for entry in self.api_keys]
        if len(set(digests)) != len(digests):
            raise ValueError("api_keys lists one key digest twice; give each principal its own key")
        return self


class CorsSettings(_Section):
    allow_origins: list[str] = Field(default_factory=list, description="Empty = CORS off.")
    allow_methods: list[str] = Field(default_factory=lambda: ["GET", "POST"])
    allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"]
    )
    allow_credentials: bool = False
    max_age: int = Field(default=600, ge=0)


class GatewaySettings(_Section):
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Larger request bodies get 413.")
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    mcp: bool = Field(default=True, description="Serve MCP (streamable HTTP) at /mcp.")
    access_log: bool = Field(
        default=True, description="One JSON line per request on 'astrocyte.gateway.access'."
    )
    ingest: bool = Field(
        default=True, description="Run the config's stream/poll ingest sources in the gateway."
    )
    otel: bool = Field(default=False, description="Trace requests with OpenTelemetry (extra 'otel').")


def parse_gateway_settings(raw: Mapping[str, object]) -> GatewaySettings:
    """Validate the ``gateway:`` section; errors name ``gateway.<key path>`` and the fix."""
    try:
        return GatewaySettings.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in ("gateway", *first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key; check the spelling against the gateway README"
        raise ConfigError(message, key_path=where) from None
