"""create_app always serves a standalone deployment; anything that trusts anonymous calls is refused."""

from __future__ import annotations

import pytest
from _gateway import base_config
from astrocyte_gateway import create_app, standalone_config

from astrocyte import Astrocyte
from astrocyte.config import load_config
from astrocyte.errors import ConfigError


def test_default_library_mode_is_switched_to_standalone() -> None:
    config = load_config({"vector_store": "memory", "document_store": None, "graph_store": None})
    assert config.deployment.mode == "library"
    assert standalone_config(config).deployment.mode == "standalone"


@pytest.mark.parametrize("deployment", [{"mode": "library", "allow_anonymous": True}, {"mode": "plugin"}])
def test_configs_trusting_anonymous_calls_are_refused(deployment: dict[str, object]) -> None:
    config = base_config()
    config["deployment"] = deployment
    with pytest.raises(ConfigError, match=r"deployment.*standalone"):
        create_app(config)


async def test_an_astrocyte_accepting_anonymous_calls_is_refused() -> None:
    async with Astrocyte.from_config(
        {"vector_store": "memory", "document_store": None, "graph_store": None}
    ) as memory:
        with pytest.raises(ConfigError, match="context-less"):
            create_app(memory)


def test_unknown_gateway_key_names_its_path() -> None:
    with pytest.raises(ConfigError, match=r"gateway\.cors\.allow_origin.*unknown key"):
        create_app(base_config(cors={"allow_origin": ["x"]}))
