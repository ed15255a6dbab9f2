"""``explain``: which memory intent rule decided a request, and why every earlier rule did not."""

from __future__ import annotations

from astrocyte.mip.router import MipDecision

__all__ = ["explain", "explain_json"]


def _facts_line(decision: MipDecision) -> str:
    facts = decision.facts
    given = {
        "bank": facts.bank_id,
        "content_type": facts.content_type,
        "tags": list(facts.tags) or None,
        "metadata": dict(facts.metadata) or None,
        "principal": facts.principal,
        "agent": facts.agent,
        "query": facts.query,
    }
    shown = ", ".join(f"{key}={value!r}" for key, value in given.items() if value is not None)
    return f"{facts.operation} request: {shown or '(no attributes)'}"


def explain(decision: MipDecision) -> list[str]:
    """Human-readable lines: the request, each rule evaluated (``match`` / ``skip`` and why), the outcome."""
    lines = [_facts_line(decision)]
    for check in decision.checks:
        mark = "match" if check.matched else "skip "
        lines.append(f"  {mark} {check.rule}: " + "; ".join(check.reasons))
    rule = decision.rule
    if rule is None:
        lines.append("outcome: no rule matched — the request is unchanged")
    elif rule.deny is not None:
        lines.append(f"outcome: denied by {rule.name!r}: {rule.deny}")
    else:
        outcome = f"outcome: rule {rule.name!r} routes to banks {decision.banks}"
        if decision.facts.operation == "recall" and rule.strategies is not None:
            outcome += f" with strategy weights {rule.strategies}"
        lines.append(outcome)
    return lines


def explain_json(decision: MipDecision) -> dict[str, object]:
    """The same explanation as JSON data (for tools)."""
    rule = decision.rule
    return {
        "operation": decision.facts.operation,
        "matched_rule": rule.name if rule is not None else None,
        "denied": decision.denied,
        "banks": decision.banks,
        "strategies": decision.strategies,
        "checks": [{"rule": c.rule, "matched": c.matched, "reasons": c.reasons} for c in decision.checks],
    }
