"""Token counting for recall budgets.

With ``tiktoken`` installed (``astrocyte[tokens]``) tokens are counted with the ``cl100k_base``
encoding. Without it the documented estimate is ``ceil(characters / 4)``, OpenAI's rule of thumb for
English, which over-counts slightly for short words and so stays on the safe side of a budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

__all__ = ["count_tokens", "token_counter"]


def _estimate(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


@lru_cache(maxsize=1)
def token_counter() -> Callable[[str], int]:
    """The token counting function in use (tiktoken when importable, else the estimate)."""
    try:
        import tiktoken
    except ImportError:
        return _estimate
    try:
        encoding = tiktoken.get_encoding("cl100k_base")
    except Exception:  # the encoding file may be unavailable offline; fall back to the estimate
        return _estimate
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def count_tokens(text: str) -> int:
    return token_counter()(text)
