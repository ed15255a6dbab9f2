"""Identity, bank resolution and access control, end to end on the embedded SQLite stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from astrocyte import AccessDeniedError, Astrocyte, BackendNotInstalledError, InvalidRequestError
from astrocyte._facade import SyncAstrocyte
from astrocyte.access import AccessPolicy
from astrocyte.access_settings import AgentSettings, BankGrants, IdentitySettings, ResolverRule
from astrocyte.identity import (
    ActorIdentity,
    AstrocyteContext,
    ClaimBankResolver,
    ConfigBankResolver,
    ConventionBankResolver,
)

ALICE = AstrocyteContext(principal="user:alice")
BOB = AstrocyteContext(actor=ActorIdentity(type="user", id="bob"))
BOT = ActorIdentity(type="agent", id="support-bot")


def _sqlite(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    db = str(tmp_path / "memory.db")
    return {
        "vector_store_config": {"path": db},
        "document_store_config": {"path": db},
        "graph_store_config": {"path": db},
        **extra,
    }


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[Astrocyte]:
    config = _sqlite(
        tmp_path,
        agents={"support-bot": {"allowed_banks": ["user-*", "support-*"], "default_bank": "support-main"}},
        banks={
            "public-*": {"owners": ["service:cms"], "readers": ["user:*"]},
            "inbox-*": {"writers": ["agent:support-bot"], "readers": ["user:carol"]},
        },
    )
    async with Astrocyte.from_config(config) as instance:
        await instance.retain("Alice moved to Lisbon in May 2023.", context=ALICE)
        await instance.retain("Bob keeps bees in Porto.", context=BOB)
        yield instance


# --------------------------------------------------------------------------- resolvers


def test_convention_resolver_maps_user_agent_and_service_principals() -> None:
    resolver = ConventionBankResolver()
    assert resolver.resolve("user:123", {}) == "user-123"
    assert resolver.resolve("agent:support-bot", {}) == "agent-support-bot"
    assert resolver.resolve("service:ingest", {}) == "service-ingest"
    assert resolver.resolve("alice", {}) is None
    assert resolver.resolve("robot:1", {}) is None


def test_config_resolver_first_matching_rule_wins() -> None:
    resolver = ConfigBankResolver(
        [
            ResolverRule(principal="user:vip-*", bank="vip-{id}"),
            ResolverRule(principal="user:*", bank="tenant-{type}-{id}"),
        ]
    )
    assert resolver.resolve("user:vip-7", {}) == "vip-vip-7"
    assert resolver.resolve("user:8", {}) == "tenant-user-8"
    assert resolver.resolve("agent:x", {}) is None


def test_claim_resolver_reads_the_named_claim() -> None:
    resolver = ClaimBankResolver(claim="tenant", prefix="t-")
    assert resolver.resolve("user:1", {"tenant": "acme"}) == "t-acme"
    assert resolver.resolve("user:1", {"tenant": 3}) is None
    assert resolver.resolve("user:1", {}) is None


async def test_custom_resolver_is_loaded_from_its_entry_point(tmp_path: Path) -> None:
    identity = {"resolver": "custom", "custom_resolver": "claim", "custom_resolver_config": {"claim": "org"}}
    context = AstrocyteContext(actor=ActorIdentity(type="user", id="u1", claims={"org": "acme"}))
    async with Astrocyte.from_config(_sqlite(tmp_path, identity=identity)) as memory:
        result = await memory.retain("Acme ships on Fridays.", context=context)
        assert result.bank_id == "acme"
        hits = (await memory.recall("When does Acme ship?", context=context)).hits
        assert [h.bank_id for h in hits] == ["acme"]
        with pytest.raises(AccessDeniedError):
            await memory.recall("ship", bank_id="acme", context=BOB)


def test_unknown_custom_resolver_names_the_entry_point_group(tmp_path: Path) -> None:
    identity = {"resolver": "custom", "custom_resolver": "ldap"}
    with pytest.raises(BackendNotInstalledError, match=r"astrocyte\.bank_resolvers") as info:
        Astrocyte.from_config(_sqlite(tmp_path, identity=identity))
    assert info.value.key_path == "identity.custom_resolver"


# --------------------------------------------------------------------------- actor A vs actor B


async def test_own_bank_is_resolved_from_the_context(memory: Astrocyte) -> None:
    hits = (await memory.recall("Where does Alice live?", context=ALICE)).hits
    assert hits and {h.bank_id for h in hits} == {"user-alice"}
    assert "Lisbon" in hits[0].text


@pytest.mark.parametrize(
    ("verb", "permission"),
    [("recall", "read"), ("reflect", "read"), ("forget", "forget"), ("retain", "write")],
)
async def test_actor_cannot_use_another_actors_bank(memory: Astrocyte, verb: str, permission: str) -> None:
    calls = {
        "recall": lambda: memory.recall("Lisbon", bank_id="user-alice", context=BOB),
        "reflect": lambda: memory.reflect("Where does Alice live?", bank_id="user-alice", context=BOB),
        "forget": lambda: memory.forget(bank_id="user-alice", all=True, context=BOB),
        "retain": lambda: memory.retain("Alice moved to Mars.", bank_id="user-alice", context=BOB),
    }
    with pytest.raises(AccessDeniedError) as info:
        await calls[verb]()
    error = info.value
    assert (error.principal, error.bank_id, error.permission) == ("user:bob", "user-alice", permission)
    assert "'user:bob'" in str(error) and "'user-alice'" in str(error) and f"'{permission}'" in str(error)
    # nothing changed in alice's bank (read the store directly)
    texts = [item.text for item in await memory.stores.vector.list_vectors("user-alice")]
    assert texts == ["Alice moved to Lisbon in May 2023."]


async def test_recall_over_several_banks_needs_read_on_every_bank(memory: Astrocyte) -> None:
    with pytest.raises(AccessDeniedError, match="user-alice"):
        await memory.recall("bees", bank_ids=["user-bob", "user-alice"], context=BOB)


async def test_bank_listing_is_filtered_to_readable_banks(memory: Astrocyte) -> None:
    await memory.retain("Opening hours are 9 to 5.", bank_id="public-faq")
    assert sorted(await memory.banks()) == ["public-faq", "user-alice", "user-bob"]  # trusted library call
    assert sorted(await memory.banks(context=ALICE)) == ["public-faq", "user-alice"]
    assert sorted(await memory.banks(context=BOB)) == ["public-faq", "user-bob"]
    stranger = AstrocyteContext(principal="service:crawler")
    assert await memory.banks(context=stranger) == []


async def test_forget_own_bank_is_allowed(memory: Astrocyte) -> None:
    result = await memory.forget(all=True, context=ALICE)
    assert result.bank_id == "user-alice" and result.deleted_count == 1
    assert await memory.stores.vector.list_vectors("user-alice") == []
    assert len(await memory.stores.vector.list_vectors("user-bob")) == 1


# --------------------------------------------------------------------------- grants


async def test_bank_grants_owners_writers_readers(memory: Astrocyte) -> None:
    cms = AstrocyteContext(principal="service:cms")
    carol = AstrocyteContext(principal="user:carol")
    bot = AstrocyteContext(actor=BOT)
    await memory.retain("Returns are free within 30 days.", bank_id="public-faq", context=cms)
    assert (await memory.recall("returns", bank_id="public-faq", context=BOB)).hits  # readers: user:*
    with pytest.raises(AccessDeniedError, match="'write'"):
        await memory.retain("Returns cost 5 EUR.", bank_id="public-faq", context=BOB)
    await memory.retain("Ticket 42: printer jam.", bank_id="inbox-1", context=bot)  # writer
    with pytest.raises(AccessDeniedError, match="'read'"):
        await memory.recall("printer", bank_id="inbox-1", context=bot)  # writers cannot read
    assert (await memory.recall("printer", bank_id="inbox-1", context=carol)).hits
    with pytest.raises(AccessDeniedError, match="'forget'"):
        await memory.forget(bank_id="inbox-1", all=True, context=carol)
    assert (await memory.forget(bank_id="public-faq", all=True, context=cms)).deleted_count == 1


async def test_agent_default_bank_and_allowed_patterns(memory: Astrocyte) -> None:
    bot = AstrocyteContext(actor=BOT)
    result = await memory.retain("Escalate refunds above 500 EUR.", context=bot)
    assert result.bank_id == "support-main"
    assert (await memory.recall("refunds", context=bot)).hits
    assert (await memory.recall("bees", bank_id="user-bob", context=bot)).hits  # user-* allowed
    with pytest.raises(AccessDeniedError):
        await memory.recall("faq", bank_id="public-faq", context=bot)


# --------------------------------------------------------------------------- delegation


async def test_obo_narrows_to_the_delegators_grants(memory: Astrocyte) -> None:
    for_alice = AstrocyteContext(actor=BOT, on_behalf_of=ActorIdentity(type="user", id="alice"))
    hits = (await memory.recall("Where does Alice live?", context=for_alice)).hits  # alice's bank
    assert hits and hits[0].bank_id == "user-alice"
    # the bot alone may read user-bob, but not while acting for alice
    assert (await memory.recall("bees", bank_id="user-bob", context=AstrocyteContext(actor=BOT))).hits
    with pytest.raises(AccessDeniedError) as info:
        await memory.recall("bees", bank_id="user-bob", context=for_alice)
    assert info.value.principal == "agent:support-bot"
    assert for_alice.effective_permissions("user-bob", memory.access) == set()
    assert for_alice.effective_permissions("user-alice", memory.access) == {"read", "write", "forget"}
    assert await memory.banks(context=for_alice) == ["user-alice"]


async def test_obo_never_widens_the_callers_grants(memory: Astrocyte) -> None:
    stranger = ActorIdentity(type="agent", id="unknown-bot")
    for_alice = AstrocyteContext(actor=stranger, on_behalf_of=ActorIdentity(type="user", id="alice"))
    with pytest.raises(AccessDeniedError, match="agent:unknown-bot"):
        await memory.recall("Lisbon", context=for_alice)


def test_effective_permissions_is_the_intersection() -> None:
    policy = AccessPolicy(
        agents={"bot": AgentSettings(principal="agent:bot", allowed_banks=["user-*"], permissions=["read"])},
        banks={"shared": BankGrants(writers=["user:alice"], readers=["agent:bot"])},
    )
    alice = ActorIdentity(type="user", id="alice")
    bot_for_alice = AstrocyteContext(principal="agent:bot", on_behalf_of=alice)
    assert ALICE.effective_permissions("user-alice", policy) == {"read", "write", "forget"}
    assert bot_for_alice.effective_permissions("user-alice", policy) == {"read"}
    assert bot_for_alice.effective_permissions("user-bob", policy) == set()
    assert bot_for_alice.effective_permissions("shared", policy) == set()  # bot reads, alice writes
    assert AstrocyteContext(principal="agent:bot").effective_permissions("shared", policy) == {"read"}


async def test_obo_can_be_switched_off(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path, identity={"obo_enabled": False})) as memory:
        context = AstrocyteContext(
            principal="user:alice", on_behalf_of=ActorIdentity(type="user", id="alice")
        )
        with pytest.raises(AccessDeniedError, match="obo_enabled"):
            await memory.retain("x marks the spot", context=context)
        with pytest.raises(AccessDeniedError, match="obo_enabled"):
            await memory.banks(context=context)


# --------------------------------------------------------------------------- deployment modes


async def test_standalone_mode_refuses_context_less_calls(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path, deployment={"mode": "standalone"})) as memory:
        with pytest.raises(AccessDeniedError, match="standalone") as info:
            await memory.retain("anonymous note", bank_id="b")
        assert info.value.principal is None and info.value.permission == "write"
        with pytest.raises(AccessDeniedError):
            await memory.banks()
        assert (await memory.retain("signed note", context=ALICE)).bank_id == "user-alice"


async def test_library_mode_can_refuse_context_less_calls(tmp_path: Path) -> None:
    config = _sqlite(tmp_path, deployment={"mode": "library", "allow_anonymous": False})
    async with Astrocyte.from_config(config) as memory:
        with pytest.raises(AccessDeniedError):
            await memory.recall("anything", bank_id="b")


async def test_context_without_resolvable_bank_asks_for_bank_id(tmp_path: Path) -> None:
    async with Astrocyte.from_config(_sqlite(tmp_path)) as memory:
        with pytest.raises(InvalidRequestError, match="pass bank_id"):
            await memory.retain("hello", context=AstrocyteContext(principal="alice"))


async def test_retain_many_checks_every_bank_and_writes_nothing_when_denied(memory: Astrocyte) -> None:
    batch = [
        {"content": "Alice likes figs."},  # resolved to alice's bank
        {"content": "Bob likes plums.", "bank_id": "user-bob"},
    ]
    with pytest.raises(AccessDeniedError, match="user-bob"):
        await memory.retain_many(batch, context=ALICE)
    assert len(await memory.stores.vector.list_vectors("user-alice")) == 1
    results = await memory.retain_many(batch[:1], context=ALICE)
    assert results[0].bank_id == "user-alice"


def test_sync_twin_passes_the_context(tmp_path: Path) -> None:
    with SyncAstrocyte.from_config(_sqlite(tmp_path)) as memory:
        memory.retain("Dana plays cello.", context=AstrocyteContext(principal="user:dana"))
        memory.retain("Eve plays drums.", context=AstrocyteContext(principal="user:eve"))
        assert memory.banks(context=AstrocyteContext(principal="user:dana")) == ["user-dana"]
        with pytest.raises(AccessDeniedError):
            memory.recall("drums", bank_id="user-eve", context=AstrocyteContext(principal="user:dana"))


def test_identity_settings_build_a_config_resolver() -> None:
    settings = IdentitySettings(
        resolver="config", rules=[ResolverRule(principal="*", bank="all-{principal}")]
    )
    policy = AccessPolicy(identity=settings)
    assert policy.resolve_bank(AstrocyteContext(principal="svc")) == "all-svc"
