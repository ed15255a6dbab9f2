"""Apply an extraction profile's ``metadata_mapping`` and ``tag_rules`` to a request (sync, pure).

The document the JSONPaths read is the inbound message (ingest) or, for a direct retain, the
request's metadata with ``content`` added. Explicit request metadata always wins over mapped values,
so applying a profile twice changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from pydantic import JsonValue

from astrocyte.ingest.jsonpath import JsonPath
from astrocyte.ingest.settings import ExtractionProfile, TagRule
from astrocyte.types import Metadata, MetadataValue, RetainRequest

__all__ = ["apply_profile", "map_metadata", "matching_tags", "request_document"]


def _metadata_value(value: JsonValue) -> MetadataValue:
    """Scalars and flat scalar lists as they are; anything nested as compact JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(v is None or isinstance(v, str | int | float | bool) for v in value):
        return [v for v in value if not isinstance(v, list | dict)]
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def map_metadata(mapping: dict[str, str], document: JsonValue) -> Metadata:
    """``{key: value at path}`` for every path present in ``document``."""
    mapped: Metadata = {}
    for key, path in mapping.items():
        found, value = JsonPath.parse(path).find(document)
        if found:
            mapped[key] = _metadata_value(value)
    return mapped


def _as_text(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _rule_value(rule: TagRule, document: JsonValue, content: str) -> tuple[bool, JsonValue]:
    if rule.path is None:
        return True, content
    return JsonPath.parse(rule.path).find(document)


def _fires(rule: TagRule, found: bool, value: JsonValue) -> bool:
    if rule.present is not None:
        return found == rule.present
    if not found:
        return False
    if rule.equals is not None:
        return value == rule.equals or _as_text(value) == str(rule.equals)
    if rule.contains is not None:
        return rule.contains.lower() in _as_text(value).lower()
    return rule.matches is not None and re.search(rule.matches, _as_text(value)) is not None


def matching_tags(rules: Iterable[TagRule], document: JsonValue, content: str) -> list[str]:
    """Tags of the rules that fire, in rule order, without repeats."""
    tags: list[str] = []
    for rule in rules:
        found, value = _rule_value(rule, document, content)
        if _fires(rule, found, value):
            shown = _as_text(value) if found and value is not None else ""
            tags.append(rule.tag.replace("{value}", shown))
    return list(dict.fromkeys(tags))


def request_document(request: RetainRequest) -> dict[str, JsonValue]:
    """What a direct retain's profile paths read: the metadata plus ``content``."""
    document: dict[str, JsonValue] = {"content": request.content}
    for key, value in request.metadata.items():
        document[key] = list(value) if isinstance(value, list) else value
    return document


def apply_profile(
    request: RetainRequest, profile: ExtractionProfile, document: JsonValue | None = None
) -> RetainRequest:
    """``request`` with the profile's content type (when the request set none), mapped metadata
    (explicit keys win) and rule tags added."""
    source = request_document(request) if document is None else document
    metadata: Metadata = {**map_metadata(profile.metadata_mapping, source), **request.metadata}
    tags = list(dict.fromkeys([*request.tags, *matching_tags(profile.tag_rules, source, request.content)]))
    update: dict[str, object] = {"metadata": metadata, "tags": tags}
    if profile.content_type is not None and "content_type" not in request.model_fields_set:
        update["content_type"] = profile.content_type
    return request.model_copy(update=update)
