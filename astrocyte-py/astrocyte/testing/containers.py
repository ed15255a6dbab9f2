"""Is there a Docker engine for testcontainers? (Adapters of servers we cannot install use it.)"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

__all__ = ["docker_available"]


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
