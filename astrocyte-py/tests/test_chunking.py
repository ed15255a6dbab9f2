from __future__ import annotations

import pytest

from astrocyte.pipeline.chunking import (
    chunk_content,
    chunk_dialogue,
    chunk_fixed,
    chunk_paragraphs,
    chunk_sentences,
    split_sentences,
)
from astrocyte.pipeline.normalize import normalize_text


def test_normalize_nfc_controls_and_whitespace() -> None:
    raw = "Cafe\u0301\u200b  is\t\tnice\x07\r\n\r\n\r\n\r\nSecond   line "
    assert normalize_text(raw) == "Café is nice\n\nSecond line"


def test_split_sentences_keeps_abbreviations() -> None:
    text = "Dr. Smith met Mrs. Jones. They talked! Did it help? Yes."
    assert split_sentences(text) == ["Dr. Smith met Mrs. Jones.", "They talked!", "Did it help?", "Yes."]


def test_sentence_chunks_respect_max_size_and_keep_text() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_sentences(text, 120)
    assert all(len(c) <= 120 for c in chunks)
    assert " ".join(chunks) == text


def test_paragraph_chunker_splits_on_blank_lines() -> None:
    text = "First paragraph line.\n\nSecond paragraph.\n\nThird one."
    assert chunk_paragraphs(text, 25) == ["First paragraph line.", "Second paragraph.", "Third one."]
    assert chunk_paragraphs(text, 500) == [text]


def test_fixed_chunks_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(200))
    chunks = chunk_fixed(text, 100, overlap=30)
    assert all(len(c) <= 100 for c in chunks)
    assert len(chunks) > 5
    # consecutive windows share text
    assert chunks[0][-10:].split()[-1] in chunks[1]
    with pytest.raises(ValueError, match="positive"):
        chunk_fixed(text, 0)


def test_dialogue_keeps_whole_turns_and_speakers() -> None:
    text = "Alice: Hi Bob, how was Lisbon?\nBob: Great, I saw the tram.\nIt was yellow.\nAlice: Nice!"
    chunks = chunk_dialogue(text, 60)
    assert [c.text for c in chunks] == [
        "Alice: Hi Bob, how was Lisbon?",
        "Bob: Great, I saw the tram. It was yellow.\nAlice: Nice!",
    ]
    assert chunks[0].speakers == ("Alice",)
    assert chunks[1].speakers == ("Bob", "Alice")


def test_dialogue_splits_oversized_turn_and_keeps_speaker_on_every_piece() -> None:
    turn = " ".join(f"I did thing number {i} today." for i in range(30))
    chunks = chunk_dialogue(f"Caroline: {turn}\nMelanie: Wow.", 120)
    caroline = [c for c in chunks if "Caroline" in c.speakers]
    assert len(caroline) > 2
    for chunk in chunks:
        for line in chunk.text.split("\n"):
            assert line.startswith(("Caroline: ", "Melanie: "))
        assert len(chunk.text) <= 120
    assert chunks[-1].text.endswith("Melanie: Wow.")


def test_chunk_content_routes_by_content_type() -> None:
    dialogue = chunk_content("A: one\nB: two", "conversation", max_size=800)
    assert dialogue[0].speakers == ("A", "B")
    short = chunk_content("Just a note.", "text")
    assert [c.text for c in short] == ["Just a note."]
    email = chunk_content("Hello team,\n\n" + "x " * 500, "email", max_size=300)
    assert email[0].text == "Hello team,"
    fixed = chunk_content("y " * 500, "text", strategy="fixed", max_size=200, overlap=20)
    assert len(fixed) >= 5
