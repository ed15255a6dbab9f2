"""Speaker awareness for recall (sync, pure): a query that names a participant ("What did Caroline
paint?") is most often answered by that participant's own turns."""

from __future__ import annotations

import re
from collections.abc import Iterable

from astrocyte.types import Metadata

__all__ = ["named_speakers", "speakers_of"]

# "Caroline: text" — the dialogue chunker's turn prefix; a short name-like run before the colon.
_SPEAKER_PREFIX = re.compile(r"^\s*([^\W\d_][\w.'\- ]{0,39}?)\s*:\s")


def speakers_of(text: str, metadata: Metadata) -> list[str]:
    """Who speaks in a memory: the retain pipeline's ``_speakers`` list (dialogue chunks), else
    ``metadata["speaker"]``, else a ``Name: …`` text prefix."""
    listed = metadata.get("_speakers")
    if isinstance(listed, list):
        names = [name.strip() for name in listed if isinstance(name, str) and name.strip()]
        if names:
            return names
    speaker = metadata.get("speaker")
    if isinstance(speaker, str) and speaker.strip():
        return [speaker.strip()]
    if ":" not in text:  # most memories are not dialogue turns; skip the regex for them
        return []
    match = _SPEAKER_PREFIX.match(text)
    return [match.group(1)] if match else []


def named_speakers(query_names: Iterable[str], speakers: Iterable[str]) -> set[str]:
    """The ``speakers`` the query names, by full name or first name, case-insensitively."""
    wanted = {name.casefold() for name in query_names}
    return {
        speaker
        for speaker in speakers
        if speaker.casefold() in wanted or speaker.split()[0].casefold() in wanted
    }
