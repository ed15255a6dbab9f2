"""Text normalisation applied to every retained memory before chunking (sync, pure)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

# C0/C1 control characters except tab and newline; zero-width and BOM characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC-normalise, drop control characters, collapse runs of spaces and of blank lines.

    Line breaks survive (dialogue and paragraph chunkers depend on them); ``\\r\\n`` becomes ``\\n``.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
