"""The API-gateway plugins in ``gateway-plugins/``: Lua unit tests, Lua syntax, Azure policy XML.

The Lua specs run under busted with Debian's Lua 5.1 (``apt-get install lua5.1 lua-busted
lua-cjson``; ``.ci/run`` installs them). Without them these tests skip with one line locally and
fail in CI (backend ``lua`` is required there).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "gateway-plugins"
LUA_SOURCES = sorted(PLUGINS.glob("**/*.lua"))
APIM = PLUGINS / "azure-apim"
FRAGMENTS = sorted((APIM / "policies").glob("astrocyte-memory-*.xml"))
_NAMED_VALUE = re.compile(r"\{\{([a-z0-9-]+)\}\}")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install -y lua5.1 lua-busted lua-cjson)")
    return path


@pytest.mark.backend("lua")
def test_lua_unit_tests_pass_under_busted() -> None:
    busted = _tool("busted")
    _tool("lua5.1")
    run = subprocess.run(
        [busted, "--lua=lua5.1", "--output=TAP"],
        cwd=PLUGINS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    passed = re.findall(r"^ok \d+", run.stdout, re.MULTILINE)
    assert len(passed) >= 20, run.stdout  # every spec ran, not just a few
    assert "not ok" not in run.stdout


@pytest.mark.backend("lua")
@pytest.mark.parametrize("source", LUA_SOURCES, ids=lambda p: str(p.relative_to(PLUGINS)))
def test_every_lua_file_compiles(source: Path) -> None:
    luac = _tool("luac5.1")
    run = subprocess.run([luac, "-p", str(source)], capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr


def test_kong_and_apisix_plugins_share_the_core_and_the_config_keys() -> None:
    kong_schema = (PLUGINS / "kong/kong/plugins/astrocyte-memory/schema.lua").read_text()
    apisix = (PLUGINS / "apisix/apisix/plugins/astrocyte-memory.lua").read_text()
    kong_keys = set(re.findall(r"^          \{ (\w+) = ", kong_schema, re.MULTILINE))
    properties = apisix.split("properties = {", 1)[1].split("\n  },", 1)[0]
    apisix_keys = set(re.findall(r"^    (\w+) = \{", properties, re.MULTILINE))
    assert kong_keys == apisix_keys
    assert {"astrocyte_url", "astrocyte_api_key", "bank_id", "max_tokens", "retain"} <= kong_keys
    for handler in (
        PLUGINS / "kong/kong/plugins/astrocyte-memory/handler.lua",
        PLUGINS / "apisix/apisix/plugins/astrocyte-memory.lua",
    ):
        assert 'require("astrocyte_memory_core")' in handler.read_text()
    readme = (PLUGINS / "README.md").read_text()
    for key in kong_keys:
        assert f"`{key}`" in readme, f"README does not document {key}"


@pytest.mark.parametrize("policy", sorted((APIM / "policies").glob("*.xml")), ids=lambda p: p.name)
def test_azure_policies_are_well_formed_xml(policy: Path) -> None:
    root = ET.parse(policy).getroot()
    assert root.tag == ("policies" if policy.name == "api-policy.xml" else "fragment")


def test_azure_api_policy_includes_both_fragments_in_order() -> None:
    root = ET.parse(APIM / "policies/api-policy.xml").getroot()
    inbound = [e.get("fragment-id") for e in root.iterfind("inbound/include-fragment")]
    outbound = [e.get("fragment-id") for e in root.iterfind("outbound/include-fragment")]
    assert inbound == ["astrocyte-memory-inbound"] and outbound == ["astrocyte-memory-outbound"]
    inbound_policies = root.find("inbound")
    assert inbound_policies is not None and inbound_policies[0].tag == "base"
    assert {p.stem for p in FRAGMENTS} == {"astrocyte-memory-inbound", "astrocyte-memory-outbound"}


def test_azure_inbound_builds_the_same_block_as_the_core() -> None:
    from astrocyte.chat_proxy import MEMORY_BLOCK_END, MEMORY_BLOCK_START, MEMORY_PREAMBLE

    text = ET.tostring(ET.parse(APIM / "policies/astrocyte-memory-inbound.xml").getroot(), encoding="unicode")
    unescaped = ET.parse(APIM / "policies/astrocyte-memory-inbound.xml").getroot()
    expressions = " ".join(
        [e.get("value", "") for e in unescaped.iter("set-variable")]
        + [e.text or "" for e in unescaped.iter("set-body")]
    )
    assert f'"{MEMORY_PREAMBLE}"' in expressions
    assert f'"{MEMORY_BLOCK_START}"' in expressions and f'"{MEMORY_BLOCK_END}"' in expressions
    assert "/v1/recall" in text
    lua = (PLUGINS / "lua/astrocyte_memory_core.lua").read_text()
    assert MEMORY_PREAMBLE[:60] in lua and MEMORY_BLOCK_START in lua


def test_bicep_deploys_every_fragment_and_named_value_the_policies_use() -> None:
    bicep = (APIM / "deploy/main.bicep").read_text()
    for fragment in FRAGMENTS:
        assert f"loadTextContent('../policies/{fragment.name}')" in bicep
        assert f"name: '{fragment.stem}'" in bicep
    assert "loadTextContent('../policies/api-policy.xml')" in bicep
    used = set()
    for policy in (APIM / "policies").glob("*.xml"):
        used |= set(_NAMED_VALUE.findall(policy.read_text()))
    declared = set(re.findall(r"'(astrocyte-[a-z-]+)'", bicep))
    assert used and used <= declared, f"named values used but not deployed: {used - declared}"
    assert "secret: true" in bicep and "@secure()" in bicep
