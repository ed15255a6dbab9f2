"""Every auth mode through real uvicorn: valid, expired, wrong audience, wrong signature, alg confusion,
``alg: none``, claim mapping, OBO delegation and the admin scope. The OIDC provider's JWKS is served
by a second real server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from _gateway import ADMIN_KEY, ALICE_KEY, Client, base_config, key
from astrocyte_gateway import create_app
from astrocyte_gateway.server import serving
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from astrocyte.errors import ConfigError

SECRET = "hs256-secret-that-is-at-least-32-bytes-long"
ISSUER = "https://idp.example.test"
AUDIENCE = "astrocyte"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], sign_key: bytes | None) -> str:
    """A token with any header (``alg: none``, HS256 over a public key) that PyJWT refuses to make."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if sign_key is None:
        return signing_input + "."
    signature = hmac.new(sign_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _recall(client: httpx.AsyncClient, token: str, bank: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"query": "anything"}
    if bank:
        body["bank_id"] = bank
    return await client.post("/v1/recall", json=body, headers=_bearer(token))


def _assert_401(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == code, response.json()


# --------------------------------------------------------------------------- api_key


async def test_api_key_valid_missing_and_wrong(gateway: Client) -> None:
    async with gateway() as client:
        ok = await client.post("/v1/recall", json={"query": "x"}, headers={"X-API-Key": ALICE_KEY})
        assert ok.status_code == 200
        _assert_401(await client.post("/v1/recall", json={"query": "x"}), "missing_credentials")
        _assert_401(
            await client.post("/v1/recall", json={"query": "x"}, headers=key("nope")), "invalid_api_key"
        )
        _assert_401(
            await client.post("/v1/recall", json={"query": "x"}, headers={"Authorization": "Basic abc"}),
            "invalid_authorization",
        )


async def test_admin_scope_is_required_for_admin_routes(gateway: Client) -> None:
    async with gateway() as client:
        denied = await client.get("/v1/admin/banks", headers=key(ALICE_KEY))
        assert denied.status_code == 403
        assert denied.json()["code"] == "admin_scope_required"
        await client.post(
            "/v1/retain", json={"content": "hello", "bank_id": "user-alice"}, headers=key(ALICE_KEY)
        )
        listed = await client.get("/v1/admin/banks", headers=key(ADMIN_KEY))
        assert listed.status_code == 200
        assert listed.json() == {"banks": ["user-alice"]}


def test_plain_key_in_config_is_refused_with_the_fix() -> None:
    config = base_config(auth={"mode": "api_key", "api_keys": [{"sha256": "my-key", "principal": "user:a"}]})
    with pytest.raises(ConfigError, match=r"gateway\.auth\.api_keys\.0\.sha256.*hash-key"):
        create_app(config)


# --------------------------------------------------------------------------- jwt_hs256


def _hs256_config(**jwt_settings: Any) -> dict[str, Any]:
    settings = {"secret": SECRET, "issuer": ISSUER, "audience": AUDIENCE, **jwt_settings}
    return base_config(auth={"mode": "jwt_hs256", "jwt": settings})


def _hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_hs256_valid_expired_wrong_audience_wrong_signature(gateway: Client) -> None:
    async with gateway(_hs256_config()) as client:
        ok = await _recall(client, _hs256(_claims()))
        assert ok.status_code == 200, ok.text
        _assert_401(await _recall(client, _hs256(_claims(exp=int(time.time()) - 120))), "token_expired")
        _assert_401(await _recall(client, _hs256(_claims(aud="someone-else"))), "invalid_audience")
        _assert_401(await _recall(client, _hs256(_claims(iss="https://evil.test"))), "invalid_issuer")
        _assert_401(await _recall(client, _hs256(_claims(), secret="x" * 40)), "invalid_signature")
        _assert_401(await _recall(client, _hs256(_claims(exp=None))), "missing_claim")
        _assert_401(await _recall(client, "not-a-jwt"), "invalid_token")


async def test_hs256_rejects_alg_none_and_asymmetric_tokens(gateway: Client) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with gateway(_hs256_config()) as client:
        none = _forge({"alg": "none", "typ": "JWT"}, _claims(), None)
        _assert_401(await _recall(client, none), "algorithm_not_allowed")
        rs = jwt.encode(_claims(), private, algorithm="RS256")
        _assert_401(await _recall(client, rs), "algorithm_not_allowed")


async def test_claim_mapping_bank_isolation_and_obo(gateway: Client) -> None:
    config = _hs256_config(claims={"actor_type": "typ_actor", "copy_claims": ["tenant"], "delegation": "obo"})
    async with gateway(config) as client:
        alice = _hs256(_claims(sub="alice", tenant="acme"))
        bot = _hs256(_claims(sub="support-bot", typ_actor="agent"))
        bot_for_alice = _hs256(_claims(sub="support-bot", typ_actor="agent", obo="user:alice"))
        retained = await client.post(
            "/v1/retain",
            json={"content": "Alice prefers tea.", "bank_id": "user-alice"},
            headers=_bearer(alice),
        )
        assert retained.status_code == 200, retained.text
        # The agent alone may not read alice's bank; it reads its own (agent-support-bot) bank.
        assert (await _recall(client, bot, "user-alice")).status_code == 403
        assert (await _recall(client, bot)).json()["hits"] == []
        # Acting for alice narrows to the intersection of both grants: still nothing on alice's bank...
        assert (await _recall(client, bot_for_alice, "user-alice")).status_code == 403
        bad_obo = _hs256(_claims(sub="support-bot", obo=["user:alice"]))
        _assert_401(await _recall(client, bad_obo), "invalid_token")


async def test_obo_reaches_a_bank_both_parties_may_use(gateway: Client) -> None:
    config = _hs256_config(claims={"actor_type": "typ_actor"})
    config["agents"] = {"support-bot": {"allowed_banks": ["user-*"], "permissions": ["read", "write"]}}
    async with gateway(config) as client:
        alice = _hs256(_claims(sub="alice"))
        await client.post(
            "/v1/retain",
            json={"content": "Alice prefers tea.", "bank_id": "user-alice"},
            headers=_bearer(alice),
        )
        bot_for_alice = _hs256(_claims(sub="support-bot", typ_actor="agent", obo="user:alice"))
        recalled = await _recall(client, bot_for_alice)  # no bank: the delegator's bank is resolved
        assert recalled.status_code == 200, recalled.text
        assert "tea" in recalled.json()["hits"][0]["text"]
        bot_for_bob = _hs256(_claims(sub="support-bot", typ_actor="agent", obo="user:bob"))
        assert (await _recall(client, bot_for_bob, "user-alice")).status_code == 403


def test_short_hs256_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"gateway\.auth.*32 bytes"):
        create_app(base_config(auth={"mode": "jwt_hs256", "jwt": {"secret": "short"}}))


# --------------------------------------------------------------------------- jwt_oidc


class _Idp:
    """An identity provider's signing keys and its JWKS document."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        self.jwks = {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
                {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
            ]
        }
        self.fetches = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks.json")
        async def jwks() -> dict[str, Any]:
            self.fetches += 1
            return self.jwks

        return app

    def rs256(self, claims: dict[str, Any], kid: str = "rsa-1") -> str:
        return jwt.encode(claims, self.rsa, algorithm="RS256", headers={"kid": kid})

    def es256(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.ec, algorithm="ES256", headers={"kid": "ec-1"})

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture
async def idp() -> AsyncIterator[tuple[_Idp, str]]:
    provider = _Idp()
    async with serving(provider.app()) as url:
        yield provider, f"{url}/jwks.json"


async def test_oidc_rs256_es256_expired_audience_signature_confusion(
    gateway: Client, idp: tuple[_Idp, str]
) -> None:
    provider, jwks_url = idp
    config = base_config(
        auth={"mode": "jwt_oidc", "jwt": {"jwks_url": jwks_url, "issuer": ISSUER, "audience": AUDIENCE}}
    )
    async with gateway(config) as client:
        assert (await _recall(client, provider.rs256(_claims()))).status_code == 200
        assert (await _recall(client, provider.es256(_claims()))).status_code == 200
        assert provider.fetches == 1  # cached
        _assert_401(
            await _recall(client, provider.rs256(_claims(exp=int(time.time()) - 120))), "token_expired"
        )
        _assert_401(await _recall(client, provider.rs256(_claims(aud="other"))), "invalid_audience")
        _assert_401(await _recall(client, provider.rs256(_claims(iss="https://evil.test"))), "invalid_issuer")
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "rsa-1"})
        _assert_401(await _recall(client, forged), "invalid_signature")
        # HS/RS confusion: an HS256 token whose "secret" is the provider's public key.
        confused = _forge({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(), provider.public_pem())
        _assert_401(await _recall(client, confused), "algorithm_not_allowed")
        _assert_401(await _recall(client, _forge({"alg": "none"}, _claims(), None)), "algorithm_not_allowed")
        # An ES256 header pointing at the RSA key is refused before verification.
        mixed = jwt.encode(_claims(), provider.ec, algorithm="ES256", headers={"kid": "rsa-1"})
        _assert_401(await _recall(client, mixed), "algorithm_not_allowed")
        _assert_401(await _recall(client, provider.rs256(_claims(), kid="unknown")), "unknown_key")


async def test_oidc_provider_unreachable_is_503_problem(gateway: Client) -> None:
    config = base_config(
        auth={
            "mode": "jwt_oidc",
            "jwt": {"jwks_url": "http://127.0.0.1:9/jwks.json", "issuer": ISSUER, "audience": AUDIENCE},
        }
    )
    provider = _Idp()
    async with gateway(config) as client:
        response = await _recall(client, provider.rs256(_claims()))
        assert response.status_code == 503
        assert response.json()["code"] == "jwks_unavailable"
