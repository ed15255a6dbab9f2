"""``astrocyte bench locomo --tiered`` and ``astrocyte bench authority`` on a tiny LoCoMo-format file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from astrocyte.cli import main

_TURNS = [
    ("Caroline", "I went to the LGBTQ support group yesterday and it was powerful."),
    ("Melanie", "That sounds great! I painted a sunrise over the lake last week."),
    ("Caroline", "I am researching adoption agencies for my future family."),
    ("Melanie", "My kids loved the camping trip to the mountains."),
]


def _locomo(tmp_path: Path) -> Path:
    session = [{"speaker": s, "dia_id": f"D1:{i}", "text": t} for i, (s, t) in enumerate(_TURNS, start=1)]
    sample = {
        "sample_id": "conv-test",
        "conversation": {
            "speaker_a": "Caroline",
            "speaker_b": "Melanie",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": session,
        },
        "qa": [
            {"question": "When did Caroline go to the support group?", "evidence": ["D1:1"], "category": 2},
            {"question": "What did Melanie paint?", "evidence": ["D1:2"], "category": 4},
            {"question": "What is Caroline researching?", "evidence": ["D1:3"], "category": 4},
        ],
    }
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    return path


def test_locomo_tiered_variant_is_scored_in_the_same_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert main(["bench", "locomo", "--data", str(_locomo(tmp_path)), "--tiered", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report["variants"]) == ["bm25", "vector", "rrf", "astrocyte", "astrocyte+tiered"]
    tiered = report["variants"]["astrocyte+tiered"]
    assert sum(tiered["stopped_at_tier"].values()) == 3
    assert "stopped_at_tier" not in report["variants"]["astrocyte"]
    assert tiered["recall"]["10"] == 1.0  # four memories: every evidence turn is in the top 10
    assert "tiered retrieval: R@10 100.0% vs 100.0%, p50 tiered/astrocyte = " in capsys.readouterr().out


def test_authority_token_cost_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "authority", "--data", str(_locomo(tmp_path))]) == 0
    out = capsys.readouterr().out
    rows = [line.split("│") for line in out.splitlines() if line.startswith("│")]
    assert [row[1].strip() for row in rows] == ["4"]  # sizes beyond the four turns collapse into one
    block = int(rows[0][3].strip())
    assert 60 < block < 150
