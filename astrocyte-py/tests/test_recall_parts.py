from __future__ import annotations

from datetime import UTC, datetime

import pytest

from astrocyte.pipeline.entities import (
    entity_id,
    extract_entities_rules,
    parse_llm_entities,
    query_entity_names,
)
from astrocyte.pipeline.fusion import rrf_fuse
from astrocyte.pipeline.temporal import _MAY_NAME_TIME, _PATTERNS, parse_time_expression
from astrocyte.pipeline.tokens import count_tokens
from astrocyte.policy.pii import PiiScanner

NOW = datetime(2023, 7, 15, 12, 0, tzinfo=UTC)


def test_rrf_weights_and_ties() -> None:
    fused = rrf_fuse({"a": ["x", "y", "z"], "b": ["y", "x"]}, {"a": 1.0, "b": 1.0}, k=60)
    assert [i for i, _ in fused][:2] in (["x", "y"], ["y", "x"])
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = rrf_fuse({"a": ["x"], "b": ["y"]}, {"a": 1.0, "b": 2.0})
    assert [i for i, _ in weighted] == ["y", "x"]
    assert rrf_fuse({"a": ["x"]}, {"a": 0.0}) == []
    assert rrf_fuse({"a": ["x", "x", "y"]}) == rrf_fuse({"a": ["x", "y"]})


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("What did she do last May?", "2023-05-01", "2023-06-01"),
        ("events in 2022", "2022-01-01", "2023-01-01"),
        ("on 8 May, 2023", "2023-05-08", "2023-05-09"),
        ("May 8, 2023", "2023-05-08", "2023-05-09"),
        ("around May 2023", "2023-05-01", "2023-06-01"),
        ("2023-02-03 meeting", "2023-02-03", "2023-02-04"),
        ("what happened yesterday", "2023-07-14", "2023-07-15"),
        ("three weeks ago", "2023-06-19", "2023-06-26"),
        ("last week", "2023-07-03", "2023-07-10"),
        ("this month", "2023-07-01", "2023-08-01"),
        ("last year", "2022-01-01", "2023-01-01"),
        ("in December", "2022-12-01", "2023-01-01"),
        ("in June", "2023-06-01", "2023-07-01"),
    ],
)
def test_temporal_expressions(query: str, start: str, end: str) -> None:
    match = parse_time_expression(query, NOW)
    assert match is not None
    assert match.time_range.start is not None and match.time_range.end is not None
    assert match.time_range.start.date().isoformat() == start
    assert match.time_range.end.date().isoformat() == end


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("MEETING 2023-02-03", "iso"),
        ("on 8th of SEPT. 2023", "day_month_year"),
        ("Feb 8, 2023", "month_day_year"),
        ("around JULY, 2023", "month_year"),
        ("an hour and Two Weeks Ago", "ago"),
        ("over the PAST DAYS", "relative_period"),
        ("since Previous Oct.", "last_month_name"),
        ("DURING august", "in_month"),
        ("Since 1999", "year"),
        ("what about TONIGHT?", "day_word"),
        ("Lately, she paints", "recent"),
    ],
)
def test_time_prefilter_lets_every_kind_of_expression_through(text: str, kind: str) -> None:
    # The cheap pre-check must never hide an expression one of the patterns would find.
    assert next(k for k, pattern in _PATTERNS if pattern.search(text)) == kind
    assert _MAY_NAME_TIME.search(text) is not None


def test_no_temporal_expression() -> None:
    assert parse_time_expression("When did Caroline go to the support group?", NOW) is None
    assert parse_time_expression("May I ask what she likes?", NOW) is None


def test_rule_entities() -> None:
    text = "Thanks Caroline! I met Melanie in New York on 8 May, 2023. Mail bob@x.org or @dave_k https://x.org/a."
    found = {(e.name, e.entity_type) for e in extract_entities_rules(text)}
    assert {("Caroline", "name"), ("Melanie", "name"), ("New York", "name")} <= found
    assert {
        ("bob@x.org", "email"),
        ("@dave_k", "handle"),
        ("https://x.org/a", "url"),
        ("8 May, 2023", "date"),
    } <= found
    assert ("Thanks", "name") not in found
    assert entity_id("New  York") == entity_id("new york")
    assert "Melanie" in query_entity_names("What did Caroline's friend Melanie Smith paint?")


def test_llm_entity_parsing() -> None:
    parsed = parse_llm_entities('```json\n[{"name": "Lisbon", "type": "place"}, {"bad": 1}]\n```')
    assert parsed is not None and [(e.name, e.entity_type) for e in parsed] == [("Lisbon", "place")]
    assert parse_llm_entities("not json") is None
    assert parse_llm_entities('{"name": "x"}') is None


def test_pii_scanner_detects_and_redacts() -> None:
    scanner = PiiScanner()
    text = (
        "Mail bob@example.com, card 4111 1111 1111 1111, phone +1 415-555-0134, ip 10.0.0.1, "
        "ssn 123-45-6789, iban GB82 WEST 1234 5698 7654 32, key sk-abcdefghijklmnop1234567890."
    )
    redacted, findings = scanner.redact(text)
    kinds = {f.pii_type for f in findings}
    assert kinds == {"email", "credit_card", "phone", "ip_address", "ssn", "iban", "api_key"}
    for raw in ("bob@example.com", "4111 1111 1111 1111", "123-45-6789", "sk-abcdef"):
        assert raw not in redacted
    # A 16-digit number failing the Luhn check is not a card.
    assert all(f.pii_type != "credit_card" for f in scanner.scan("order 1234 5678 9012 3456"))
    assert scanner.scan("We met on 2023-05-08 and paid 1200 dollars.") == []
    with pytest.raises(ValueError, match="unknown PII"):
        PiiScanner(["nope"])


def test_token_count_positive_and_monotonic() -> None:
    assert count_tokens("") == 0
    assert 0 < count_tokens("hello world") < count_tokens("hello world " * 50)
