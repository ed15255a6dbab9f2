"""Entity extraction for the graph strategy.

The default extractor is deterministic rules (no model): capitalised name sequences, dates, emails,
URLs and @handles. :class:`LLMEntityExtractor` asks the configured ``llm_provider`` instead and
falls back to the rules when the model's answer is unusable.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from astrocyte.provider import LLMProvider
from astrocyte.types import LLMMessage

__all__ = [
    "ExtractedEntity",
    "LLMEntityExtractor",
    "entity_id",
    "extract_entities_rules",
    "query_entity_names",
]


@dataclass(frozen=True, slots=True)
class ExtractedEntity:
    name: str
    entity_type: str


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z_][A-Za-z0-9_]{1,30}\b")
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DATE = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})\s+\d{{4}})\b"
)
# Sequences of capitalised words (allowing "of"/"de"-style connectors inside), e.g. "New York", "Bank of America".
_NAME = re.compile(
    r"\b[A-Z][\w'’-]*[a-z0-9][\w'’-]*(?:\s+(?:(?:of|de|van|von|der|la|the)\s+)?[A-Z][\w'’-]+)*"
)
# Capitalised words that are not names on their own (sentence starters, pronouns, days, months).
_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "if",
        "in",
        "is",
        "it",
        "its",
        "it's",
        "just",
        "let",
        "me",
        "my",
        "no",
        "not",
        "of",
        "oh",
        "ok",
        "okay",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "yeah",
        "you",
        "your",
        "hey",
        "hi",
        "hello",
        "thanks",
        "thank",
        "wow",
        "great",
        "sure",
        "well",
        "also",
        "maybe",
        "sorry",
        "good",
        "nice",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "yesterday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


def entity_id(name: str) -> str:
    """Stable id of an entity within a bank: case- and whitespace-insensitive name hash."""
    key = " ".join(name.lower().split())
    return "ent_" + hashlib.blake2b(key.encode("utf-8"), digest_size=10).hexdigest()


def _is_common(word: str) -> bool:
    key = word.lower().replace("’", "'")
    return key in _NOT_NAMES or key.removesuffix("'s") in _NOT_NAMES


def _names(text: str) -> list[str]:
    found: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        # Trim leading non-name words ("Thanks Caroline" -> "Caroline").
        while words and _is_common(words[0]):
            words = words[1:]
        if words and not (len(words) == 1 and len(words[0]) < 2):
            found.append(
                " ".join(words).rstrip("'’s") if words[-1].endswith(("'s", "’s")) else " ".join(words)
            )
    return found


def extract_entities_rules(text: str) -> list[ExtractedEntity]:
    """Deterministic entities of ``text``, de-duplicated case-insensitively, in order of appearance."""
    found: list[ExtractedEntity] = []
    found += [ExtractedEntity(m.group(0), "email") for m in _EMAIL.finditer(text)]
    found += [ExtractedEntity(m.group(0).rstrip(".,;:!?"), "url") for m in _URL.finditer(text)]
    found += [ExtractedEntity(m.group(0), "handle") for m in _HANDLE.finditer(text)]
    found += [ExtractedEntity(m.group(0), "date") for m in _DATE.finditer(text)]
    scrubbed = _URL.sub(" ", _EMAIL.sub(" ", text))
    found += [ExtractedEntity(name, "name") for name in _names(scrubbed)]
    seen: set[str] = set()
    unique: list[ExtractedEntity] = []
    for entity in found:
        key = entity.name.lower()
        if key not in seen:
            seen.add(key)
            unique.append(entity)
    return unique


def query_entity_names(query: str) -> list[str]:
    """Candidate entity names in a recall query: rule entities plus each capitalised word alone
    (so "Caroline's" and "Melanie Smith" both reach the graph)."""
    entities = extract_entities_rules(query)
    names = [e.name for e in entities]
    for entity in entities:
        parts = entity.name.split()
        if entity.entity_type == "name" and len(parts) > 1:
            names.extend(p for p in parts if not _is_common(p))
    return list(dict.fromkeys(names))


_LLM_PROMPT = (
    "Extract the named entities (people, places, organisations, products, events, dates) from the text. "
    'Answer with JSON only: a list of objects {"name": "...", "type": "person|place|organization|'
    'product|event|date|other"}.'
)


class LLMEntityExtractor:
    """Entity extraction by the configured LLM; falls back to the rules on an unusable answer."""

    def __init__(self, llm: LLMProvider, *, model: str | None = None) -> None:
        self._llm = llm
        self._model = model

    async def extract(self, text: str) -> list[ExtractedEntity]:
        completion = await self._llm.complete(
            [LLMMessage(role="system", content=_LLM_PROMPT), LLMMessage(role="user", content=text)],
            model=self._model,
            max_tokens=512,
        )
        parsed = parse_llm_entities(completion.text)
        return parsed if parsed is not None else extract_entities_rules(text)


def parse_llm_entities(answer: str) -> list[ExtractedEntity] | None:
    """Parse the model's JSON answer (tolerating a fenced code block); ``None`` when unusable."""
    body = answer.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list):
        return None
    entities: list[ExtractedEntity] = []
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            kind = item.get("type")
            entities.append(ExtractedEntity(item["name"].strip(), kind if isinstance(kind, str) else "other"))
    return entities
