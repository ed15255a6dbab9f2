"""Memory intent protocol (``mip:``): rules that route retains and recalls to banks, or deny them."""

from astrocyte.mip.explain import explain, explain_json
from astrocyte.mip.router import (
    IntentDeniedError,
    IntentFacts,
    MipDecision,
    MipRouter,
    RecallRoute,
    RuleCheck,
)
from astrocyte.mip.settings import MipConfig, MipMatch, MipRule

__all__ = [
    "IntentDeniedError",
    "IntentFacts",
    "MipConfig",
    "MipDecision",
    "MipMatch",
    "MipRouter",
    "MipRule",
    "RecallRoute",
    "RuleCheck",
    "explain",
    "explain_json",
]
