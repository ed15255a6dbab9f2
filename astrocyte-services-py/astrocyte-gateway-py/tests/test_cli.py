"""``astrocyte serve`` as a real process configured through env vars, ``astrocyte-gateway hash-key``,
``astrocyte bench gateway`` (report shape only: benchmarks are commands, not timed tests)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from _gateway import ALICE_KEY, base_config
from astrocyte_gateway import hash_api_key
from astrocyte_gateway.server import main as gateway_main

from astrocyte.cli import main as astrocyte_main
from astrocyte.cli._gateway import gateway_module
from astrocyte.errors import BackendNotInstalledError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_reads_config_and_port_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text(json.dumps(base_config()), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "ASTROCYTE_CONFIG": str(config), "ASTROCYTE_GATEWAY_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "astrocyte", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "gateway did not start in 60 s"
                time.sleep(0.2)
        assert health.status_code == 200
        recalled = httpx.post(
            f"http://127.0.0.1:{port}/v1/recall",
            json={"query": "anything"},
            headers={"Authorization": f"Bearer {ALICE_KEY}"},
        )
        assert recalled.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    access = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert {entry["route"] for entry in access} >= {"/health", "/v1/recall"}


def test_serve_with_a_bad_config_exits_2_with_the_key_path(tmp_path: Path) -> None:
    config = tmp_path / "astrocyte.yaml"
    config.write_text(json.dumps(base_config(max_body_bytes="big")), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "astrocyte", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "gateway.max_body_bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_hash_key_prints_the_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert gateway_main(["hash-key", "s3cret-key"]) == 0
    assert capsys.readouterr().out.strip() == hash_api_key("s3cret-key")


def test_missing_gateway_module_says_how_to_install() -> None:
    with pytest.raises(BackendNotInstalledError, match="pip install astrocyte-gateway"):
        gateway_module("not_a_module")


def test_bench_gateway_writes_a_report(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "gateway", "--memories", "20", "--iterations", "5", "--warmup", "1", "--store", "memory"]
    assert astrocyte_main([*args, "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["results"]) == {"recall", "retain"}
    for row in report["results"].values():
        assert row["http_p50_ms"] > 0 and row["library_p50_ms"] > 0
        assert row["overhead_p50_ms"] == pytest.approx(row["http_p50_ms"] - row["library_p50_ms"], abs=0.01)
