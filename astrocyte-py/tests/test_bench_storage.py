"""``astrocyte bench storage`` on the built-in stores (small sizes: it is a command, not a timed test)."""

from __future__ import annotations

import pytest

from astrocyte.bench.storage import latency_stats, run_storage_bench, synthetic_memories
from astrocyte.cli import main


def test_latency_stats_median_and_nearest_rank_p95() -> None:
    stats = latency_stats([float(v) for v in range(1, 101)])
    assert stats.p50_ms == 50.5
    assert stats.p95_ms == 95.0
    assert latency_stats([]).p50_ms == 0.0


def test_synthetic_memories_are_distinct_and_deterministic() -> None:
    texts = synthetic_memories(500)
    assert len(set(texts)) == 500
    assert texts == synthetic_memories(500)


async def test_run_reports_every_size_and_strategy_set() -> None:
    stages: set[str] = set()
    report = await run_storage_bench(
        {"vector_store": "memory", "document_store": "memory", "graph_store": "memory"},
        [40, 80],
        store="memory",
        queries=5,
        batch=25,
        raw_write_sample=20,
        dimensions=64,
        progress=lambda stage, done, total: stages.add(stage),
    )
    assert [size.n for size in report.sizes] == [40, 80]
    assert stages == {"retain", "recall"}
    for size in report.sizes:
        assert size.retain_per_s > 0 and size.raw_write_per_s > 0
        assert set(size.recall) == {"vector", "hybrid"}
        for framework, raw in size.recall.values():
            assert 0 < framework.p50_ms <= framework.p95_ms
            assert 0 < raw.p50_ms <= raw.p95_ms


async def test_bulk_import_is_timed_into_fresh_stores() -> None:
    stages: set[str] = set()
    memory_stores = {"vector_store": "memory", "document_store": "memory", "graph_store": "memory"}
    report = await run_storage_bench(
        memory_stores,
        [30],
        store="memory",
        queries=2,
        batch=10,
        raw_write_sample=10,
        dimensions=32,
        progress=lambda stage, done, total: stages.add(stage),
        bulk_store_config=lambda: memory_stores,
    )
    assert stages == {"retain", "recall", "bulk import", "raw bulk write"}
    assert report.sizes[0].bulk is not None
    assert min(report.sizes[0].bulk) > 0


def test_cli_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "storage", "--store", "sqlite", "--n", "30", "--queries", "3", "--batch", "10", "--bulk"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "bench storage — sqlite" in out
    assert "hybrid" in out and "vector" in out
    assert "bulk import into fresh stores" in out


def test_cli_rejects_bad_sizes_and_unknown_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "storage", "--n", "ten"]) == 2
    assert "comma-separated sizes" in capsys.readouterr().err
    assert main(["bench", "storage", "--store", "nosuchstore", "--n", "5"]) == 2
    assert "no vector store named 'nosuchstore'" in capsys.readouterr().err
