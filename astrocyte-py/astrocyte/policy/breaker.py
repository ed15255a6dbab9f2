"""Circuit breakers per store and provider.

:class:`CircuitBreaker` is a small synchronous state machine (time passed in): *closed* counts
consecutive failures and opens at the threshold; *open* rejects calls until ``reset_timeout``
passed, then lets one probe through (*half-open*); the probe's success closes it, its failure opens
it again. :func:`guard_stores` wraps every store and provider of a :class:`MemoryStores` so an open
breaker fails fast with :class:`CircuitOpenError` (recall skips that store and its trace says so).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, cast

from astrocyte.errors import (
    AccessDeniedError,
    CapabilityNotSupportedError,
    CircuitOpenError,
    InvalidRequestError,
    NotFoundError,
)
from astrocyte.pipeline.stores import MemoryStores
from astrocyte.policy.settings import CircuitBreakerSettings

__all__ = ["BreakerState", "CircuitBreaker", "guard_stores"]

BreakerState = Literal["closed", "open", "half_open"]
_T = TypeVar("_T")
#: Errors that are the caller's fault, not the backend's: they never trip a breaker.
_CALLER_ERRORS = (InvalidRequestError, AccessDeniedError, NotFoundError, CapabilityNotSupportedError)
#: Methods that probe or release a backend; they pass through an open breaker.
_UNGUARDED = frozenset({"close", "health", "capabilities"})


class CircuitBreaker:
    def __init__(self, name: str, failure_threshold: int = 5, reset_timeout: float = 30.0) -> None:
        self.name = name
        self._threshold = failure_threshold
        self._reset_timeout = reset_timeout
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._probing or now - self._opened_at < self._reset_timeout:
            return "open"
        return "half_open"

    def before_call(self, now: float) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go through (a half-open probe may)."""
        state = self.state(now)
        if state == "closed":
            return
        if state == "half_open":
            self._probing = True  # exactly one probe; concurrent callers still see it open
            return
        assert self._opened_at is not None
        retry = max(0.0, self._reset_timeout - (now - self._opened_at))
        raise CircuitOpenError(
            f"circuit open for {self.name} after {self._failures} consecutive failures; "
            f"skipped (next probe in {retry:.1f}s)"
        )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def abandon(self) -> None:
        """A call ended without an answer (cancelled): let the next caller probe instead."""
        self._probing = False

    def record_failure(self, now: float) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = now
        self._probing = False


class _Guarded:
    """Forwards every attribute to ``inner``; async methods pass through ``breaker`` first."""

    def __init__(self, inner: object, breaker: CircuitBreaker, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._breaker = breaker
        self._clock = clock

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def __getattr__(self, name: str) -> Any:
        if name in {"_inner", "_breaker", "_clock"}:  # not yet set (copy, pickle): no recursion
            raise AttributeError(name)
        value = getattr(self._inner, name)
        if name in _UNGUARDED or not inspect.iscoroutinefunction(value):
            return value
        guarded = self._wrap(value)
        # Kept on the instance: later calls find it without __getattr__ or a new closure per call.
        setattr(self, name, guarded)
        return guarded

    def _wrap(self, method: Callable[..., Awaitable[_T]]) -> Callable[..., Awaitable[_T]]:
        async def call(*args: Any, **kwargs: Any) -> _T:
            self._breaker.before_call(self._clock())
            try:
                result = await method(*args, **kwargs)
            except _CALLER_ERRORS:
                self._breaker.record_success()  # the backend answered; the request was wrong
                raise
            except Exception:
                self._breaker.record_failure(self._clock())
                raise
            except BaseException:
                self._breaker.abandon()
                raise
            self._breaker.record_success()
            return result

        return call


def guard_stores(
    stores: MemoryStores, settings: CircuitBreakerSettings, clock: Callable[[], float] = time.monotonic
) -> MemoryStores:
    """The same stores, each behind its own breaker (``vector store``, ``embedding provider``...)."""
    if not settings.enabled:
        return stores

    def guard(kind: str, inner: _T) -> _T:
        if inner is None or isinstance(inner, _Guarded):
            return inner
        breaker = CircuitBreaker(kind, settings.failure_threshold, settings.reset_timeout_s)
        return cast(_T, _Guarded(inner, breaker, clock))

    return MemoryStores(
        vector=guard("vector store", stores.vector),
        embedder=guard("embedding provider", stores.embedder),
        document=guard("document store", stores.document),
        graph=guard("graph store", stores.graph),
        llm=guard("llm provider", stores.llm),
        reranker=guard("reranker", stores.reranker),
    )
