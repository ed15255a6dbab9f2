"""Input validation: size limits, empty content and queries, bank id syntax (sync, pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from astrocyte.errors import InvalidRequestError, PayloadTooLargeError
from astrocyte.policy.settings import ValidationSettings
from astrocyte.types import RetainRequest

__all__ = ["InputValidator"]


class InputValidator:
    def __init__(self, settings: ValidationSettings) -> None:
        self._settings = settings
        self._bank_pattern = re.compile(settings.bank_id_pattern)

    def bank(self, bank_id: str, field: str = "bank_id") -> None:
        if not self._bank_pattern.fullmatch(bank_id):
            raise InvalidRequestError(
                f"bank id {bank_id!r} has characters a bank id may not hold (no whitespace, control or "
                "glob characters: policy.validation.bank_id_pattern)",
                field=field,
            )

    def retain(self, requests: Sequence[RetainRequest]) -> None:
        limit = self._settings.max_batch_size
        if len(requests) > limit:
            raise PayloadTooLargeError(
                f"{len(requests)} requests in one batch; at most {limit} (policy.validation.max_batch_size)",
                field="requests",
            )
        max_bytes = self._settings.max_content_bytes
        for index, request in enumerate(requests):
            where = "content" if len(requests) == 1 else f"requests[{index}].content"
            if not request.content.strip():
                raise InvalidRequestError("content must not be blank", field=where)
            size = len(request.content.encode("utf-8"))
            if size > max_bytes:
                raise PayloadTooLargeError(
                    f"{size} bytes; at most {max_bytes} (policy.validation.max_content_bytes)", field=where
                )
            self.bank(request.bank_id)

    def query(self, query: str, banks: Sequence[str]) -> None:
        if not query.strip():
            raise InvalidRequestError("query must not be blank", field="query")
        if len(query) > self._settings.max_query_chars:
            raise PayloadTooLargeError(
                f"{len(query)} characters; at most {self._settings.max_query_chars} "
                "(policy.validation.max_query_chars)",
                field="query",
            )
        if len(banks) > self._settings.max_banks_per_request:
            raise InvalidRequestError(
                f"{len(banks)} banks in one request; at most {self._settings.max_banks_per_request} "
                "(policy.validation.max_banks_per_request)",
                field="bank_ids",
            )
        for bank in banks:
            self.bank(bank, field="bank_ids" if len(banks) > 1 else "bank_id")
