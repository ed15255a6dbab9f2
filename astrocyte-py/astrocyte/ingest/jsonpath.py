"""A small, safe JSONPath subset for mapping message fields (sync, pure).

Supported: the root ``$``, child names ``.name`` or ``['name']`` / ``["name"]``, and list indexes
``[0]`` / ``[-1]``. Nothing is evaluated: no filters, no wildcards, no recursive descent, no scripts,
so a path from configuration can never run code or walk a document without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import JsonValue

__all__ = ["JsonPath", "JsonPathError"]

_STEP = re.compile(
    r"\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)"
    r"|\[(?P<index>-?\d+)\]"
    r"|\[(?P<quote>['\"])(?P<key>(?:(?!(?P=quote)).)*)(?P=quote)\]"
)


class JsonPathError(ValueError):
    """A path outside the supported subset (message says what is allowed)."""


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path: a tuple of keys (str) and indexes (int) from the root."""

    expression: str
    steps: tuple[str | int, ...]

    @classmethod
    def parse(cls, expression: str) -> JsonPath:
        if not expression.startswith("$"):
            raise JsonPathError(f"JSONPath {expression!r} must start with '$' (e.g. $.participant_name)")
        steps: list[str | int] = []
        position = 1
        while position < len(expression):
            match = _STEP.match(expression, position)
            if match is None:
                raise JsonPathError(
                    f"JSONPath {expression!r}: unsupported syntax at {expression[position:]!r} "
                    "(supported: $.name, $['name'], $.list[0])"
                )
            if match.group("name") is not None:
                steps.append(match.group("name"))
            elif match.group("index") is not None:
                steps.append(int(match.group("index")))
            else:
                steps.append(match.group("key"))
            position = match.end()
        return cls(expression, tuple(steps))

    def find(self, document: JsonValue) -> tuple[bool, JsonValue]:
        """``(True, value)`` when the path exists in ``document``, else ``(False, None)``."""
        current = document
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(current, list) or not -len(current) <= step < len(current):
                    return False, None
                current = current[step]
            elif isinstance(current, dict) and step in current:
                current = current[step]
            else:
                return False, None
        return True, current
