"""Fixtures of the gateway tests (helpers live in ``_gateway.py``)."""

from _gateway import gateway

__all__ = ["gateway"]
