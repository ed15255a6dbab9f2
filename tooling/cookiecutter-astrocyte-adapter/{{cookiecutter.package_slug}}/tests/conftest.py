"""Skip-when-unreachable: ``backend_url`` skips a test with one line when {{ cookiecutter.backend_label }}
is not configured (``{{ cookiecutter.__env }}``) or nothing answers there. Mark such tests
``@pytest.mark.backend("{{ cookiecutter.backend_name }}")`` so CI can require them
(``ASTROCYTE_REQUIRED_BACKENDS``) instead of going green by skipping.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

BACKEND_ENV = "{{ cookiecutter.__env }}"


def _reachable(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.hostname is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture
def backend_url() -> str:
    """Where {{ cookiecutter.backend_label }} listens; skips the test when it is not reachable."""
    url = os.environ.get(BACKEND_ENV)
    if not url:
        pytest.skip(f"{{ cookiecutter.backend_label }} not configured: set {BACKEND_ENV}")
    if not _reachable(url):
        pytest.skip(f"{{ cookiecutter.backend_label }} unreachable at {url} ({BACKEND_ENV})")
    return url
