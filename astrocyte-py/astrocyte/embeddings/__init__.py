"""Embedding providers: turn texts into fixed-size vectors (the ``EmbeddingProvider`` SPI).

=========================  ======================================  =====================================
entry point                class                                   notes
=========================  ======================================  =====================================
``hashing`` (default)      :class:`HashingEmbedder`                built in, lexical (not semantic)
``sentence-transformers``  :class:`SentenceTransformerEmbedder`    ``astrocyte[local]``, runs locally
``openai``                 :class:`OpenAIEmbedder`                 any OpenAI-compatible HTTP endpoint
=========================  ======================================  =====================================

Names are imported lazily (PEP 562), so ``import astrocyte.embeddings`` loads neither torch nor
httpx-based code until a class is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astrocyte.embeddings.hashing import HashingEmbedder
    from astrocyte.embeddings.openai import OpenAIEmbedder
    from astrocyte.embeddings.sentence_transformers import SentenceTransformerEmbedder

__all__ = ["HashingEmbedder", "OpenAIEmbedder", "SentenceTransformerEmbedder"]

_MODULES = {
    "HashingEmbedder": "astrocyte.embeddings.hashing",
    "OpenAIEmbedder": "astrocyte.embeddings.openai",
    "SentenceTransformerEmbedder": "astrocyte.embeddings.sentence_transformers",
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'astrocyte.embeddings' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
