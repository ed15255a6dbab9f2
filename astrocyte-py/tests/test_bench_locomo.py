"""``astrocyte bench locomo`` on a small LoCoMo-shaped file (the real split is not vendored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from astrocyte.bench.locomo import VARIANTS, load_locomo
from astrocyte.cli import main


def _write_sample(path: Path) -> None:
    session_1 = [
        {"speaker": "Caroline", "dia_id": "D1:1", "text": "I started pottery classes downtown."},
        {"speaker": "Melanie", "dia_id": "D1:2", "text": "Nice! What did you make first?"},
        {"speaker": "Caroline", "dia_id": "D1:3", "text": "A wobbly blue bowl for my grandmother."},
    ]
    session_2 = [
        {
            "speaker": "Melanie",
            "dia_id": "D2:1",
            "text": "We went camping in the mountains.",
            "blip_caption": "a tent",
        },
        {"speaker": "Caroline", "dia_id": "D2:2", "text": "Sounds peaceful, I love hiking too."},
    ]
    qa: list[dict[str, Any]] = [
        {
            "question": "What classes did Caroline start?",
            "answer": "pottery",
            "evidence": ["D1:1"],
            "category": 4,
        },
        {
            "question": "Where did Melanie go camping?",
            "answer": "mountains",
            "evidence": ["D:2:1"],
            "category": 4,
        },
        {"question": "What did Caroline make?", "answer": 1, "evidence": ["D1:3; D1:1"], "category": 1},
        {"question": "Unanswerable?", "adversarial_answer": "x", "evidence": ["D1:2"], "category": 5},
        {"question": "No evidence left", "answer": "x", "evidence": ["D"], "category": 2},
    ]
    sample = {
        "sample_id": "conv-test",
        "conversation": {
            "speaker_a": "Caroline",
            "speaker_b": "Melanie",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": session_1,
            "session_2_date_time": "10:00 am on 25 May, 2023",
            "session_2": session_2,
        },
        "qa": qa,
    }
    path.write_text(json.dumps([sample]), encoding="utf-8")


def test_loader_repairs_evidence_and_counts_skips(tmp_path: Path) -> None:
    data = tmp_path / "locomo.json"
    _write_sample(data)
    [conv] = load_locomo(data)
    assert [q.evidence for q in conv.questions] == [("D1:1",), ("D2:1",), ("D1:3", "D1:1")]
    assert conv.skipped_questions == 1
    assert conv.turns[3].text == "We went camping in the mountains. [shares a photo: a tent]"


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_bench_reports_every_variant_with_baselines(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = tmp_path / "locomo.json", tmp_path / "report.json"
    _write_sample(data)
    assert main(["bench", "locomo", "--data", str(data), "--store", store, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["variants"]) == list(VARIANTS) == ["bm25", "vector", "rrf", "astrocyte"]
    assert (report["questions"], report["skipped_questions"], report["memories"]) == (3, 1, 5)
    full = report["variants"]["astrocyte"]
    # Five memories: every evidence turn is within the top 5; each question has one in the top 2.
    assert (full["recall"]["5"], full["recall"]["10"]) == (1.0, 1.0)
    assert 0.5 < full["mrr"] <= 1.0
    assert 0.0 < full["recall"]["1"] < 1.0  # the two-evidence question cannot be complete at k=1
    assert full["by_category"]["4 single-hop"]["n"] == 2
    assert full["recall_ms_p50"] > 0
    printed = capsys.readouterr().out
    assert "astrocyte/rrf" in printed
