"""What every OpenAI-compatible client shares: where the API is, and how to authenticate."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from astrocyte.errors import ConfigError
from astrocyte.http import check_http_url

__all__ = ["DEFAULT_BASE_URL", "openai_endpoint", "openai_headers"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def openai_endpoint(api_key: str | None, base_url: str | None) -> tuple[str | None, str]:
    """``(api key, base URL)`` from the arguments, else ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.

    A key is required for ``api.openai.com`` and optional elsewhere (local servers rarely want one).
    """
    key = api_key or os.environ.get("OPENAI_API_KEY") or None
    url = check_http_url(
        base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        key_path="base_url",
        example="https://api.openai.com/v1 or http://localhost:11434/v1",
    )
    if key is None and urlsplit(url).hostname == "api.openai.com":
        raise ConfigError(
            "an API key is required for api.openai.com",
            key_path="api_key",
            hint="set OPENAI_API_KEY or api_key (e.g. api_key: ${OPENAI_API_KEY})",
        )
    return key, url


def openai_headers(api_key: str | None) -> dict[str, str]:
    """JSON headers, with ``Authorization: Bearer`` only when there is a key."""
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers
