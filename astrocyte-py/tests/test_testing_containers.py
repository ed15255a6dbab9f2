"""``astrocyte.testing.docker_available``: a socket probe of the engine ``DOCKER_HOST`` names."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from astrocyte.testing import docker_available, may_start_containers


@pytest.fixture
def listening_socket() -> Iterator[Path]:
    # A short directory: unix socket paths are limited to ~100 bytes.
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        path = Path(directory) / "engine.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(path))
            server.listen(1)
            yield path


def test_a_listening_unix_socket_counts_as_an_engine(
    listening_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{listening_socket}")
    assert docker_available()


def test_a_missing_socket_is_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'absent.sock'}")
    assert not docker_available()


def test_a_closed_tcp_port_is_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    assert not docker_available(timeout_s=1)


def test_an_unknown_scheme_is_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://user@host")
    assert not docker_available()


def test_starting_containers_can_be_switched_off(
    listening_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{listening_socket}")
    monkeypatch.setenv("ASTROCYTE_TESTCONTAINERS", "1")
    assert may_start_containers()
    monkeypatch.setenv("ASTROCYTE_TESTCONTAINERS", "0")
    assert not may_start_containers()
