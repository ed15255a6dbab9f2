"""Find providers through Python entry points and check them against the SPI before use.

Every backend is a class registered by some installed distribution under one entry-point group
(``astrocyte.vector_stores``, ``astrocyte.graph_stores``...). A *kind* names the group in the
singular, as the config does: ``vector_store`` → ``astrocyte.vector_stores``.

Before a provider is used, discovery checks that its class declares an ``SPI_VERSION`` this core
supports and has the Protocol's methods (async where the Protocol's are); after construction, that
the instance satisfies the runtime Protocol. Every failure is a :class:`~astrocyte.errors.ConfigError`
subclass whose message says what to do.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Literal, get_args, overload

from astrocyte import provider as spi
from astrocyte.errors import AstrocyteError, BackendNotInstalledError, ConfigError, SpiVersionError

if TYPE_CHECKING:
    from astrocyte.config import AstrocyteConfig

__all__ = [
    "PROVIDER_KINDS",
    "ProviderKind",
    "check_config_backends",
    "check_constructor_config",
    "check_provider_class",
    "check_provider_instance",
    "create_provider",
    "group_for",
    "install_hint",
    "installed",
    "installed_all",
    "load_provider_class",
]

ProviderKind = Literal[
    "vector_store",
    "graph_store",
    "document_store",
    "llm_provider",
    "embedding_provider",
    "engine_provider",
    "ingest_source",
    "outbound_transport",
]
PROVIDER_KINDS: tuple[ProviderKind, ...] = get_args(ProviderKind)


def _extras() -> dict[str, str]:
    """Provider name → the ``astrocyte[...]`` extra that installs it."""
    return {
        "qdrant": "qdrant",
        "postgres": "postgres",
        "pgvector": "postgres",
        "neo4j": "neo4j",
        "elasticsearch": "elasticsearch",
        "opensearch": "elasticsearch",
        "local": "local",
        "sentence-transformers": "local",
        "kafka": "kafka",
        "redis": "redis",
        "nats": "nats",
        "github": "github",
        "tavus": "tavus",
    }


def _protocol_for(kind: ProviderKind) -> type | None:
    """The runtime Protocol a kind's providers must satisfy (``None``: no Protocol checked yet)."""
    protocols: dict[str, type] = {
        "vector_store": spi.VectorStore,
        "graph_store": spi.GraphStore,
        "document_store": spi.DocumentStore,
        "llm_provider": spi.LLMProvider,
        "embedding_provider": spi.EmbeddingProvider,
        "engine_provider": spi.EngineProvider,
        "outbound_transport": spi.OutboundTransportProvider,
        "ingest_source": spi.IngestSource,
    }
    return protocols.get(kind)


def _check_kind(kind: str) -> ProviderKind:
    for known in PROVIDER_KINDS:
        if kind == known:
            return known
    matches = difflib.get_close_matches(kind, PROVIDER_KINDS, n=1)
    suggestion = f" — did you mean {matches[0]!r}?" if matches else ""
    raise ConfigError(f"unknown provider kind {kind!r}{suggestion} (valid: {', '.join(PROVIDER_KINDS)})")


def group_for(kind: str) -> str:
    """The entry-point group of a kind: ``vector_store`` → ``astrocyte.vector_stores``."""
    return f"astrocyte.{_check_kind(kind)}s"


def installed(kind: str) -> dict[str, EntryPoint]:
    """Installed providers of ``kind`` by name, sorted (the first registration of a name wins)."""
    found: dict[str, EntryPoint] = {}
    for entry in sorted(entry_points(group=group_for(kind)), key=lambda ep: ep.name):
        found.setdefault(entry.name, entry)
    return found


def installed_all() -> dict[ProviderKind, dict[str, EntryPoint]]:
    """:func:`installed` for every kind."""
    return {kind: installed(kind) for kind in PROVIDER_KINDS}


def install_hint(name: str) -> str | None:
    """``pip install "astrocyte[qdrant]"`` for a provider name with a known extra, else ``None``."""
    extra = _extras().get(name)
    return f'pip install "astrocyte[{extra}]"' if extra else None


def _distribution(entry: EntryPoint) -> str:
    dist = entry.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def _not_installed(
    kind: ProviderKind, name: str, available: Mapping[str, EntryPoint]
) -> BackendNotInstalledError:
    names = ", ".join(available) or "none"
    hints = []
    matches = difflib.get_close_matches(name, list(available), n=1)
    if matches:
        hints.append(f"did you mean {matches[0]!r}?")
    pip = install_hint(name)
    if pip:
        hints.append(pip)
    elif not matches:
        hints.append(f"install the adapter that registers it in entry-point group {group_for(kind)!r}")
    error = BackendNotInstalledError(
        f"{kind} {name!r} is not installed (installed: {names})", hint="; ".join(hints)
    )
    error.key_path = kind
    return error


def load_provider_class(kind: str, name: str) -> type:
    """Import the class registered as ``name`` for ``kind`` and check it (:func:`check_provider_class`).

    Raises :class:`BackendNotInstalledError` when no distribution registers ``name`` or its module
    fails to import, :class:`SpiVersionError` when the class does not fit the SPI.
    """
    kind = _check_kind(kind)
    available = installed(kind)
    entry = available.get(name)
    if entry is None:
        raise _not_installed(kind, name, available)
    try:
        loaded = entry.load()
    except (ImportError, AttributeError) as exc:
        error = BackendNotInstalledError(
            f"{kind} {name!r} is registered by {_distribution(entry)} as {entry.value!r} "
            f"but failed to load: {exc}",
            hint=install_hint(name),
        )
        error.key_path = kind
        raise error from exc
    if not isinstance(loaded, type):
        raise SpiVersionError(
            f"{kind} {name!r}: entry point {entry.value!r} of {_distribution(entry)} must name a class, "
            f"got {type(loaded).__name__}"
        )
    check_provider_class(loaded, kind, name=name)
    return loaded


def _label(cls: type, kind: str, name: str | None) -> str:
    who = f"{kind} {name!r}" if name else kind
    return f"{who} ({cls.__module__}.{cls.__qualname__})"


def _method_gaps(cls: type, protocol: type) -> list[str]:
    """What ``cls`` lacks of ``protocol``'s methods: missing ones and ones that should be async."""
    problems: list[str] = []
    for attr, member in vars(protocol).items():
        if attr.startswith("_") or not inspect.isfunction(member):
            continue
        implementation = getattr(cls, attr, None)
        if implementation is None or not callable(implementation):
            problems.append(f"missing {attr}()")
        elif inspect.iscoroutinefunction(member) and not inspect.iscoroutinefunction(implementation):
            problems.append(f"{attr}() must be async")
    return problems


def check_provider_class(cls: type, kind: str, *, name: str | None = None) -> None:
    """Check a provider class: ``SPI_VERSION`` supported and the kind's Protocol methods present.

    Data members and properties (``dimensions``) are checked on the instance by
    :func:`check_provider_instance`, since they may be set in ``__init__``.
    """
    known = _check_kind(kind)
    label = _label(cls, known, name)
    supported = ", ".join(str(v) for v in sorted(spi.SUPPORTED_SPI_VERSIONS))
    version = getattr(cls, "SPI_VERSION", None)
    if version is None:
        raise SpiVersionError(
            f"{label} does not declare SPI_VERSION",
            hint=f"add `SPI_VERSION: ClassVar[int] = 1` to the class (supported: {supported})",
        )
    if isinstance(version, bool) or not isinstance(version, int) or version not in spi.SUPPORTED_SPI_VERSIONS:
        raise SpiVersionError(
            f"{label} declares SPI_VERSION {version!r}, this astrocyte supports {supported}",
            hint="install an adapter release built for this astrocyte, or upgrade astrocyte",
        )
    protocol = _protocol_for(known)
    if protocol is not None:
        gaps = _method_gaps(cls, protocol)
        if gaps:
            raise SpiVersionError(f"{label} does not implement {protocol.__name__}: {', '.join(gaps)}")


def check_provider_instance(instance: object, kind: str, *, name: str | None = None) -> None:
    """Check a constructed provider against its kind's runtime Protocol (``isinstance``)."""
    protocol = _protocol_for(_check_kind(kind))
    if protocol is None or isinstance(instance, protocol):
        return
    members = [attr for attr in vars(protocol) if not attr.startswith("_")]
    members += [attr for attr in getattr(protocol, "__annotations__", {}) if not attr.startswith("_")]
    missing = sorted({attr for attr in members if not hasattr(instance, attr)})
    detail = f": missing {', '.join(missing)}" if missing else ""
    raise SpiVersionError(f"{_label(type(instance), kind, name)} is not a {protocol.__name__}{detail}")


def _accepted_parameters(cls: type) -> tuple[list[str], list[str], bool] | None:
    """(accepted keyword names, required ones, takes **kwargs), or None when not introspectable."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return None
    names: list[str] = []
    required: list[str] = []
    var_keyword = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.append(parameter.name)
            if parameter.default is inspect.Parameter.empty:
                required.append(parameter.name)
    return names, required, var_keyword


def check_constructor_config(cls: type, kind: str, name: str, config: Mapping[str, object]) -> None:
    """Check that ``config``'s keys fit ``cls``'s constructor, naming ``<kind>_config`` when not."""
    accepted = _accepted_parameters(cls)
    if accepted is None:
        return
    names, required, var_keyword = accepted
    section = f"{kind}_config"
    problems: list[str] = []
    if not var_keyword:
        for key in config:
            if key not in names:
                matches = difflib.get_close_matches(key, names, n=1)
                problems.append(
                    f"does not accept {key!r}" + (f" (did you mean {matches[0]!r}?)" if matches else "")
                )
    problems += [f"requires {key!r}" for key in required if key not in config]
    if problems:
        raise ConfigError(
            f"{kind} {name!r} {'; '.join(problems)}",
            key_path=section,
            hint=f"accepted keys: {', '.join(names) or 'none'}",
        )


@overload
def create_provider(
    kind: Literal["vector_store"], name: str, config: Mapping[str, object] | None = None
) -> spi.VectorStore: ...
@overload
def create_provider(
    kind: Literal["graph_store"], name: str, config: Mapping[str, object] | None = None
) -> spi.GraphStore: ...
@overload
def create_provider(
    kind: Literal["document_store"], name: str, config: Mapping[str, object] | None = None
) -> spi.DocumentStore: ...
@overload
def create_provider(
    kind: Literal["embedding_provider"], name: str, config: Mapping[str, object] | None = None
) -> spi.EmbeddingProvider: ...
@overload
def create_provider(
    kind: Literal["llm_provider"], name: str, config: Mapping[str, object] | None = None
) -> spi.LLMProvider: ...
@overload
def create_provider(
    kind: Literal["engine_provider"], name: str, config: Mapping[str, object] | None = None
) -> spi.EngineProvider: ...
@overload
def create_provider(kind: str, name: str, config: Mapping[str, object] | None = None) -> object: ...


def create_provider(kind: str, name: str, config: Mapping[str, object] | None = None) -> object:
    """Load, check and construct the provider ``name`` of ``kind`` with ``config`` as keyword arguments.

    Unknown or missing constructor keys and ``TypeError``/``ValueError`` from the constructor become a
    :class:`ConfigError` naming ``<kind>_config``; an ``ImportError`` (an optional dependency missing)
    becomes :class:`BackendNotInstalledError` with the ``pip install`` line.
    """
    cls = load_provider_class(kind, name)
    options = dict(config or {})
    check_constructor_config(cls, kind, name, options)
    try:
        instance = cls(**options)
    except AstrocyteError:
        raise
    except ImportError as exc:
        raise BackendNotInstalledError(
            f"{kind} {name!r} needs a package that is not installed: {exc}", hint=install_hint(name)
        ) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{kind} {name!r} rejected its configuration: {exc}", key_path=f"{kind}_config"
        ) from exc
    check_provider_instance(instance, kind, name=name)
    return instance


def check_config_backends(config: AstrocyteConfig) -> dict[str, type]:
    """Check every backend ``config`` selects without constructing it (nothing connects anywhere).

    Each must be installed, importable, fit the SPI and accept its ``<kind>_config`` keys. Returns the
    classes by kind; all problems are reported together (one problem keeps its own error class).
    """
    classes: dict[str, type] = {}
    problems: list[ConfigError] = []
    for kind, selection in config.backends().items():
        try:
            cls = load_provider_class(kind, selection.name)
            check_constructor_config(cls, kind, selection.name, selection.config)
        except ConfigError as exc:
            problems.append(exc)
        else:
            classes[kind] = cls
    if len(problems) == 1:
        raise problems[0]
    if problems:
        body = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"{len(problems)} backend problems:\n{body}")
    return classes
