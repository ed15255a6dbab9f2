"""Chunkers: split normalised content into memory-sized pieces (sync, pure).

``chunk_content`` routes by content type: conversations and transcripts → dialogue (whole
``Speaker: text`` turns), emails and documents → paragraphs, everything else → sentences. Content
shorter than ``max_chunk_size`` is always one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Chunk",
    "ChunkStrategy",
    "chunk_content",
    "chunk_dialogue",
    "chunk_fixed",
    "chunk_paragraphs",
    "chunk_sentences",
    "split_sentences",
]

ChunkStrategy = Literal["auto", "sentence", "paragraph", "dialogue", "fixed"]

_AUTO_STRATEGY: dict[str, ChunkStrategy] = {
    "conversation": "dialogue",
    "transcript": "dialogue",
    "email": "paragraph",
    "document": "paragraph",
}

# A sentence ends at . ! ? (or …) followed by whitespace, unless the period ends a short abbreviation.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no"}
)
_SPEAKER_LINE = re.compile(r"^(?P<speaker>[^\s:][^:\n]{0,48}?):\s+(?P<text>\S.*)$")


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    speakers: tuple[str, ...] = ()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; keeps abbreviations such as "Dr." inside their sentence."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".").lower()
        if last_word in _ABBREVIATIONS:
            continue
        if candidate:
            pieces.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _group(units: list[str], max_size: int, joiner: str) -> list[str]:
    """Greedily pack units into groups no longer than ``max_size`` (a single long unit stands alone)."""
    groups: list[str] = []
    current: list[str] = []
    size = 0
    for unit in units:
        extra = len(unit) + (len(joiner) if current else 0)
        if current and size + extra > max_size:
            groups.append(joiner.join(current))
            current, size = [], 0
            extra = len(unit)
        current.append(unit)
        size += extra
    if current:
        groups.append(joiner.join(current))
    return groups


def chunk_fixed(text: str, max_size: int, overlap: int = 0) -> list[str]:
    """Windows of at most ``max_size`` characters overlapping by ``overlap``, cut at whitespace if possible."""
    if max_size <= 0:
        raise ValueError("max_size must be positive")
    overlap = max(0, min(overlap, max_size // 2))
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + max_size)
        if end < len(text):
            cut = text.rfind(" ", start + max_size // 2, end)
            end = cut if cut > start else end
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        start = max(end - overlap, start + 1)
    return chunks


def _split_long(unit: str, max_size: int) -> list[str]:
    if len(unit) <= max_size:
        return [unit]
    pieces: list[str] = []
    for sentence in split_sentences(unit):
        pieces.extend(chunk_fixed(sentence, max_size) if len(sentence) > max_size else [sentence])
    return pieces


def chunk_sentences(text: str, max_size: int) -> list[str]:
    units = [piece for sentence in split_sentences(text) for piece in _split_long(sentence, max_size)]
    return _group(units, max_size, " ")


def chunk_paragraphs(text: str, max_size: int) -> list[str]:
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if paragraph:
            units.extend(_group(_split_long(paragraph, max_size), max_size, " "))
    return _group(units, max_size, "\n\n")


def _parse_turns(text: str) -> list[tuple[str | None, str]]:
    """Lines starting ``Speaker:`` open a turn; other lines continue the previous turn."""
    turns: list[tuple[str | None, str]] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        match = _SPEAKER_LINE.match(line)
        if match:
            turns.append((match["speaker"].strip(), match["text"].strip()))
        elif turns:
            speaker, previous = turns[-1]
            turns[-1] = (speaker, f"{previous} {line}")
        else:
            turns.append((None, line))
    return turns


def chunk_dialogue(text: str, max_size: int) -> list[Chunk]:
    """Group whole turns up to ``max_size``; an oversized turn is split by sentence and every piece
    keeps its ``Speaker:`` prefix so attribution is never lost."""
    units: list[tuple[str | None, str]] = []
    for speaker, turn_text in _parse_turns(text):
        prefix = f"{speaker}: " if speaker else ""
        if len(prefix) + len(turn_text) <= max_size:
            units.append((speaker, prefix + turn_text))
            continue
        budget = max(20, max_size - len(prefix))
        units.extend((speaker, prefix + piece) for piece in chunk_sentences(turn_text, budget))
    chunks: list[Chunk] = []
    current: list[tuple[str | None, str]] = []
    size = 0
    for speaker, unit in units:
        if current and size + 1 + len(unit) > max_size:
            chunks.append(_dialogue_chunk(current))
            current, size = [], 0
        current.append((speaker, unit))
        size += len(unit) + (1 if size else 0)
    if current:
        chunks.append(_dialogue_chunk(current))
    return chunks


def _dialogue_chunk(units: list[tuple[str | None, str]]) -> Chunk:
    speakers = tuple(dict.fromkeys(s for s, _ in units if s))
    return Chunk("\n".join(text for _, text in units), speakers)


def chunk_content(
    text: str,
    content_type: str,
    *,
    strategy: ChunkStrategy = "auto",
    max_size: int = 800,
    overlap: int = 100,
) -> list[Chunk]:
    """Split ``text`` (already normalised) into chunks with the strategy for ``content_type``."""
    chosen: ChunkStrategy = _AUTO_STRATEGY.get(content_type, "sentence") if strategy == "auto" else strategy
    if chosen == "dialogue":
        return chunk_dialogue(text, max_size)
    if len(text) <= max_size:
        return [Chunk(text)]
    if chosen == "paragraph":
        return [Chunk(t) for t in chunk_paragraphs(text, max_size)]
    if chosen == "fixed":
        return [Chunk(t) for t in chunk_fixed(text, max_size, overlap)]
    return [Chunk(t) for t in chunk_sentences(text, max_size)]
