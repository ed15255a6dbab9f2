"""The memory verbs on the command line: retain, recall, reflect, forget, banks, import, quickstart."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from astrocyte._facade import Astrocyte
from astrocyte.cli._base import Subparsers, add_command, add_config_option
from astrocyte.errors import InvalidRequestError
from astrocyte.types import RecallResult, RetainRequest

__all__ = ["register"]

_CONTENT_TYPES = ["text", "conversation", "transcript", "email", "document", "event"]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _run(config: str | None, job: Callable[[Astrocyte], Awaitable[int]]) -> int:
    async def runner() -> int:
        async with Astrocyte.from_config(config) as memory:
            return await job(memory)

    return asyncio.run(runner())


def _print_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def _recall_table(result: RecallResult, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("strategies")
    table.add_column("memory")
    for rank, hit in enumerate(result.hits, start=1):
        table.add_row(str(rank), f"{hit.score:.4f}", ",".join(hit.strategies), hit.text)
    return table


def _trace_table(result: RecallResult) -> Table:
    table = Table(title=f"trace — {result.trace.total_ms:.1f} ms total, {result.trace.tokens_used} tokens")
    table.add_column("strategy")
    table.add_column("bank")
    table.add_column("hits", justify="right")
    table.add_column("ms", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("note")
    for step in result.trace.strategies:
        table.add_row(
            step.name,
            step.bank_id or "",
            str(len(step.hit_ids)),
            f"{step.duration_ms:.2f}",
            f"{step.weight:g}",
            step.error or "",
        )
    return table


# ------------------------------------------------------------------ commands


def _retain(args: argparse.Namespace) -> int:
    async def job(memory: Astrocyte) -> int:
        result = await memory.retain(
            args.content,
            bank_id=args.bank,
            content_type=args.content_type,
            tags=args.tag or [],
            idempotency_key=args.idempotency_key,
        )
        _print_json(result.model_dump(mode="json"))
        return 0

    return _run(args.config, job)


def _recall(args: argparse.Namespace) -> int:
    async def job(memory: Astrocyte) -> int:
        result = await memory.recall(args.query, bank_id=args.bank, max_results=args.limit, tags=args.tag)
        if args.json:
            _print_json(result.model_dump(mode="json"))
        else:
            console = _console()
            console.print(_recall_table(result, f"recall: {args.query}"))
            console.print(_trace_table(result))
        return 0

    return _run(args.config, job)


def _reflect(args: argparse.Namespace) -> int:
    async def job(memory: Astrocyte) -> int:
        result = await memory.reflect(args.query, bank_id=args.bank)
        _print_json(result.model_dump(mode="json", exclude={"sources"}))
        return 0

    return _run(args.config, job)


def _forget(args: argparse.Namespace) -> int:
    async def job(memory: Astrocyte) -> int:
        result = await memory.forget(
            bank_id=args.bank, memory_ids=args.id or None, tags=args.tag or None, all=args.all
        )
        _print_json(result.model_dump(mode="json"))
        return 0

    return _run(args.config, job)


def _banks(args: argparse.Namespace) -> int:
    async def job(memory: Astrocyte) -> int:
        for bank in await memory.banks():
            print(bank)
        return 0

    return _run(args.config, job)


def _read_jsonl(path: Path, default_bank: str | None) -> list[RetainRequest]:
    """Parse and validate the whole file first, so a bad line stops the import before any write."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {path}: {exc.strerror or exc}", field="FILE") from exc
    requests: list[RetainRequest] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise InvalidRequestError("each line must be a JSON object", field=f"line {number}")
            if default_bank and "bank_id" not in data:
                data["bank_id"] = default_bank
            requests.append(RetainRequest.model_validate(data))
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(f"invalid JSON: {exc.msg}", field=f"{path}:{number}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidRequestError(f"{where}: {first['msg']}", field=f"{path}:{number}") from exc
    return requests


def _import(args: argparse.Namespace) -> int:
    requests = _read_jsonl(Path(args.file), args.bank)

    async def job(memory: Astrocyte) -> int:
        written = duplicates = replays = 0
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            task = progress.add_task("importing", total=len(requests))
            async with memory.bulk_load() if args.bulk else contextlib.nullcontext():
                for start in range(0, len(requests), args.batch_size):
                    batch = requests[start : start + args.batch_size]
                    for result in await memory.retain_many(batch):
                        written += len(result.memory_ids)
                        duplicates += len(result.duplicate_of)
                        replays += result.idempotent_replay
                    progress.advance(task, len(batch))
                if args.bulk:
                    progress.update(task, description="building indexes")
        _print_json(
            {"records": len(requests), "memories": written, "duplicates": duplicates, "replays": replays}
        )
        return 0

    return _run(args.config, job)


_QUICKSTART_CHAT = [
    ("Caroline", "I went to a LGBTQ support group yesterday and it was so powerful.", "2023-05-08T13:56:00"),
    ("Melanie", "That's amazing! I finally painted that sunrise over the lake.", "2023-05-08T13:57:00"),
    (
        "Caroline",
        "I've been researching adoption agencies — I want to give a kid a loving home.",
        "2023-05-25T10:00:00",
    ),
    ("Melanie", "We're going camping in the mountains in June with the kids.", "2023-05-25T10:01:00"),
    (
        "Caroline",
        "I moved here from Sweden four years ago; my friends are like family.",
        "2023-06-09T18:30:00",
    ),
]


def _quickstart(args: argparse.Namespace) -> int:
    console = _console()

    async def job(memory: Astrocyte) -> int:
        bank = "quickstart"
        console.rule("Astrocyte quickstart — embedded default, no servers")
        backends = f"vector={memory.config.vector_store} document={memory.config.document_store} "
        backends += f"graph={memory.config.graph_store} embeddings={memory.config.embedding_provider}"
        console.print(f"stores: {backends}")
        await memory.forget(bank_id=bank, all=True)
        requests = [
            RetainRequest(
                content=f"{speaker}: {text}",
                bank_id=bank,
                content_type="conversation",
                occurred_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            )
            for speaker, text, when in _QUICKSTART_CHAT
        ]
        results = await memory.retain_many(requests)
        console.print(f"retained {sum(len(r.memory_ids) for r in results)} memories into bank '{bank}'")
        now = datetime(2023, 7, 1, tzinfo=UTC)
        for query in ("What is Caroline researching?", "What happened on 9 June, 2023?"):
            result = await memory.recall(query, bank_id=bank, max_results=3, now=now)
            console.print(_recall_table(result, f"recall: {query}"))
            console.print(_trace_table(result))
        answer = await memory.reflect("Where did Caroline move from?", bank_id=bank, now=now)
        console.print(f"[bold]reflect:[/bold] Where did Caroline move from? → {answer.answer}")
        console.print(f"cited: {', '.join(answer.cited_memory_ids)}")
        console.print('Next: `astrocyte retain "..." --bank me` and `astrocyte recall "..." --bank me`.')
        return 0

    return _run(args.config, job)


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "retain", _retain, help="Remember a piece of content in a bank.")
    parser.add_argument("content")
    parser.add_argument("-b", "--bank", required=True)
    parser.add_argument("--content-type", choices=_CONTENT_TYPES, default="text", dest="content_type")
    parser.add_argument("-t", "--tag", action="append", help="tag (repeatable)")
    parser.add_argument("--idempotency-key", dest="idempotency_key")
    add_config_option(parser)

    parser = add_command(subparsers, "recall", _recall, help="Recall the memories most relevant to a query.")
    parser.add_argument("query")
    parser.add_argument("-b", "--bank", required=True)
    parser.add_argument("-n", "--limit", type=int, default=10)
    parser.add_argument("-t", "--tag", action="append", help="only memories with this tag (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the RecallResult as JSON")
    add_config_option(parser)

    parser = add_command(
        subparsers, "reflect", _reflect, help="Answer a question from memory, with citations."
    )
    parser.add_argument("query")
    parser.add_argument("-b", "--bank", required=True)
    add_config_option(parser)

    parser = add_command(subparsers, "forget", _forget, help="Forget memories by id, tag, or a whole bank.")
    parser.add_argument("-b", "--bank", required=True)
    parser.add_argument("--id", action="append", help="memory id (repeatable)")
    parser.add_argument("-t", "--tag", action="append", help="forget memories with this tag (repeatable)")
    parser.add_argument("--all", action="store_true", help="forget the whole bank")
    add_config_option(parser)

    parser = add_command(subparsers, "banks", _banks, help="List banks that hold memories.")
    add_config_option(parser)

    parser = add_command(
        subparsers,
        "import",
        _import,
        help="Retain every line of a JSONL file (RetainRequest objects), batched.",
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("-b", "--bank", help="bank for lines without bank_id")
    parser.add_argument("--batch-size", type=int, default=256, dest="batch_size")
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="bulk import: defer index upkeep to one build at the end (Postgres) and skip near-duplicate "
        "probes of stored memories; searches are slow meanwhile",
    )
    add_config_option(parser)

    parser = add_command(
        subparsers,
        "quickstart",
        _quickstart,
        help="Guided demo: retain a short conversation, recall with its trace.",
    )
    add_config_option(parser)
