"""Memory intent protocol (mip.yaml) on the real SQLite stores: retain fan-out, recall bank sets and
weights, deny rules, validation with key paths, and ``astrocyte mip explain``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _sqlite_config import sqlite_config

from astrocyte import Astrocyte, AstrocyteContext
from astrocyte.cli import main
from astrocyte.config import load_config
from astrocyte.errors import AccessDeniedError, ConfigError
from astrocyte.mip import IntentDeniedError, IntentFacts, MipRouter, explain
from astrocyte.policy.audit import AuditEvent

MIP_YAML = """\
version: 1
rules:
  - name: no-bots-in-hr
    when: {agent: ["*"], bank: ["hr-*"]}
    deny: agents may not touch HR memory
  - name: tickets-to-support
    when: {operation: retain, content_type: [email], tags_any: [ticket]}
    retain_to: ["{bank_id}", support]
  - name: billing-questions
    when: {operation: recall, query_matches: "(?i)invoice|billing"}
    recall_from: ["{bank_id}", support]
    strategies: {vector: 0, graph: 0, temporal: 0, fulltext: 1}
"""


@pytest.fixture
def mip_file(tmp_path: Path) -> Path:
    path = tmp_path / "mip.yaml"
    path.write_text(MIP_YAML, encoding="utf-8")
    return path


@pytest.fixture
async def memory(tmp_path: Path, mip_file: Path) -> AsyncIterator[Astrocyte]:
    config = sqlite_config(tmp_path, mip={"enabled": True, "rules_path": str(mip_file)})
    async with Astrocyte.from_config(config) as memory:
        yield memory


async def test_retain_fans_out_to_every_routed_bank(memory: Astrocyte) -> None:
    result = await memory.retain(
        "Invoice 4411 was charged twice; customer asks for a refund.",
        bank_id="user-carol",
        content_type="email",
        tags=["ticket"],
    )
    assert result.bank_id == "user-carol"
    assert [copy.bank_id for copy in result.fanout] == ["support"]
    for bank, ids in (("user-carol", result.memory_ids), ("support", result.fanout[0].memory_ids)):
        hits = (await memory.recall("refund charged twice", bank_id=bank, strategies=["fulltext"])).hits
        assert [h.memory_id for h in hits] == ids
    plain = await memory.retain("Carol likes green tea.", bank_id="user-carol", tags=["ticket"])
    assert plain.fanout == []  # not an email: no rule matched
    assert set(await memory.banks()) == {"user-carol", "support"}


async def test_retain_many_groups_fanout_per_request(memory: Astrocyte) -> None:
    results = await memory.retain_many(
        [
            {
                "content": "Ticket: printer on fire.",
                "bank_id": "user-dan",
                "content_type": "email",
                "tags": ["ticket"],
            },
            {"content": "Dan prefers mornings.", "bank_id": "user-dan"},
        ]
    )
    assert [(r.bank_id, [c.bank_id for c in r.fanout]) for r in results] == [
        ("user-dan", ["support"]),
        ("user-dan", []),
    ]


async def test_recall_routes_to_a_bank_set_with_strategy_weights(memory: Astrocyte) -> None:
    await memory.retain("Our billing cycle closes on the 25th.", bank_id="support")
    await memory.retain("Erin asked about her invoice yesterday.", bank_id="user-erin")
    result = await memory.recall("When does billing close for my invoice?", bank_id="user-erin")
    assert {h.bank_id for h in result.hits} == {"support", "user-erin"}
    assert {s.name for s in result.trace.strategies} == {"fulltext"}
    assert {s.bank_id for s in result.trace.strategies} == {"support", "user-erin"}
    assert any("mip: routed by billing-questions" in note for note in result.trace.notes)
    other = await memory.recall("What did Erin ask?", bank_id="user-erin")
    assert {h.bank_id for h in other.hits} == {"user-erin"}
    assert "vector" in {s.name for s in other.trace.strategies}
    reflected = await memory.reflect("When does billing close?", bank_id="user-erin")
    assert "25th" in reflected.answer  # reflect recalls through the same routing


async def test_a_deny_rule_refuses_writes_nothing_and_is_audited(tmp_path: Path, mip_file: Path) -> None:
    events: list[AuditEvent] = []
    config = sqlite_config(tmp_path, mip={"enabled": True, "rules_path": str(mip_file)})
    async with Astrocyte.from_config(config, audit_sink=_Collect(events)) as memory:
        await _deny_checks(memory)
    denied = [(e.action, e.result, e.bank_id, e.principal) for e in events if e.result != "ok"]
    assert denied == [
        ("retain", "intent_denied", "hr-frank", "agent:helper"),
        ("recall", "intent_denied", "hr-frank", "agent:helper"),
    ]


class _Collect:
    def __init__(self, events: list[AuditEvent]) -> None:
        self.events = events

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


async def _deny_checks(memory: Astrocyte) -> None:
    bot = AstrocyteContext(principal="agent:helper")
    with pytest.raises(
        IntentDeniedError, match="denied by mip rule 'no-bots-in-hr': agents may not touch HR memory"
    ):
        await memory.retain("Frank's salary is 90k.", bank_id="hr-frank", context=bot)
    with pytest.raises(IntentDeniedError) as raised:
        await memory.recall("salary", bank_ids=["public", "hr-frank"], context=bot)
    assert isinstance(raised.value, AccessDeniedError) and raised.value.rule == "no-bots-in-hr"
    assert await memory.banks() == []
    await memory.retain("Frank's salary is 90k.", bank_id="hr-frank")  # a trusted in-process caller
    assert await memory.banks() == ["hr-frank"]


async def test_fanout_is_checked_against_bank_grants(tmp_path: Path, mip_file: Path) -> None:
    config = sqlite_config(
        tmp_path,
        mip={"enabled": True, "rules_path": str(mip_file)},
        banks={"user-*": {"writers": ["user:*"], "readers": ["user:*"]}},
    )
    async with Astrocyte.from_config(config) as memory:
        with pytest.raises(AccessDeniedError, match="'support'"):
            await memory.retain(
                "Ticket: refund me.",
                bank_id="user-gil",
                content_type="email",
                tags=["ticket"],
                context=AstrocyteContext(principal="user:gil"),
            )
        assert await memory.stores.vector.list_banks() == []  # all-or-nothing: no bank got the copy


def test_explain_names_the_rule_and_why(mip_file: Path) -> None:
    config = load_config({"mip": {"enabled": True, "rules_path": str(mip_file)}})
    router = MipRouter.from_config(config.mip)
    decision = router.decide(
        IntentFacts("retain", "user-carol", "email", ("ticket",), {}, "user:carol", None, None)
    )
    assert explain(decision) == [
        "retain request: bank='user-carol', content_type='email', tags=['ticket'], principal='user:carol'",
        "  skip  no-bots-in-hr: agent: none given, rule needs ['*']; bank 'user-carol' matches none of ['hr-*']",
        "  match tickets-to-support: operation 'retain' in ['retain']; content_type 'email' in ['email']; "
        "tags ['ticket'] share ['ticket']",
        "outcome: rule 'tickets-to-support' routes to banks ['user-carol', 'support']",
    ]
    none = router.decide(IntentFacts("recall", "user-carol", query="hello"))
    assert explain(none)[-1] == "outcome: no rule matched — the request is unchanged"
    assert explain(none)[2] == "  skip  tickets-to-support: has no effect on recall"


def test_mip_explain_command(mip_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text(f"mip:\n  enabled: true\n  rules_path: {mip_file}\n", encoding="utf-8")
    code = main(["mip", "explain", "-c", str(config), "recall", "--bank", "hr-x", "--agent", "helper"])
    out = capsys.readouterr().out
    assert code == 0
    assert "  match no-bots-in-hr: agent 'helper' matches '*'; bank 'hr-x' matches 'hr-*'" in out
    assert out.strip().endswith("outcome: denied by 'no-bots-in-hr': agents may not touch HR memory")
    code = main(
        ["mip", "explain", "-c", str(config), "recall", "--bank", "b", "--query", "my invoice", "--json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["matched_rule"] == "billing-questions"
    assert data["banks"] == ["b", "support"]
    assert data["strategies"] == {"vector": 0, "graph": 0, "temporal": 0, "fulltext": 1}


def test_mip_explain_without_rules_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text("profile: minimal\n", encoding="utf-8")
    assert main(["mip", "explain", "-c", str(config), "retain"]) == 2
    assert "mip: the config has no mip rules; add mip.rules or mip.rules_path" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "rules:\n  - name: a\n    when: {princpal: x}\n    deny: no\n",
            "rules[0].when.princpal: unknown key (rule keys: name, when",
        ),
        ("rules:\n  - name: a\n", "rules[0]: Value error, rule 'a' does nothing"),
        (
            "rules:\n  - name: a\n    deny: x\n    retain_to: [b]\n",
            "a deny rule cannot also route (retain_to)",
        ),
        (
            "rules:\n  - name: a\n    retain_to: ['{tenant}']\n",
            "uses ['tenant']; allowed: {agent}, {bank_id}, {principal}",
        ),
        ("rules:\n  - name: a\n    strategies: {vectr: 1}\n", "unknown strategies ['vectr']"),
        (
            "rules:\n  - name: a\n    when: {query_matches: '('}\n    deny: x\n",
            "invalid regular expression '('",
        ),
        (
            "rules:\n  - {name: a, deny: x}\n  - {name: a, deny: y}\n",
            "rule names must be unique (repeated: a)",
        ),
        ("- just a list\n", "expected a mapping with a 'rules' list"),
        ("rules: []\nextra: 1\n", "unknown top-level keys ['extra']"),
    ],
)
def test_invalid_mip_yaml_names_file_and_rule(tmp_path: Path, rules: str, message: str) -> None:
    path = tmp_path / "mip.yaml"
    path.write_text(rules, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config({"mip": {"enabled": True, "rules_path": str(path)}})
    text = str(raised.value)
    assert text.startswith("mip")
    assert message.replace("Value error, ", "") in text


def test_inline_rules_report_their_key_path() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'mip.rules\[0\].when.princpal' — did you mean"):
        load_config(
            {"mip": {"enabled": True, "rules": [{"name": "a", "when": {"princpal": "x"}, "deny": "no"}]}}
        )
    with pytest.raises(ConfigError, match="give rules inline or in rules_path, not both"):
        load_config({"mip": {"rules_path": "x.yaml", "rules": [{"name": "a", "deny": "x"}]}})
    with pytest.raises(ConfigError, match="an enabled mip needs rules"):
        load_config({"mip": {"enabled": True}})


def test_disabled_mip_routes_nothing(mip_file: Path) -> None:
    config: dict[str, Any] = {"mip": {"enabled": False, "rules_path": str(mip_file)}}
    router = MipRouter.from_config(load_config(config).mip)
    assert not router.enabled
