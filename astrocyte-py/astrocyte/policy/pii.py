"""PII barrier: detect and redact personal data before it reaches any store (sync, pure).

Detectors: email, phone, credit card (Luhn-checked), IBAN (mod-97 checked), US SSN, IPv4/IPv6
addresses and API-key-like secrets. Redaction replaces each finding with ``[REDACTED:<type>]``.
:class:`PiiBarrier` applies the configured action — per extraction profile, per bank glob, else the
``pii:`` default — and never logs the text it scanned, only the kinds of data found.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from astrocyte.errors import PiiRejectedError

if TYPE_CHECKING:
    from astrocyte.config import PiiSettings

__all__ = ["PII_TYPES", "PiiBarrier", "PiiFinding", "PiiScanner"]

logger = logging.getLogger("astrocyte.pii")


@dataclass(frozen=True, slots=True)
class PiiFinding:
    pii_type: str
    start: int
    end: int


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    rotated = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rotated)
    return len(compact) >= 15 and int(numeric) % 97 == 1


def _ip_ok(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _always(_: str) -> bool:
    return True


_DETECTORS: dict[str, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    "email": (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), _always),
    "credit_card": (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), _luhn_ok),
    "iban": (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), _iban_ok),
    "ssn": (re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"), _always),
    "phone": (
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?"
            r"(?:\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{2,4}[ .-]\d{3,4}[ .-]?\d{3,4})\b"
        ),
        _always,
    ),
    "ip_address": (
        re.compile(
            r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{1,4})*\b"
        ),
        _ip_ok,
    ),
    "api_key": (
        re.compile(
            r"\b(?:sk|pk|rk|ghp|gho|ghs|xox[abp]|AKIA)[-_A-Za-z0-9]{16,}\b"
            r"|\b(?=[A-Za-z0-9_-]{32,}\b)(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
        ),
        _always,
    ),
}
#: Detection order matters: earlier types claim their span first (a card number is not also a phone).
PII_TYPES: tuple[str, ...] = tuple(_DETECTORS)


class PiiScanner:
    """Finds PII of the configured ``types`` in text."""

    def __init__(self, types: Iterable[str] = PII_TYPES) -> None:
        unknown = set(types) - set(PII_TYPES)
        if unknown:
            raise ValueError(f"unknown PII types: {sorted(unknown)}")
        self._types = [t for t in PII_TYPES if t in set(types)]

    def scan(self, text: str) -> list[PiiFinding]:
        findings: list[PiiFinding] = []
        taken: list[tuple[int, int]] = []
        for pii_type in self._types:
            pattern, check = _DETECTORS[pii_type]
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < e and s < end for s, e in taken) or not check(match.group(0)):
                    continue
                taken.append((start, end))
                findings.append(PiiFinding(pii_type, start, end))
        return sorted(findings, key=lambda f: f.start)

    def redact(self, text: str) -> tuple[str, list[PiiFinding]]:
        findings = self.scan(text)
        pieces: list[str] = []
        cursor = 0
        for finding in findings:
            pieces.append(text[cursor : finding.start])
            pieces.append(f"[REDACTED:{finding.pii_type}]")
            cursor = finding.end
        pieces.append(text[cursor:])
        return "".join(pieces), findings


class PiiBarrier:
    """The ``pii:`` section applied to text bound for a bank.

    Precedence: ``pii.profiles[<extraction_profile>]``, then the first ``pii.banks`` glob matching the
    bank, then the section's own ``action``/``types``; an override's unset keys inherit.
    """

    def __init__(self, settings: PiiSettings) -> None:
        self._settings = settings
        self._scanners: dict[tuple[str, ...], PiiScanner] = {}

    def rule_for(self, bank_id: str, profile: str | None = None) -> tuple[str, tuple[str, ...]]:
        """The ``(action, types)`` that apply to ``bank_id`` (and the request's extraction profile)."""
        settings = self._settings
        override = settings.profiles.get(profile) if profile else None
        if override is None:
            override = next(
                (o for pattern, o in settings.banks.items() if fnmatch.fnmatchcase(bank_id, pattern)), None
            )
        action = settings.action if override is None or override.action is None else override.action
        types = settings.types if override is None or override.types is None else override.types
        return action, tuple(types)

    def _scanner(self, types: tuple[str, ...]) -> PiiScanner:
        if types not in self._scanners:
            self._scanners[types] = PiiScanner(types)
        return self._scanners[types]

    def scrub(self, text: str, bank_id: str, profile: str | None = None, *, field: str = "content") -> str:
        """``text`` as it may be stored: redacted, unchanged (warn/off), or :class:`PiiRejectedError`."""
        action, types = self.rule_for(bank_id, profile)
        if action == "off" or not types:
            return text
        scanner = self._scanner(types)
        if action == "redact":
            redacted, findings = scanner.redact(text)
            if findings:
                logger.info("pii redacted", extra={"bank_id": bank_id, "pii_types": _kinds(findings)})
            return redacted
        findings = scanner.scan(text)
        if findings and action == "reject":
            raise PiiRejectedError(
                f"{field} contains PII ({', '.join(_kinds(findings))}) and the PII action for bank "
                f"{bank_id!r} is 'reject'",
                field=field,
            )
        if findings:
            logger.warning("pii detected", extra={"bank_id": bank_id, "pii_types": _kinds(findings)})
        return text


def _kinds(findings: list[PiiFinding]) -> list[str]:
    return sorted({f.pii_type for f in findings})
