"""Hybrid recall end to end with Postgres behind all three stores, and ``astrocyte migrate``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from astrocyte_postgres._schema import MIGRATIONS

from astrocyte import Astrocyte
from astrocyte._discovery import create_provider
from astrocyte.cli import main
from astrocyte.errors import ConfigError

pytestmark = pytest.mark.backend("postgres")

CONVERSATION = [
    ("Caroline", "I went to the LGBTQ support group yesterday and it was so powerful.", "2023-05-08"),
    ("Melanie", "I'm planning a camping trip with the kids next month near Lake Tahoe.", "2023-05-25"),
    ("Caroline", "I have been researching adoption agencies in Portland for weeks.", "2023-05-27"),
    ("Melanie", "Painting helps me relax after work; I painted a sunset last week.", "2023-06-02"),
    ("Caroline", "I moved from Sweden four years ago, my friends here are like family.", "2023-06-09"),
]


def _config(dsn: str, schema: str) -> dict[str, Any]:
    store = {"dsn": dsn, "schema": schema}
    return {
        "vector_store": "postgres",
        "vector_store_config": store,
        "document_store": "postgres",
        "document_store_config": store,
        "graph_store": "pgvector",  # the second entry-point name of the same adapter
        "graph_store_config": store,
    }


@pytest.fixture
async def memory(postgres_dsn: str, postgres_schema: str) -> AsyncIterator[Astrocyte]:
    async with Astrocyte.from_config(_config(postgres_dsn, postgres_schema)) as instance:
        yield instance


async def _seed(memory: Astrocyte, bank: str = "b1") -> list[str]:
    ids: list[str] = []
    for speaker, text, day in CONVERSATION:
        result = await memory.retain(
            f"{speaker}: {text}",
            bank_id=bank,
            content_type="conversation",
            occurred_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
            tags=["chat", speaker.lower()],
            metadata={"speaker": speaker},
        )
        ids.extend(result.memory_ids)
    return ids


async def test_recall_fuses_vector_fulltext_and_graph(memory: Astrocyte) -> None:
    ids = await _seed(memory)
    result = await memory.recall("Which adoption agencies is Caroline researching?", bank_id="b1")
    assert "adoption agencies" in result.hits[0].text
    by_name = {s.name: s for s in result.trace.strategies}
    for name in ("vector", "fulltext", "graph"):
        assert by_name[name].hit_ids, f"strategy {name} found nothing"
        assert by_name[name].error is None
    assert ids[2] in by_name["fulltext"].hit_ids
    assert ids[2] in by_name["graph"].hit_ids  # reached through the entity "Caroline"
    assert {"vector", "fulltext", "graph"} <= set(result.hits[0].strategies)


async def test_neighbour_spreading_runs_on_postgres(postgres_dsn: str, postgres_schema: str) -> None:
    # The conversational profile's spreading needs the document store's neighbour lookup.
    recall = {"neighbor_window": 1, "strategies": {"vector": 0.0}}
    config = _config(postgres_dsn, postgres_schema) | {"retain": {"dedup_threshold": 1.0}, "recall": recall}
    dialogue = [
        "Melanie: Did you finally go to the pottery workshop downtown?",
        "Caroline: Yes! I made a wobbly blue bowl and loved every minute.",
        "Melanie: I walked the dog by the river this morning.",
    ]
    start = datetime(2023, 5, 8, 18, 0, tzinfo=UTC)
    async with Astrocyte.from_config(config) as memory:
        ids = [
            (
                await memory.retain(text, bank_id="b1", content_type="conversation", occurred_at=start)
            ).memory_ids[0]
            for text in dialogue
        ]
        result = await memory.recall("pottery workshop downtown", bank_id="b1", max_results=5)
    assert [hit.memory_id for hit in result.hits[:2]] == ids[:2]
    assert result.hits[1].strategies == ["neighbor"]  # the answer shares no word with the question
    assert ids[2] not in [hit.memory_id for hit in result.hits]


async def test_forget_removes_from_every_postgres_store(memory: Astrocyte) -> None:
    ids = await _seed(memory)
    gone = await memory.forget(bank_id="b1", memory_ids=[ids[2]])
    assert gone.deleted_count == 1
    assert set(gone.per_store) == {"vector", "document", "graph"}
    assert all(count >= 1 for count in gone.per_store.values())
    for strategies in (["vector"], ["fulltext"], ["graph"], None):
        result = await memory.recall("Caroline adoption agencies", bank_id="b1", strategies=strategies)
        assert ids[2] not in {h.memory_id for h in result.hits}, strategies
    stores = memory.stores
    assert stores.document is not None
    assert await stores.document.get_document(ids[2], "b1") is None
    everything = await memory.forget(bank_id="b1", all=True)
    assert everything.deleted_count == len(ids) - 1
    assert await memory.banks() == []


async def test_bank_isolation_through_the_framework(memory: Astrocyte) -> None:
    await _seed(memory, "b1")
    await memory.retain("Zed keeps bees on the roof.", bank_id="b2")
    assert not any("bees" in h.text for h in (await memory.recall("bees roof", bank_id="b1")).hits)
    assert sorted(await memory.banks()) == ["b1", "b2"]


def test_bulk_import_command_builds_the_index_once_and_recalls(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(postgres_dsn, postgres_schema)
    config["vector_store_config"] = {**config["vector_store_config"], "hnsw_build_at": 20}
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump(config))
    lines = [
        {"content": f"{speaker} mentioned {topic} in week {week}."}
        for week, (speaker, _, _) in enumerate(CONVERSATION)
        for topic in ("bees", "kayaks", "tea", "maps", "jazz", "rye")
    ]
    lines.append(lines[0])  # an exact repeat: still dropped in bulk mode
    data = tmp_path / "memories.jsonl"
    data.write_text("\n".join(json.dumps(line) for line in lines))

    assert main(["import", "--bulk", "-b", "b1", "-c", str(path), str(data), "--batch-size", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"records": 31, "memories": 30, "duplicates": 1, "replays": 0}
    with psycopg.connect(postgres_dsn) as conn:
        indexes = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname LIKE 'astrocyte_vectors_hnsw_%%'",
            (postgres_schema,),
        ).fetchone()
    assert indexes == (1,)
    assert main(["recall", "Melanie kayaks", "-b", "b1", "-c", str(path), "--json"]) == 0
    assert "Melanie mentioned kayaks" in capsys.readouterr().out


def _versions(dsn: str, schema: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f"SELECT component, version FROM {schema}.astrocyte_schema_version").fetchall()
    return {str(component): int(version) for component, version in rows}


def test_migrate_command_applies_then_reports_up_to_date(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(postgres_dsn, postgres_schema)
    for kind in ("vector_store", "document_store", "graph_store"):
        config[f"{kind}_config"] = {**config[f"{kind}_config"], "migrate_on_start": False}
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump(config))

    assert main(["migrate", "-c", str(path)]) == 0
    first = capsys.readouterr().out
    assert f"applied {postgres_schema}.vector v1" in first
    assert f"applied {postgres_schema}.graph v1" in first
    assert f"{postgres_schema}.graph v2" in first
    assert _versions(postgres_dsn, postgres_schema) == {
        component: len(steps) for component, steps in MIGRATIONS.items()
    }

    assert main(["migrate", "-c", str(path)]) == 0
    assert capsys.readouterr().out.count("up to date") == 3


def test_migrate_refuses_a_schema_newer_than_the_adapter(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "astrocyte.yaml"
    path.write_text(yaml.safe_dump(_config(postgres_dsn, postgres_schema)))
    assert main(["migrate", "-c", str(path)]) == 0
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(f"UPDATE {postgres_schema}.astrocyte_schema_version SET version = 99")
    capsys.readouterr()
    assert main(["migrate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "version 99" in err and "upgrade astrocyte-postgres" in err


def test_missing_dsn_and_bad_schema_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASTROCYTE_POSTGRES_DSN", raising=False)
    with pytest.raises(ConfigError, match="needs a connection string"):
        create_provider("vector_store", "postgres", {})
    with pytest.raises(ConfigError, match="not a plain identifier"):
        create_provider("document_store", "postgres", {"dsn": "postgresql:///x", "schema": "a; DROP"})


@pytest.mark.backend("qdrant")
async def test_qdrant_vectors_with_postgres_documents_and_graph(
    postgres_dsn: str, postgres_schema: str, tmp_path: Path
) -> None:
    config = _config(postgres_dsn, postgres_schema) | {
        "vector_store": "qdrant",
        "vector_store_config": {"path": str(tmp_path / "qdrant")},  # embedded mode, same client API
    }
    async with Astrocyte.from_config(config) as memory:
        ids = await _seed(memory)
        result = await memory.recall("Which adoption agencies is Caroline researching?", bank_id="b1")
        assert "adoption agencies" in result.hits[0].text
        by_name = {s.name: s for s in result.trace.strategies}
        for name in ("vector", "fulltext", "graph"):
            assert by_name[name].hit_ids and by_name[name].error is None, name
        assert {"vector", "fulltext", "graph"} <= set(result.hits[0].strategies)

        gone = await memory.forget(bank_id="b1", memory_ids=[ids[2]])
        assert gone.deleted_count == 1
        assert set(gone.per_store) == {"vector", "document", "graph"}
        for strategies in (["vector"], ["fulltext"], ["graph"], None):
            after = await memory.recall("Caroline adoption agencies", bank_id="b1", strategies=strategies)
            assert ids[2] not in {h.memory_id for h in after.hits}, strategies
