"""Entry-point discovery and SPI checks.

Plugins here are real: each test writes a small distribution (a ``.dist-info`` with
``entry_points.txt`` and a module) onto ``sys.path``, so ``importlib.metadata`` finds it exactly as it
finds an installed adapter.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest

from astrocyte import _discovery
from astrocyte._discovery import (
    PROVIDER_KINDS,
    check_config_backends,
    check_provider_class,
    check_provider_instance,
    create_provider,
    group_for,
    install_hint,
    installed,
    load_provider_class,
)
from astrocyte.config import load_config
from astrocyte.errors import BackendNotInstalledError, ConfigError, SpiVersionError
from astrocyte.provider import VectorStore
from astrocyte.types import HealthStatus, VectorFilters, VectorHit, VectorItem

PLUGIN_SOURCE = textwrap.dedent(
    """
    from typing import ClassVar


    class _Vectors:
        SPI_VERSION: ClassVar[int] = 1

        async def store_vectors(self, items): return [i.id for i in items]
        async def search_similar(self, query_vector, bank_id, limit=10, filters=None): return []
        async def delete(self, ids, bank_id): return 0
        async def list_vectors(self, bank_id, offset=0, limit=100): return []
        async def list_banks(self): return []
        async def health(self): return None
        async def close(self): return None


    class GoodVectors(_Vectors):
        def __init__(self, path: str = ":memory:", *, dimensions: int = 8) -> None:
            self.path = path
            self.dimensions = dimensions


    class NeedsUrl(_Vectors):
        def __init__(self, url: str, timeout: float = 5.0) -> None:
            self.url = url


    class PickyVectors(_Vectors):
        def __init__(self, size: int = 1) -> None:
            if size < 1:
                raise ValueError("size must be positive")


    class NeedsDriver(_Vectors):
        def __init__(self) -> None:
            import astrocyte_no_such_driver  # noqa: F401


    class FutureVectors(_Vectors):
        SPI_VERSION = 2


    class Embedder:
        SPI_VERSION: ClassVar[int] = 1

        def __init__(self, dimensions: int = 4) -> None:
            self.dimensions = dimensions

        async def embed(self, texts): return [[0.0] * self.dimensions for _ in texts]


    def not_a_class():
        return None
    """
)


class Plugin:
    """A fake distribution written to disk and put on ``sys.path``."""

    def __init__(self, root: Path, module: str) -> None:
        self.root = root
        self.module = module


PluginFactory = Callable[[dict[str, dict[str, str]]], Plugin]


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginFactory]:
    """Install a distribution registering ``{group: {name: "module:attr" or ":attr"}}``."""
    modules: list[str] = []

    def make(groups: dict[str, dict[str, str]]) -> Plugin:
        module = f"astrocyte_fake_plugin_{uuid.uuid4().hex[:12]}"
        modules.append(module)
        (tmp_path / f"{module}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
        dist_info = tmp_path / f"{module}-0.1.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        lines = []
        for group, entries in groups.items():
            lines.append(f"[{group}]")
            lines += [
                f"{name} = {target.replace(':', f'{module}:', 1) if target.startswith(':') else target}"
                for name, target in entries.items()
            ]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        return Plugin(tmp_path, module)

    yield make
    for module in modules:
        sys.modules.pop(module, None)


def fixed_entry_points(group_entries: dict[str, list[str]]) -> Callable[..., list[EntryPoint]]:
    def fake(*, group: str) -> list[EntryPoint]:
        return [EntryPoint(name, f"pkg:{name}", group) for name in group_entries.get(group, [])]

    return fake


# --------------------------------------------------------------------------- groups and listing


def test_every_kind_maps_to_its_group() -> None:
    assert {kind: group_for(kind) for kind in PROVIDER_KINDS} == {
        "vector_store": "astrocyte.vector_stores",
        "graph_store": "astrocyte.graph_stores",
        "document_store": "astrocyte.document_stores",
        "llm_provider": "astrocyte.llm_providers",
        "embedding_provider": "astrocyte.embedding_providers",
        "engine_provider": "astrocyte.engine_providers",
        "ingest_source": "astrocyte.ingest_sources",
        "outbound_transport": "astrocyte.outbound_transports",
    }


def test_unknown_kind_is_a_config_error_with_suggestion() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown provider kind 'vector_stores' — did you mean 'vector_store'\?"
    ):
        installed("vector_stores")


def test_core_distribution_registers_its_builtin_stores() -> None:
    stores = installed("vector_store")
    assert {"memory", "sqlite"} <= set(stores)
    assert stores["sqlite"].value == "astrocyte.stores.sqlite:SqliteVectorStore"
    assert "hashing" in installed("embedding_provider")


def test_installed_is_sorted_and_first_registration_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(*, group: str) -> list[EntryPoint]:
        return [
            EntryPoint("b", "one:B", group),
            EntryPoint("a", "one:A", group),
            EntryPoint("b", "two:B", group),
        ]

    monkeypatch.setattr(_discovery, "entry_points", fake)
    found = installed("graph_store")
    assert list(found) == ["a", "b"]
    assert found["b"].value == "one:B"


# --------------------------------------------------------------------------- not installed


def test_uninstalled_backend_message_has_the_exact_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _discovery, "entry_points", fixed_entry_points({"astrocyte.vector_stores": ["sqlite", "memory"]})
    )
    with pytest.raises(BackendNotInstalledError) as caught:
        load_provider_class("vector_store", "qdrant")
    assert str(caught.value) == (
        "vector_store 'qdrant' is not installed (installed: memory, sqlite) — "
        'pip install "astrocyte[qdrant]"'
    )
    assert caught.value.key_path == "vector_store"
    assert isinstance(caught.value, ConfigError)


def test_uninstalled_backend_close_to_an_installed_one_gets_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        _discovery, "entry_points", fixed_entry_points({"astrocyte.vector_stores": ["sqlite", "memory"]})
    )
    with pytest.raises(BackendNotInstalledError) as caught:
        load_provider_class("vector_store", "sqlit")
    assert str(caught.value) == (
        "vector_store 'sqlit' is not installed (installed: memory, sqlite) — did you mean 'sqlite'?"
    )


def test_uninstalled_backend_without_known_extra_names_the_group() -> None:
    with pytest.raises(BackendNotInstalledError) as caught:
        load_provider_class("engine_provider", "no-such-engine-xyz")
    message = str(caught.value)
    assert message.startswith("engine_provider 'no-such-engine-xyz' is not installed (installed: ")
    assert message.endswith(
        "install the adapter that registers it in entry-point group 'astrocyte.engine_providers'"
    )


def test_install_hints() -> None:
    assert install_hint("pgvector") == 'pip install "astrocyte[postgres]"'
    assert install_hint("sentence-transformers") == 'pip install "astrocyte[local]"'
    assert install_hint("neo4j") == 'pip install "astrocyte[neo4j]"'
    assert install_hint("some-private-store") is None


# --------------------------------------------------------------------------- class checks


class _Complete:
    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        return [item.id for item in items]

    async def search_similar(
        self, query_vector: list[float], bank_id: str, limit: int = 10, filters: VectorFilters | None = None
    ) -> list[VectorHit]:
        return []

    async def delete(self, ids: list[str], bank_id: str) -> int:
        return 0

    async def list_vectors(self, bank_id: str, offset: int = 0, limit: int = 100) -> list[VectorItem]:
        return []

    async def list_banks(self) -> list[str]:
        return []

    async def health(self) -> HealthStatus:
        return HealthStatus(healthy=True)

    async def close(self) -> None:
        return None


class GoodStore(_Complete):
    SPI_VERSION: ClassVar[int] = 1


class NoVersionStore(_Complete):
    pass


class FutureStore(_Complete):
    SPI_VERSION: ClassVar[int] = 2


class BoolVersionStore(_Complete):
    SPI_VERSION = True


class HalfStore:
    SPI_VERSION: ClassVar[int] = 1

    async def store_vectors(self, items: list[VectorItem]) -> list[str]:
        return []


class SyncStore(GoodStore):
    def delete(self, ids: list[str], bank_id: str) -> int:  # type: ignore[override]
        return 0


def test_a_complete_class_passes_and_its_instance_is_a_vector_store() -> None:
    check_provider_class(GoodStore, "vector_store", name="good")
    check_provider_instance(GoodStore(), "vector_store")
    assert isinstance(GoodStore(), VectorStore)


def test_missing_spi_version_is_rejected() -> None:
    with pytest.raises(SpiVersionError) as caught:
        check_provider_class(NoVersionStore, "vector_store", name="legacy")
    message = str(caught.value)
    assert "vector_store 'legacy' (test_discovery.NoVersionStore) does not declare SPI_VERSION" in message
    assert "SPI_VERSION: ClassVar[int] = 1" in message


def test_unsupported_spi_version_is_rejected() -> None:
    with pytest.raises(SpiVersionError, match=r"declares SPI_VERSION 2, this astrocyte supports 1"):
        check_provider_class(FutureStore, "vector_store")


def test_bool_spi_version_is_rejected() -> None:
    with pytest.raises(SpiVersionError, match=r"declares SPI_VERSION True"):
        check_provider_class(BoolVersionStore, "vector_store")


def test_missing_methods_are_listed() -> None:
    with pytest.raises(SpiVersionError) as caught:
        check_provider_class(HalfStore, "vector_store", name="half")
    message = str(caught.value)
    assert "does not implement VectorStore" in message
    for method in ("search_similar", "delete", "list_vectors", "list_banks", "health", "close"):
        assert f"missing {method}()" in message
    assert "store_vectors" not in message


def test_sync_method_where_the_spi_is_async_is_rejected() -> None:
    with pytest.raises(SpiVersionError, match=r"delete\(\) must be async"):
        check_provider_class(SyncStore, "vector_store")


def test_outbound_transports_are_checked_against_their_protocol() -> None:
    class Transport:
        SPI_VERSION: ClassVar[int] = 1

        def apply(self, ctx: object) -> object:
            return ctx

        def subprocess_env(self) -> dict[str, str]:
            return {}

        def capabilities(self) -> object:
            return None

    class FutureTransport(Transport):
        SPI_VERSION: ClassVar[int] = 99

    check_provider_class(Transport, "outbound_transport")
    with pytest.raises(SpiVersionError, match="SPI_VERSION 99"):
        check_provider_class(FutureTransport, "outbound_transport")
    with pytest.raises(SpiVersionError, match=r"missing apply\(\)"):
        check_provider_class(GoodStore, "outbound_transport")


def test_instance_check_reports_missing_members() -> None:
    class Embedder:
        SPI_VERSION: ClassVar[int] = 1

        async def embed(self, texts: list[str]) -> list[list[float]]:
            return []

    check_provider_class(Embedder, "embedding_provider")  # `dimensions` may be set in __init__
    with pytest.raises(SpiVersionError, match=r"is not a EmbeddingProvider: missing dimensions"):
        check_provider_instance(Embedder(), "embedding_provider", name="e")


# --------------------------------------------------------------------------- real entry points


def test_plugin_is_discovered_loaded_and_created(make_plugin: PluginFactory) -> None:
    plugin = make_plugin({"astrocyte.vector_stores": {"fakevec": ":GoodVectors"}})
    assert installed("vector_store")["fakevec"].dist is not None
    cls = load_provider_class("vector_store", "fakevec")
    assert cls.__module__ == plugin.module
    store = create_provider("vector_store", "fakevec", {"path": "/tmp/x.db", "dimensions": 3})
    assert isinstance(store, VectorStore)
    assert vars(store) == {"path": "/tmp/x.db", "dimensions": 3}


def test_unknown_constructor_key_names_the_config_section(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"fakevec": ":GoodVectors"}})
    with pytest.raises(ConfigError) as caught:
        create_provider("vector_store", "fakevec", {"pth": "/tmp/x.db"})
    assert str(caught.value) == (
        "vector_store_config: vector_store 'fakevec' does not accept 'pth' (did you mean 'path'?) "
        "— accepted keys: path, dimensions"
    )
    assert caught.value.key_path == "vector_store_config"


def test_missing_required_constructor_key(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"remote": ":NeedsUrl"}})
    with pytest.raises(
        ConfigError,
        match=r"^vector_store_config: vector_store 'remote' requires 'url' — accepted keys: url, timeout$",
    ):
        create_provider("vector_store", "remote", {})


def test_constructor_value_error_becomes_config_error(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"picky": ":PickyVectors"}})
    with pytest.raises(
        ConfigError, match=r"vector_store 'picky' rejected its configuration: size must be positive"
    ):
        create_provider("vector_store", "picky", {"size": 0})


def test_constructor_import_error_becomes_not_installed(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"qdrant": ":NeedsDriver"}})
    with pytest.raises(BackendNotInstalledError) as caught:
        create_provider("vector_store", "qdrant")
    assert "needs a package that is not installed" in str(caught.value)
    assert str(caught.value).endswith('pip install "astrocyte[qdrant]"')


def test_broken_entry_points_are_reported(make_plugin: PluginFactory) -> None:
    plugin = make_plugin(
        {
            "astrocyte.vector_stores": {"gone": "astrocyte_missing_module_xyz:Store", "func": ":not_a_class"},
            "astrocyte.graph_stores": {"typo": ":NoSuchClass"},
        }
    )
    with pytest.raises(
        BackendNotInstalledError, match=r"vector_store 'gone' is registered by astrocyte_fake_plugin_"
    ):
        load_provider_class("vector_store", "gone")
    with pytest.raises(BackendNotInstalledError, match=r"graph_store 'typo' .* but failed to load"):
        load_provider_class("graph_store", "typo")
    with pytest.raises(
        SpiVersionError, match=rf"'{plugin.module}:not_a_class' .* must name a class, got function"
    ):
        load_provider_class("vector_store", "func")


def test_plugin_with_future_spi_version_is_refused(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"future": ":FutureVectors"}})
    with pytest.raises(
        SpiVersionError, match=r"vector_store 'future' \(.*FutureVectors\) declares SPI_VERSION 2"
    ):
        create_provider("vector_store", "future")


def test_check_config_backends_accepts_installed_backends(make_plugin: PluginFactory) -> None:
    make_plugin(
        {
            "astrocyte.vector_stores": {"fakevec": ":GoodVectors"},
            "astrocyte.embedding_providers": {"fakeemb": ":Embedder"},
        }
    )
    config = load_config(
        {
            "vector_store": "fakevec",
            "vector_store_config": {"dimensions": 4},
            "graph_store": None,
            "document_store": None,
            "embedding_provider": "fakeemb",
        },
        env={},
    )
    classes = check_config_backends(config)
    assert sorted(classes) == ["embedding_provider", "vector_store"]
    assert classes["vector_store"].__name__ == "GoodVectors"


def test_check_config_backends_reports_every_problem(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.vector_stores": {"fakevec": ":GoodVectors"}})
    config = load_config(
        {
            "vector_store": "fakevec",
            "vector_store_config": {"colour": "red"},
            "graph_store": None,
            "document_store": None,
            "embedding_provider": "no-such-embedder-xyz",
        },
        env={},
    )
    with pytest.raises(ConfigError) as caught:
        check_config_backends(config)
    lines = str(caught.value).splitlines()
    assert lines[0] == "2 backend problems:"
    assert lines[1] == (
        "  - vector_store_config: vector_store 'fakevec' does not accept 'colour' "
        "— accepted keys: path, dimensions"
    )
    assert lines[2].startswith("  - embedding_provider 'no-such-embedder-xyz' is not installed")


def test_check_config_backends_keeps_the_error_class_of_a_single_problem(make_plugin: PluginFactory) -> None:
    make_plugin({"astrocyte.embedding_providers": {"fakeemb": ":Embedder"}})
    config = load_config(
        {
            "vector_store": "nope-xyz",
            "graph_store": None,
            "document_store": None,
            "embedding_provider": "fakeemb",
        },
        env={},
    )
    with pytest.raises(BackendNotInstalledError, match=r"^vector_store 'nope-xyz' is not installed"):
        check_config_backends(config)
