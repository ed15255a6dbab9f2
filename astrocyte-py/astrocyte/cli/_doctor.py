"""``astrocyte doctor``: what is installed, whether the config is valid, whether its backends answer.

Three tables: every installed provider (distribution, version, ``SPI_VERSION``, loads or not); the
configuration (file, validity, outbound transport); and the health of each configured backend —
stores via ``health()``, the embedding provider by embedding one text, the LLM with a one-token
completion. Exit status 0 when everything is fine, 1 when anything is not. Messages pass through
:func:`~astrocyte.http.redact_secrets`, so API keys and passwords in URLs are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from astrocyte._discovery import PROVIDER_KINDS, create_provider, installed, load_provider_class
from astrocyte.cli._base import Subparsers, add_command, add_config_option
from astrocyte.config import AstrocyteConfig, find_config_file, load_config
from astrocyte.errors import AstrocyteError, ConfigError
from astrocyte.http import redact_secrets
from astrocyte.provider import OutboundTransportProvider
from astrocyte.transports import load_outbound_transport, with_transport
from astrocyte.types import LLMMessage

__all__ = ["Check", "InstalledProvider", "backend_health", "check_config", "installed_providers", "register"]

_HEALTH_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class InstalledProvider:
    kind: str
    name: str
    distribution: str
    version: str
    spi_version: int | None
    status: str


@dataclass(frozen=True, slots=True)
class Check:
    component: str
    name: str
    ok: bool
    detail: str


def installed_providers() -> list[InstalledProvider]:
    """Every registered provider of every kind, loaded and checked against the SPI."""
    rows: list[InstalledProvider] = []
    for kind in PROVIDER_KINDS:
        for name, entry in installed(kind).items():
            dist = entry.dist
            spi_version: int | None = None
            try:
                spi_version = getattr(load_provider_class(kind, name), "SPI_VERSION", None)
                status = "ok"
            except ConfigError as exc:
                status = redact_secrets(str(exc))
            rows.append(
                InstalledProvider(
                    kind=kind,
                    name=name,
                    distribution=dist.name if dist is not None else "?",
                    version=dist.version if dist is not None else "?",
                    spi_version=spi_version,
                    status=status,
                )
            )
    return rows


def check_config(source: str | None) -> tuple[AstrocyteConfig | None, list[Check]]:
    """The loaded config (``None`` when invalid) and the checks describing it."""
    found = find_config_file() if source is None else None
    label = source or (str(found) if found is not None else "(built-in defaults)")
    try:
        config = load_config(source)
    except ConfigError as exc:
        return None, [Check("config", label, False, redact_secrets(str(exc)))]
    checks = [Check("config", label, True, "valid")]
    try:
        transport = load_outbound_transport(config.outbound_transport)
    except ConfigError as exc:
        checks.append(Check("outbound_transport", config.outbound_transport.provider, False, str(exc)))
        return config, checks
    abilities = [name for name, able in transport.capabilities().model_dump().items() if able]
    checks.append(
        Check("outbound_transport", config.outbound_transport.provider, True, ", ".join(abilities) or "-")
    )
    return config, checks


async def _timed(probe: Callable[[], Awaitable[str]]) -> tuple[bool, str]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout=_HEALTH_TIMEOUT)
    except TimeoutError:
        return False, f"no answer within {_HEALTH_TIMEOUT:.0f} s"
    except (AstrocyteError, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    elapsed = (time.perf_counter() - started) * 1000
    return not detail.startswith("unhealthy"), f"{detail} ({elapsed:.0f} ms)"


async def _probe(kind: str, provider: Any) -> str:
    """One health probe for a constructed provider: a message, ``unhealthy: ...`` when it is not."""
    if kind == "embedding_provider":
        vectors = await provider.embed(["astrocyte doctor"])
        width = len(vectors[0]) if vectors else 0
        if width != provider.dimensions:
            return f"unhealthy: {width} dimensions, expected {provider.dimensions}"
        return f"{width} dimensions"
    if kind == "llm_provider":
        completion = await provider.complete(
            [LLMMessage(role="user", content="Reply with: ok")], max_tokens=1
        )
        return f"answered ({completion.model or 'model ?'})"
    status = await provider.health()
    message = status.message or ("healthy" if status.healthy else "")
    return message if status.healthy else f"unhealthy: {message}"


async def _check_backend(
    kind: str, name: str, settings: dict[str, Any], transport: OutboundTransportProvider
) -> Check:
    try:
        provider = create_provider(kind, name, with_transport(kind, name, settings, transport))
    except AstrocyteError as exc:
        return Check(kind, name, False, f"cannot start: {exc}")
    try:
        ok, detail = await _timed(lambda: _probe(kind, provider))
    finally:
        closer = getattr(provider, "close", None)
        if closer is not None:
            await closer()
    return Check(kind, name, ok, detail)


async def backend_health(config: AstrocyteConfig) -> list[Check]:
    """Construct each configured backend, probe it once, close it."""
    transport = load_outbound_transport(config.outbound_transport)
    checks = []
    for kind, selection in config.backends().items():
        check = await _check_backend(kind, selection.name, dict(selection.config), transport)
        checks.append(Check(check.component, check.name, check.ok, redact_secrets(check.detail)))
    return checks


def _providers_table(rows: list[InstalledProvider]) -> Table:
    table = Table(title="Installed providers")
    for column in ("kind", "name", "distribution", "version", "SPI", "status"):
        table.add_column(column)
    for row in rows:
        spi = "-" if row.spi_version is None else str(row.spi_version)
        status = Text(row.status, style="green" if row.status == "ok" else "red")
        table.add_row(row.kind, row.name, row.distribution, row.version, spi, status)
    return table


def _checks_table(title: str, checks: list[Check]) -> Table:
    table = Table(title=title)
    for column in ("component", "name", "status", "detail"):
        table.add_column(column)
    for check in checks:
        status = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
        table.add_row(check.component, check.name, status, Text(check.detail))
    return table


def _run(args: argparse.Namespace) -> int:
    providers = installed_providers()
    config, config_checks = check_config(args.config)
    health: list[Check] = []
    if config is not None and all(check.ok for check in config_checks) and not args.no_health:
        health = asyncio.run(backend_health(config))
    failed = any(row.status != "ok" for row in providers) or any(
        not check.ok for check in (*config_checks, *health)
    )
    if args.json:
        report = {
            "ok": not failed,
            "providers": [asdict(row) for row in providers],
            "config": [asdict(check) for check in config_checks],
            "health": [asdict(check) for check in health],
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 1 if failed else 0
    console = Console(highlight=False)
    console.print(_providers_table(providers))
    console.print(_checks_table("Configuration", config_checks))
    if health:
        console.print(_checks_table("Backend health", health))
    console.print("[red]problems found[/]" if failed else "[green]all good[/]")
    return 1 if failed else 0


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        "doctor",
        _run,
        help="Check installed providers, the config and the health of every configured backend.",
    )
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of tables")
    parser.add_argument("--no-health", action="store_true", help="do not connect to the configured backends")
