"""The ``outbound_transport`` section of ``astrocyte.yaml``.

::

    outbound_transport:
      provider: proxy                       # entry point in astrocyte.outbound_transports (default: env)
      config:
        url: http://user:${PROXY_PASSWORD}@proxy.corp:3128
        no_proxy: [localhost, 127.0.0.1]
        ca_file: /etc/ssl/corp-ca.pem
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["OutboundTransportSettings"]


class OutboundTransportSettings(BaseModel):
    """Which outbound transport builds every HTTP client, and its constructor arguments."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    provider: str = Field(
        default="env",
        min_length=1,
        description="Entry point in astrocyte.outbound_transports: env (HTTP(S)_PROXY, NO_PROXY, "
        "SSL_CERT_FILE from the environment) or proxy (an explicit proxy, CA bundle and headers).",
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Keyword arguments of the transport's constructor."
    )
