"""The ``astrocyte`` CLI: schema export, config check/show/schema, providers, error handling."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import astrocyte.cli as cli
from astrocyte.cli import COMMAND_MODULES, main
from astrocyte.cli._config import redact_secrets
from astrocyte.types import PORTABLE_MODELS

PLUGIN_SOURCE = textwrap.dedent(
    """
    from typing import ClassVar


    class Vectors:
        SPI_VERSION: ClassVar[int] = 1

        def __init__(self, path: str = ":memory:") -> None:
            self.path = path

        async def store_vectors(self, items): return []
        async def search_similar(self, query_vector, bank_id, limit=10, filters=None): return []
        async def delete(self, ids, bank_id): return 0
        async def list_vectors(self, bank_id, offset=0, limit=100): return []
        async def list_banks(self): return []
        async def health(self): return None
        async def close(self): return None


    class OldVectors(Vectors):
        SPI_VERSION = 0


    class Embedder:
        SPI_VERSION: ClassVar[int] = 1
        dimensions = 4

        async def embed(self, texts): return []
    """
)


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real distribution on sys.path registering vector store `clivec`, `cliold` and embedder `cliemb`."""
    module = f"astrocyte_cli_plugin_{uuid.uuid4().hex[:12]}"
    site = tmp_path / "site"
    dist_info = site / f"{module}-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (site / f"{module}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        f"[astrocyte.vector_stores]\nclivec = {module}:Vectors\ncliold = {module}:OldVectors\n"
        f"[astrocyte.embedding_providers]\ncliemb = {module}:Embedder\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    yield module
    sys.modules.pop(module, None)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


PLUGIN_CONFIG = (
    "vector_store: clivec\n"
    "vector_store_config:\n"
    "  path: /tmp/vectors.db\n"
    "graph_store: null\n"
    "document_store: null\n"
    "embedding_provider: cliemb\n"
)


# --------------------------------------------------------------------------- schema


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_schema_prints_one_json_object_keyed_by_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    schemas = json.loads(out)
    assert list(schemas) == list(PORTABLE_MODELS)
    for name, schema in schemas.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["type"] == "object"
        assert schema["title"] == name
        assert schema["additionalProperties"] is False
        assert isinstance(schema["properties"], dict)
        assert set(schema.get("required", [])) <= set(schema["properties"])
        for ref in _refs(schema):
            assert ref.startswith("#/$defs/"), ref
            assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_schema_describes_the_models_faithfully(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    retain = schemas["RetainRequest"]
    assert set(retain["required"]) == {"content", "bank_id"}
    assert retain["properties"]["content"]["minLength"] == 1
    assert schemas["VectorHit"]["properties"]["score"]["maximum"] == 1.0
    assert schemas["LLMMessage"]["properties"]["role"]["enum"] == ["system", "user", "assistant"]


def test_schema_out_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schemas.json"
    assert main(["schema", "--out", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"wrote {len(PORTABLE_MODELS)} schemas to {target}" in captured.err
    assert set(json.loads(target.read_text(encoding="utf-8"))) == set(PORTABLE_MODELS)


def test_schema_out_to_unwritable_path_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--out", str(tmp_path / "missing-dir" / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out: cannot write")
    assert "Traceback" not in err


# --------------------------------------------------------------------------- config check


def test_config_check_ok_summarises_backends(
    plugin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "astrocyte.yaml", PLUGIN_CONFIG + "compliance_profile: gdpr\n")
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"ok: {path}"
    rows = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines[1:]}
    assert rows["vector_store"] == "clivec"
    assert rows["graph_store"] == "(disabled)"
    assert rows["embedding_provider"] == "cliemb"
    assert rows["compliance_profile"] == "gdpr"
    assert rows["pii"] == "redact"


def test_config_check_unknown_key_fails_with_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "astrocyte.yaml", "vector_stor: sqlite\n")
    assert main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}: unknown key 'vector_stor' — did you mean 'vector_store'?\n"


def test_config_check_lists_every_validation_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "astrocyte.yaml", "retain:\n  max_chunk_size: big\npii:\n  action: mask\n")
    assert main(["config", "check", str(path)]) == 2
    err_lines = capsys.readouterr().err.splitlines()
    assert err_lines[0] == f"error: {path}: 2 configuration errors:"
    assert err_lines[1].startswith("  - retain.max_chunk_size: Input should be a valid integer")
    assert err_lines[2].startswith("  - pii.action: Input should be")


def test_config_check_reports_uninstalled_backend(
    plugin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "astrocyte.yaml", PLUGIN_CONFIG.replace("clivec", "qdrant-not-here"))
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: vector_store 'qdrant-not-here' is not installed (installed: ")
    assert "clivec" in err
    assert "Traceback" not in err


def test_config_check_reports_spi_mismatch(
    plugin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "astrocyte.yaml", PLUGIN_CONFIG.replace("clivec", "cliold"))
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: vector_store 'cliold' ({plugin}.OldVectors) declares SPI_VERSION 0" in err


def test_config_check_yaml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "astrocyte.yaml", "retain: {max_chunk_size: 3\n")
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: YAML syntax error at line 2")


def test_config_check_missing_env_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASTRO_TEST_UNSET_VAR", raising=False)
    path = write(tmp_path / "astrocyte.yaml", "llm_provider_config:\n  api_key: ${ASTRO_TEST_UNSET_VAR}\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "llm_provider_config.api_key: environment variable 'ASTRO_TEST_UNSET_VAR' is not set" in err


# --------------------------------------------------------------------------- config show / schema


def test_config_show_prints_merged_yaml_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASTRO_TEST_TOKEN", "s3cr3t")
    path = write(
        tmp_path / "astrocyte.yaml",
        """\
        profile: conversational
        vector_store: pg
        vector_store_config:
          dsn: postgresql://app:hunter2@db:5432/mem
          api_key: ${ASTRO_TEST_TOKEN}
          table: memories
        """,
    )
    assert main(["config", "show", str(path)]) == 0
    out = capsys.readouterr().out
    shown = yaml.safe_load(out)
    assert shown["profile"] == "conversational"
    assert shown["retain"]["chunk_strategy"] == "dialogue"  # from the profile
    assert shown["vector_store_config"] == {
        "dsn": "postgresql://app:***@db:5432/mem",
        "api_key": "***",
        "table": "memories",
    }
    assert "hunter2" not in out
    assert "s3cr3t" not in out

    assert main(["config", "show", "--show-secrets", str(path)]) == 0
    revealed = yaml.safe_load(capsys.readouterr().out)
    assert revealed["vector_store_config"]["api_key"] == "s3cr3t"


def test_config_show_without_file_uses_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASTROCYTE_CONFIG", raising=False)
    assert main(["config", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["vector_store"] == "sqlite"
    assert shown["pii"]["action"] == "off"


def test_redact_secrets_leaves_other_values() -> None:
    data = {
        "password": "p",
        "nested": [{"client_secret": "x", "port": 1}],
        "url": "http://host/x",
        "token": "",
    }
    assert redact_secrets(data) == {
        "password": "***",
        "nested": [{"client_secret": "***", "port": 1}],
        "url": "http://host/x",
        "token": "",
    }


def test_config_schema_describes_the_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert {"vector_store", "retain", "recall", "homeostasis", "pii"} <= set(schema["properties"])
    assert schema["$defs"]["RetainSettings"]["properties"]["max_chunk_size"]["default"] == 800


# --------------------------------------------------------------------------- providers


def test_providers_lists_every_group(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "vector_store (astrocyte.vector_stores)" in out
    assert "outbound_transport (astrocyte.outbound_transports)" in out
    # Names are padded to the longest in the group, which depends on the installed adapters.
    assert re.search(rf"clivec +{plugin}:Vectors  \[{plugin}\]", out)


def test_providers_json_and_check(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "--json", "--check"]) == 1  # cliold declares an unsupported SPI version
    report = json.loads(capsys.readouterr().out)
    vectors = report["vector_store"]
    assert {"memory", "sqlite", "clivec", "cliold"} <= set(vectors)
    assert vectors["clivec"] == {"target": f"{plugin}:Vectors", "distribution": plugin, "status": "ok"}
    assert vectors["cliold"]["status"].startswith("error: vector_store 'cliold'")
    assert report["embedding_provider"]["cliemb"]["status"] == "ok"


# --------------------------------------------------------------------------- entry and registry


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: astrocyte" in capsys.readouterr().err


def test_config_without_subcommand_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 2
    assert "usage: astrocyte config" in capsys.readouterr().err


def test_usage_error_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("astrocyte ")


def test_command_modules_each_register(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"astrocyte.cli._schema", "astrocyte.cli._config", "astrocyte.cli._providers"} <= set(
        COMMAND_MODULES
    )
    help_text = cli.build_parser().format_help()
    for command in ("schema", "config", "providers"):
        assert command in help_text


def test_adding_a_command_module_is_one_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = f"astrocyte_cli_extra_{uuid.uuid4().hex[:12]}"
    write(
        tmp_path / f"{module}.py",
        """\
        from astrocyte.cli._base import add_command
        from astrocyte.errors import NotFoundError


        def _hello(args):
            if args.name == "nobody":
                raise NotFoundError("no such person: nobody")
            print(f"hello {args.name}")
            return 0


        def register(subparsers):
            add_command(subparsers, "hello", _hello, help="Say hello.").add_argument("name")
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, module))
    try:
        assert main(["hello", "world"]) == 0
        assert capsys.readouterr().out == "hello world\n"
        assert main(["hello", "nobody"]) == 2
        assert capsys.readouterr().err == "error: no such person: nobody\n"
    finally:
        sys.modules.pop(module, None)


def test_python_dash_m_astrocyte_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "astrocyte", "schema"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == set(PORTABLE_MODELS)


def test_console_script_error_exit_code_without_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path / "astrocyte.yaml", "vector_stor: x\n")
    result = subprocess.run(
        [sys.executable, "-m", "astrocyte", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {bad}: unknown key 'vector_stor' — did you mean 'vector_store'?\n"
