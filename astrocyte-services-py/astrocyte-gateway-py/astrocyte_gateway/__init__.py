"""Astrocyte standalone gateway: the library's retain/recall/reflect/forget over HTTP and MCP, with
authentication, limits and observability. Build the app with :func:`create_app`; run it with
``astrocyte serve`` or ``astrocyte-gateway``."""

from astrocyte_gateway.app import create_app, standalone_config
from astrocyte_gateway.auth import Caller, authenticate, caller_context, require_admin
from astrocyte_gateway.problems import GatewayProblem, Problem
from astrocyte_gateway.settings import ENV_VARS, GatewaySettings, hash_api_key, parse_gateway_settings

__all__ = [
    "ENV_VARS",
    "Caller",
    "GatewayProblem",
    "GatewaySettings",
    "Problem",
    "authenticate",
    "caller_context",
    "create_app",
    "hash_api_key",
    "parse_gateway_settings",
    "require_admin",
    "standalone_config",
]
