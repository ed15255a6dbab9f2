{%- set family = cookiecutter.spi_family -%}
{%- set cls = cookiecutter.__class -%}
"""The core contract suite run against {{ cls }}, plus a check against a live {{ cookiecutter.backend_label }}."""

from __future__ import annotations
{%- if family == "ingest_sources" %}

from importlib.util import find_spec

import pytest
from {{ cookiecutter.__module }} import {{ cls }}


def test_declares_the_spi() -> None:
    source = {{ cls }}(source_id="s1", url="tcp://127.0.0.1:1")
    assert source.SPI_VERSION == 1
    assert source.source_id == "s1"


@pytest.mark.backend("{{ cookiecutter.backend_name }}")
async def test_starts_and_stops_against_a_live_backend(backend_url: str) -> None:
    source = {{ cls }}(source_id="contract", url=backend_url)
    await source.start()
    assert (await source.health_check()).healthy
    await source.stop()


if find_spec("astrocyte.ingest") is not None:  # the ingest SPI and its contract suite
    from astrocyte.testing.ingest import IngestSourceContract

    @pytest.mark.backend("{{ cookiecutter.backend_name }}")
    class Test{{ cls }}Contract(IngestSourceContract):
        """TODO: implement the harness (publish to a uniquely named stream, build the source, read
        the dead letters) with {{ cookiecutter.backend_label }}'s client."""

        @pytest.fixture
        def harness(self, backend_url: str) -> object:
            pytest.skip("write the {{ cookiecutter.backend_label }} harness for IngestSourceContract")
{%- else %}
{%- set contract = {"vector_stores": "VectorStoreContract", "graph_stores": "GraphStoreContract", "document_stores": "DocumentStoreContract", "llm_providers": "LLMProviderContract"}[family] %}
{%- set fixture = "provider" if family == "llm_providers" else "store" %}

from collections.abc import AsyncIterator

import pytest
from {{ cookiecutter.__module }} import {{ cls }}

from astrocyte.testing import {{ contract }}


class Test{{ cls }}Contract({{ contract }}):
    @pytest.fixture
    async def {{ fixture }}(self) -> AsyncIterator[{{ cls }}]:
        instance = {{ cls }}()
        yield instance
        await instance.close()


@pytest.mark.backend("{{ cookiecutter.backend_name }}")
async def test_live_backend_is_healthy(backend_url: str) -> None:
    instance = {{ cls }}(url=backend_url)
    try:
{%- if family == "llm_providers" %}
        completion = await instance.complete([{"role": "user", "content": "ping"}], max_tokens=4)
        assert completion.text
{%- else %}
        assert (await instance.health()).healthy
{%- endif %}
    finally:
        await instance.close()
{%- endif %}
