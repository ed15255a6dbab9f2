"""Typed ingest errors: one class (and stable ``code``) per bad-input class, so a gateway maps each to
its own 4xx status without parsing messages. ``http_status`` is the suggested status."""

from __future__ import annotations

from astrocyte.errors import InvalidRequestError, NotFoundError

__all__ = [
    "IngestPayloadError",
    "InvalidJsonError",
    "InvalidSignatureError",
    "PayloadTooLargeError",
    "StaleTimestampError",
    "UnknownSourceError",
    "UnresolvedBankError",
]


class UnknownSourceError(NotFoundError):
    """No source of the needed type is configured under this id."""

    code = "unknown_source"
    http_status = 404


class InvalidSignatureError(InvalidRequestError):
    """The signature header is missing or does not match HMAC-SHA256(secret, timestamp.body)."""

    code = "invalid_signature"
    http_status = 401


class StaleTimestampError(InvalidRequestError):
    """The timestamp header is missing, malformed or outside the replay window."""

    code = "stale_timestamp"
    http_status = 401


class PayloadTooLargeError(InvalidRequestError):
    """The body exceeds the source's ``max_body_bytes``."""

    code = "payload_too_large"
    http_status = 413


class InvalidJsonError(InvalidRequestError):
    """The body is not a JSON document (or not UTF-8)."""

    code = "invalid_json"
    http_status = 400


class IngestPayloadError(InvalidRequestError):
    """The message parsed but carries no usable content (no text at ``content_path``...)."""

    code = "invalid_payload"
    http_status = 422


class UnresolvedBankError(IngestPayloadError):
    """``target_bank_template`` names a field the message does not carry."""

    code = "unresolved_bank"
    http_status = 422
