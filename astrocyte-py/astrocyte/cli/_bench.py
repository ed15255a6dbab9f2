"""``astrocyte bench locomo``: LoCoMo evidence recall@k of the pipeline beside BM25-only and vector-only."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from astrocyte._facade import Astrocyte
from astrocyte.bench._cache import CachedEmbedder
from astrocyte.bench.authority import measure_authority_tokens
from astrocyte.bench.locomo import CATEGORY_NAMES, LocomoReport, load_locomo, run_locomo
from astrocyte.cli._base import Subparsers, add_command
from astrocyte.cli._gateway import add_bench as add_gateway_bench
from astrocyte.config import load_config
from astrocyte.errors import InvalidRequestError

__all__ = ["register"]

_DEFAULT_DATA = "../shared/benchmarks/locomo/locomo_dev.json"


def _parse_ks(raw: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError as exc:
        raise InvalidRequestError("expected comma-separated integers such as 1,5,10", field="--k") from exc
    if not ks or ks[0] < 1:
        raise InvalidRequestError("every k must be >= 1", field="--k")
    return ks


def _config(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    if args.store == "memory":
        stores: dict[str, Any] = {
            "vector_store": "memory",
            "document_store": "memory",
            "graph_store": "memory",
        }
    else:
        db = str(home / "locomo.db")
        stores = {kind: "sqlite" for kind in ("vector_store", "document_store", "graph_store")} | {
            f"{kind}_config": {"path": db} for kind in ("vector_store", "document_store", "graph_store")
        }
    embedder_config: dict[str, Any] = {"model": args.model} if args.model else {}
    return {
        "profile": "conversational",
        **stores,
        "embedding_provider": args.embedder,
        "embedding_provider_config": embedder_config,
        # Benchmark turns are short and meant to be kept one per memory, even near-repeats.
        "retain": {"dedup_threshold": 1.0},
        "homeostasis": {"max_recall_results": 100, "max_recall_tokens": 100_000},
    }


def _tiered_twin(args: argparse.Namespace, home: Path, memory: Astrocyte) -> Astrocyte:
    """A facade over ``memory``'s stores with tiered retrieval on (not closed: it owns no stores)."""
    config = load_config(_config(args, home) | {"tiered_retrieval": {"enabled": True}})
    return Astrocyte(config, memory.stores)


def _report_tables(report: LocomoReport, console: Console) -> None:
    ks = [str(k) for k in report.ks]
    table = Table(
        title=f"LoCoMo evidence recall — {report.questions} questions ({report.skipped_questions} skipped)"
    )
    table.add_column("variant")
    for k in ks:
        table.add_column(f"R@{k}", justify="right")
    table.add_column("MRR", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for name, variant in report.variants.items():
        table.add_row(
            name,
            *(f"{100 * variant['recall'][k]:.1f}%" for k in ks),
            f"{variant['mrr']:.3f}",
            f"{variant['recall_ms_p50']:.2f}",
            f"{variant['recall_ms_p95']:.2f}",
        )
    console.print(table)
    per_cat = Table(title="per category (recall@k)")
    per_cat.add_column("category")
    per_cat.add_column("n", justify="right")
    for name in report.variants:
        per_cat.add_column(f"{name} R@{ks[-1]}", justify="right")
    for category, label in CATEGORY_NAMES.items():
        key = f"{category} {label}"
        first = next(iter(report.variants.values()))["by_category"].get(key)
        if first is None:
            continue
        cells = [f"{100 * v['by_category'][key][ks[-1]]:.1f}%" for v in report.variants.values()]
        per_cat.add_row(key, str(first["n"]), *cells)
    console.print(per_cat)
    rate = report.memories / report.retain_seconds if report.retain_seconds else 0.0
    console.print(
        f"retain: {report.memories} memories in {report.retain_seconds:.2f} s ({rate:.0f} memories/s)"
    )
    base = report.variants.get("vector", {}).get("recall_ms_p50") or 0.0
    full = report.variants.get("astrocyte", {}).get("recall_ms_p50") or 0.0
    if base:
        console.print(f"recall p50 (query embedding excluded): astrocyte/vector-only = {full / base:.2f}x")
    tiered = report.variants.get("astrocyte+tiered")
    if tiered and full:
        ratio = tiered["recall_ms_p50"] / full
        top = str(report.ks[-1])
        console.print(
            f"tiered retrieval: R@{top} {100 * tiered['recall'][top]:.1f}% vs "
            f"{100 * report.variants['astrocyte']['recall'][top]:.1f}%, p50 tiered/astrocyte = {ratio:.2f}x; "
            f"questions answered at tier {tiered.get('stopped_at_tier', {})}"
        )


def _locomo(args: argparse.Namespace) -> int:
    path = Path(args.data)
    if not path.is_file():
        raise InvalidRequestError(f"no such file {path}; pass --data PATH to locomo_dev.json", field="--data")
    ks = _parse_ks(args.k)
    conversations = load_locomo(path)
    if args.limit:
        conversations = conversations[: args.limit]
    console = Console(stderr=True)

    async def job(home: Path) -> LocomoReport:
        async with Astrocyte.from_config(_config(args, home)) as memory:
            if args.cache:
                namespace = f"{args.embedder}:{args.model or ''}"
                memory.stores.embedder = CachedEmbedder(memory.stores.embedder, Path(args.cache), namespace)
            total_turns = sum(len(c.turns) for c in conversations)
            total_q = sum(len(c.questions) for c in conversations)
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                tasks = {"retain": progress.add_task("retain", total=total_turns)}

                def advance(stage: str, amount: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = progress.add_task(f"recall [{stage}]", total=total_q)
                    progress.advance(tasks[stage], amount)

                twins = {"astrocyte+tiered": _tiered_twin(args, home, memory)} if args.tiered else None
                return await run_locomo(memory, conversations, ks=ks, progress=advance, twins=twins)

    with tempfile.TemporaryDirectory(prefix="astrocyte-locomo-") as tmp:
        report = asyncio.run(job(Path(tmp)))
    _report_tables(report, Console(highlight=False))
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return 0


def _authority(args: argparse.Namespace) -> int:
    path = Path(args.data)
    if not path.is_file():
        raise InvalidRequestError(f"no such file {path}; pass --data PATH to locomo_dev.json", field="--data")
    turns = [f"{t.speaker}: {t.text}" for t in load_locomo(path)[0].turns]
    table = Table(title="recall-authority block: prompt tokens reflect adds (apply_to_reflect)")
    for column in ("hits", "prompt tokens", "block tokens", "overhead"):
        table.add_column(column, justify="right")
    for cost in measure_authority_tokens(turns):
        table.add_row(
            str(cost.hits), str(cost.prompt_tokens), str(cost.block_tokens), f"{100 * cost.overhead:.1f}%"
        )
    Console(highlight=False).print(table)
    return 0


def register(subparsers: Subparsers) -> None:
    bench = subparsers.add_parser("bench", help="Benchmarks (retrieval quality, latency).")
    inner = bench.add_subparsers(title="benchmarks", metavar="BENCH")
    add_gateway_bench(inner)
    _add_chat_proxy(inner)
    parser = add_command(
        inner, "locomo", _locomo, help="LoCoMo evidence recall@k with BM25/vector baselines."
    )
    parser.add_argument("--data", default=_DEFAULT_DATA, help=f"locomo JSON (default {_DEFAULT_DATA})")
    parser.add_argument("--embedder", default="hashing", help="embedding provider name (default hashing)")
    parser.add_argument(
        "--model", default=None, help="embedding model name or path, when the provider takes one"
    )
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--k", default="1,5,10", help="comma-separated k values (default 1,5,10)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N conversations")
    parser.add_argument("--cache", default=None, help="SQLite file caching embeddings across runs")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the report as JSON")
    authority = add_command(
        inner, "authority", _authority, help="Prompt tokens the recall-authority block adds to reflect."
    )
    authority.add_argument("--data", default=_DEFAULT_DATA, help=f"locomo JSON (default {_DEFAULT_DATA})")
    parser.add_argument(
        "--tiered",
        action="store_true",
        help="also score the pipeline with tiered_retrieval on (variant astrocyte+tiered, same run)",
    )


def _chat_proxy(args: argparse.Namespace) -> int:
    from astrocyte.bench.chat_proxy import format_report, run_chat_proxy_bench

    if args.requests < 1 or args.memories < 0:
        raise InvalidRequestError("--requests must be >= 1 and --memories >= 0", field="--requests")
    report = asyncio.run(
        run_chat_proxy_bench(
            requests=args.requests, memories=args.memories, store=args.store, warmup=args.warmup
        )
    )
    for line in format_report(report):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return 0


def _add_chat_proxy(inner: Subparsers) -> None:
    parser = add_command(
        inner,
        "chat-proxy",
        _chat_proxy,
        help="Latency the chat proxy adds (recall + injection) over a direct upstream call, p50/p95.",
    )
    parser.add_argument("--requests", type=int, default=200, help="measured requests per path (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured rounds first (default 10)")
    parser.add_argument("--memories", type=int, default=2000, help="memories in the bank (default 2000)")
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the report as JSON")
