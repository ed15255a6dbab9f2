"""Policy layer: barriers applied around every memory operation."""

from astrocyte.policy.pii import PiiFinding, PiiScanner

__all__ = ["PiiFinding", "PiiScanner"]
