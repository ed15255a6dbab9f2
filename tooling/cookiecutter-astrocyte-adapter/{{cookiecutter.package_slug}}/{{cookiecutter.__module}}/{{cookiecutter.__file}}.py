{%- set family = cookiecutter.spi_family -%}
{%- if family in ["vector_stores", "graph_stores", "document_stores"] -%}
{%- set kind = {"vector_stores": "Vector", "graph_stores": "Graph", "document_stores": "Document"}[family] -%}
"""{{ cookiecutter.backend_label }} {{ cookiecutter.__family_label }}.

It starts as Astrocyte's in-process reference implementation (``InMemory{{ kind }}Store``), so the
contract suite in ``tests/`` passes from the first commit. Replace the inherited methods one by one
with calls to {{ cookiecutter.backend_label }}'s client, keeping the suite green; ``url`` (or
``${{ cookiecutter.__env }}``) is where the backend listens.
"""

from __future__ import annotations

import os
from typing import ClassVar

from astrocyte.stores.memory import InMemory{{ kind }}Store


class {{ cookiecutter.__class }}(InMemory{{ kind }}Store):
    """{{ cookiecutter.backend_label }} {{ cookiecutter.__family_label }} (entry point ``{{ cookiecutter.backend_name }}``)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(self, *, url: str | None = None{% if kind == "Vector" %}, dimensions: int | None = None{% endif %}) -> None:
        super().__init__({% if kind == "Vector" %}dimensions=dimensions{% endif %})
        self.url = url or os.environ.get("{{ cookiecutter.__env }}")
        # TODO: create {{ cookiecutter.backend_label }}'s client from self.url here.
{%- elif family == "llm_providers" -%}
"""{{ cookiecutter.backend_label }} LLM provider.

It starts as a deterministic in-process reference model (it restates the last user message and
embeds with the lexical ``hashing`` embedder), so the contract suite in ``tests/`` passes from the
first commit. Replace ``complete`` and ``embed`` with calls to {{ cookiecutter.backend_label }}'s API —
build HTTP clients with ``astrocyte.http.build_async_client`` so proxies, CA bundles and the
configured outbound transport apply — and keep the suite green.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import ClassVar

from astrocyte.embeddings import HashingEmbedder
from astrocyte.llm import check_llm_request
from astrocyte.types import LLMCapabilities, LLMCompletion, LLMMessage


class {{ cookiecutter.__class }}:
    """{{ cookiecutter.backend_label }} LLM provider (entry point ``{{ cookiecutter.backend_name }}``)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(self, *, url: str | None = None, model: str = "reference") -> None:
        self.url = url or os.environ.get("{{ cookiecutter.__env }}")
        self.model = model
        self._embedder = HashingEmbedder(dimensions=256)

    def capabilities(self) -> LLMCapabilities:
        return LLMCapabilities(chat=True, embeddings=True, max_context_tokens=8192)

    async def complete(
        self,
        messages: Sequence[LLMMessage | Mapping[str, object]],
        model: str | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
    ) -> LLMCompletion:
        checked = check_llm_request(messages, max_tokens, temperature)
        last = next((m.content for m in reversed(checked) if m.role == "user"), checked[-1].content)
        words = last.split()[:max_tokens] or ["(empty)"]
        return LLMCompletion(
            text=" ".join(words),
            model=model or self.model,
            input_tokens=sum(len(m.content.split()) for m in checked),
            output_tokens=len(words),
        )

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        return await self._embedder.embed(texts)

    async def close(self) -> None:
        """Release the client (nothing to release in the reference model)."""
{%- else -%}
"""{{ cookiecutter.backend_label }} ingest source.

Consumes {{ cookiecutter.backend_label }} and hands every message to Astrocyte's ingest handler, which
retains it (policy applies) and acknowledges only after a successful retain. Fill in the TODOs with
{{ cookiecutter.backend_label }}'s client; ``tests/`` runs the core ``IngestSourceContract`` against a
real {{ cookiecutter.backend_label }} at ``${{ cookiecutter.__env }}`` and skips with one line when
it is not reachable.
"""

from __future__ import annotations

import os
from typing import ClassVar

from astrocyte.types import HealthStatus


class {{ cookiecutter.__class }}:
    """{{ cookiecutter.backend_label }} ingest source (entry point ``{{ cookiecutter.backend_name }}``)."""

    SPI_VERSION: ClassVar[int] = 1
    source_type = "stream"

    def __init__(self, *, source_id: str, url: str | None = None) -> None:
        self.source_id = source_id
        self.url = url or os.environ.get("{{ cookiecutter.__env }}")
        self._running = False

    async def start(self) -> None:
        """Connect and start consuming in the background; raise when the backend is unreachable."""
        if not self.url:
            raise ConnectionError("set url or {{ cookiecutter.__env }}")
        # TODO: connect with {{ cookiecutter.backend_label }}'s client and start the consume loop.
        self._running = True

    async def stop(self) -> None:
        """Finish the message in flight, acknowledge what was retained, release connections."""
        # TODO: stop the consume loop and close the client.
        self._running = False

    async def health_check(self) -> HealthStatus:
        return HealthStatus(healthy=self._running, message="consuming" if self._running else "stopped")
{%- endif %}
