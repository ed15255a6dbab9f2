"""May tests start containers? (Adapters of servers we cannot install here use testcontainers.)"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

__all__ = ["docker_available", "may_start_containers"]


def docker_available(timeout_s: float = 2.0) -> bool:
    """True when the engine named by ``DOCKER_HOST`` (default: the local unix socket) accepts a connection.

    A plain socket probe: the Docker SDK's own ping leaks its socket when the engine is absent.
    """
    target = urlsplit(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    try:
        if target.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(timeout_s)
                probe.connect(target.path)
            return True
        if target.scheme == "tcp" and target.hostname:
            with socket.create_connection((target.hostname, target.port or 2375), timeout=timeout_s):
                return True
    except OSError:
        return False
    return False


def may_start_containers() -> bool:
    """True when tests may start containers: a Docker engine answers and ``ASTROCYTE_TESTCONTAINERS``
    is not ``0`` (CI jobs that bring the engines as service containers switch it off)."""
    return os.environ.get("ASTROCYTE_TESTCONTAINERS", "1") != "0" and docker_available()
