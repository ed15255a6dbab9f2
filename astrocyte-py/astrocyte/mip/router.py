"""Evaluate memory intent rules: deterministic, in order, first matching rule that acts wins."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from astrocyte.errors import AccessDeniedError, InvalidRequestError
from astrocyte.identity import AstrocyteContext, split_principal
from astrocyte.mip.settings import MipConfig, MipMatch, MipRule, Operation
from astrocyte.types import MetadataValue, RetainRequest

__all__ = [
    "IntentDeniedError",
    "IntentFacts",
    "MipDecision",
    "MipRouter",
    "RecallRoute",
    "RuleCheck",
]


class IntentDeniedError(AccessDeniedError):
    """A memory intent rule refuses the request (``rule`` names it)."""

    code = "intent_denied"

    def __init__(self, rule: str, reason: str, *, principal: str | None, bank_id: str | None) -> None:
        self.rule = rule
        super().__init__(
            f"denied by mip rule {rule!r}: {reason}", principal=principal, bank_id=bank_id, permission=None
        )


@dataclass(frozen=True, slots=True)
class IntentFacts:
    """What rules may match on, taken from one request and its caller."""

    operation: Operation
    bank_id: str | None = None
    content_type: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    principal: str | None = None
    agent: str | None = None
    query: str | None = None

    @classmethod
    def of_retain(cls, request: RetainRequest, context: AstrocyteContext | None) -> IntentFacts:
        return cls(
            "retain",
            request.bank_id,
            request.content_type,
            tuple(request.tags),
            request.metadata,
            *_caller(context),
        )

    @classmethod
    def of_recall(
        cls, query: str, bank_id: str | None, tags: list[str] | None, context: AstrocyteContext | None
    ) -> IntentFacts:
        principal, agent = _caller(context)
        return cls("recall", bank_id, None, tuple(tags or ()), {}, principal, agent, query)


def _caller(context: AstrocyteContext | None) -> tuple[str | None, str | None]:
    """(principal, agent id): the agent is the actor when it is an agent, else an ``agent:`` principal."""
    if context is None:
        return None, None
    if context.actor is not None and context.actor.type == "agent":
        return context.principal, context.actor.id
    parts = split_principal(context.principal or "")
    return context.principal, parts[1] if parts is not None and parts[0] == "agent" else None


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """Why one rule did or did not decide a request."""

    rule: str
    matched: bool
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class MipDecision:
    """The outcome for one request: the deciding rule (``None``: no rule, the request is unchanged)."""

    facts: IntentFacts
    rule: MipRule | None
    checks: list[RuleCheck]
    banks: list[str] = field(default_factory=list)

    @property
    def denied(self) -> str | None:
        return self.rule.deny if self.rule is not None else None

    @property
    def strategies(self) -> dict[str, float] | None:
        return self.rule.strategies if self.rule is not None else None


def _glob(value: str | None, patterns: list[str], label: str) -> tuple[bool, str]:
    if value is None:
        return False, f"{label}: none given, rule needs {patterns}"
    for pattern in patterns:
        if fnmatch.fnmatchcase(value, pattern):
            return True, f"{label} {value!r} matches {pattern!r}"
    return False, f"{label} {value!r} matches none of {patterns}"


def _metadata(facts: IntentFacts, wanted: Mapping[str, object]) -> tuple[bool, str]:
    for key, expected in wanted.items():
        actual = facts.metadata.get(key)
        if isinstance(expected, str) and isinstance(actual, str):
            ok = fnmatch.fnmatchcase(actual, expected)
        else:
            ok = key in facts.metadata and actual == expected
        if not ok:
            return False, f"metadata.{key} is {actual!r}, rule needs {expected!r}"
    return True, f"metadata matches {dict(wanted)}"


def _conditions(match: MipMatch, facts: IntentFacts) -> list[tuple[bool, str]]:
    """One (held, explanation) per condition the rule sets, in a fixed order."""
    results: list[tuple[bool, str]] = []
    if match.operation is not None:
        held = facts.operation in match.operation
        results.append(
            (held, f"operation {facts.operation!r} {'in' if held else 'not in'} {match.operation}")
        )
    if match.content_type is not None:
        held = facts.content_type in match.content_type
        word = "in" if held else "not in"
        results.append((held, f"content_type {facts.content_type!r} {word} {match.content_type}"))
    if match.tags_any is not None:
        common = sorted(set(facts.tags) & set(match.tags_any))
        results.append(
            (
                bool(common),
                f"tags {list(facts.tags)} share {common}" if common else f"no tag of {match.tags_any}",
            )
        )
    if match.tags_all is not None:
        missing = sorted(set(match.tags_all) - set(facts.tags))
        results.append(
            (not missing, f"missing tags {missing}" if missing else f"has all tags {match.tags_all}")
        )
    if match.metadata is not None:
        results.append(_metadata(facts, match.metadata))
    if match.principal is not None:
        results.append(_glob(facts.principal, match.principal, "principal"))
    if match.agent is not None:
        results.append(_glob(facts.agent, match.agent, "agent"))
    if match.bank is not None:
        results.append(_glob(facts.bank_id, match.bank, "bank"))
    if match.query_matches is not None:
        held = facts.query is not None and re.search(match.query_matches, facts.query) is not None
        results.append((held, f"query {'matches' if held else 'does not match'} /{match.query_matches}/"))
    return results


@dataclass(frozen=True, slots=True)
class RecallRoute:
    """The banks and strategy weights a recall runs with, and the rules that decided them."""

    banks: list[str]
    strategies: dict[str, float] | None
    rules: list[str]


class MipRouter:
    """Applies the ``mip:`` rules to requests."""

    def __init__(self, rules: Sequence[MipRule]) -> None:
        self._rules = list(rules)

    @classmethod
    def from_config(cls, config: MipConfig) -> MipRouter:
        """The router of the ``mip:`` section (no rules at all while it is not enabled)."""
        return cls(config.effective_rules() if config.enabled else [])

    @property
    def enabled(self) -> bool:
        return bool(self._rules)

    def decide(self, facts: IntentFacts) -> MipDecision:
        """Evaluate every rule up to the first that matches and acts on ``facts.operation``."""
        checks: list[RuleCheck] = []
        for rule in self._rules:
            if not rule.acts_on(facts.operation):
                checks.append(RuleCheck(rule.name, False, [f"has no effect on {facts.operation}"]))
                continue
            conditions = _conditions(rule.when, facts) or [(True, "no conditions: matches everything")]
            failed = [text for held, text in conditions if not held]
            checks.append(RuleCheck(rule.name, not failed, failed or [text for _, text in conditions]))
            if not failed:
                return MipDecision(facts, rule, checks, self._banks(rule, facts))
        return MipDecision(facts, None, checks, [facts.bank_id] if facts.bank_id else [])

    def route_retain(self, request: RetainRequest, context: AstrocyteContext | None) -> list[RetainRequest]:
        """The request once per target bank (the first is the primary); raises when a rule denies."""
        decision = self._enforce(IntentFacts.of_retain(request, context))
        if decision.rule is None:
            return [request]
        return [request.model_copy(update={"bank_id": bank}) for bank in decision.banks]

    def route_recall(
        self, query: str, banks: list[str], tags: list[str] | None, context: AstrocyteContext | None
    ) -> RecallRoute:
        """Where a recall over ``banks`` goes: each bank is decided on its own (any deny refuses the
        whole recall); routed bank sets are joined in order, the first rule with weights sets them."""
        decisions = [self._enforce(IntentFacts.of_recall(query, bank, tags, context)) for bank in banks]
        routed = list(dict.fromkeys(bank for decision in decisions for bank in decision.banks))
        weights = next((d.strategies for d in decisions if d.strategies is not None), None)
        rules = [d.rule.name for d in decisions if d.rule is not None]
        return RecallRoute(routed or banks, weights, list(dict.fromkeys(rules)))

    def _enforce(self, facts: IntentFacts) -> MipDecision:
        decision = self.decide(facts)
        if decision.rule is not None and decision.denied is not None:
            raise IntentDeniedError(
                decision.rule.name, decision.denied, principal=facts.principal, bank_id=facts.bank_id
            )
        return decision

    @staticmethod
    def _banks(rule: MipRule, facts: IntentFacts) -> list[str]:
        templates = rule.retain_to if facts.operation == "retain" else rule.recall_from
        if templates is None:
            return [facts.bank_id] if facts.bank_id else []
        values = {"bank_id": facts.bank_id, "principal": facts.principal, "agent": facts.agent}
        banks: list[str] = []
        for template in templates:
            try:
                banks.append(template.format_map(_Required(values)))
            except KeyError as exc:
                raise InvalidRequestError(
                    f"mip rule {rule.name!r} routes to {template!r} but the request has no {exc.args[0]}; "
                    "pass a bank_id / context or change the rule",
                    field="bank_id",
                ) from None
        return list(dict.fromkeys(banks))


class _Required(dict[str, str | None]):
    """Template values where a ``None`` counts as missing."""

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if value is None:
            raise KeyError(key)
        return value
