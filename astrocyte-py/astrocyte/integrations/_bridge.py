"""One memory, reachable from a framework's sync hooks and its async hooks without nested event loops.

Frameworks call memory from both worlds (LangChain's ``invoke``/``ainvoke``, LangGraph's
``batch``/``abatch``, CrewAI's worker threads). ``Astrocyte`` is async; ``SyncAstrocyte`` owns an
event loop of its own. The bridge routes each call to the right one:

- async hook + ``Astrocyte``: awaited on the caller's loop;
- async hook + ``SyncAstrocyte``: run on the twin's loop in a worker thread (the caller's loop stays free);
- sync hook + ``SyncAstrocyte``: run on the twin's loop (in a worker thread when the calling thread
  already runs a loop, e.g. a notebook);
- sync hook + ``Astrocyte``: :class:`SyncCallError` — an async facade cannot be driven from a
  blocking call without starting a second loop over the same stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from astrocyte._facade import Astrocyte, SyncAstrocyte
from astrocyte.errors import AstrocyteError, InvalidRequestError
from astrocyte.identity import AstrocyteContext
from astrocyte.types import ForgetResult, RecallResult, RetainResult

__all__ = ["MemoryBridge", "SyncCallError"]

_T = TypeVar("_T")
#: Builds the coroutine to run from the async facade (called on the loop that will run it).
Call = Callable[[Astrocyte], Coroutine[Any, Any, _T]]


class SyncCallError(AstrocyteError):
    """A blocking framework hook was called on an integration built over the async ``Astrocyte``."""

    code = "sync_call_on_async_memory"

    def __init__(self, hook: str) -> None:
        super().__init__(
            f"{hook} is a blocking call but this integration wraps the async Astrocyte; "
            "use the framework's async variant (ainvoke, abatch, aget…) or build the integration "
            "over SyncAstrocyte.from_config(...)"
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class MemoryBridge:
    """The memory an integration talks to, with the bank and caller every call is made for.

    ``bank_id`` is the bank to use; without it the bank is resolved from ``context`` (its
    principal's default bank). ``context`` is passed to every call so access control applies.
    """

    def __init__(
        self,
        memory: Astrocyte | SyncAstrocyte,
        *,
        bank_id: str | None = None,
        context: AstrocyteContext | None = None,
    ) -> None:
        if not isinstance(memory, Astrocyte | SyncAstrocyte):
            raise InvalidRequestError(
                f"expected an Astrocyte or SyncAstrocyte, got {type(memory).__name__}", field="memory"
            )
        self._memory = memory
        self.context = context
        if bank_id is None:
            if context is None:
                raise InvalidRequestError(
                    "give bank_id, or a context whose bank can be resolved", field="bank_id"
                )
            bank_id = self.async_memory.access.resolve_bank(context)
        self.bank_id = bank_id

    @property
    def async_memory(self) -> Astrocyte:
        memory = self._memory
        return memory if isinstance(memory, Astrocyte) else memory.memory

    async def arun(self, call: Call[_T]) -> _T:
        """Run ``call`` from an async hook."""
        memory = self._memory
        if isinstance(memory, Astrocyte):
            return await call(memory)
        return await asyncio.to_thread(_blocking, memory, call)

    # The verbs, scoped to this bridge's bank and caller; extra fields go to the facade as they are.

    async def aretain(self, content: str, **fields: Any) -> RetainResult:
        return await self.arun(
            lambda m: m.retain(content, bank_id=self.bank_id, context=self.context, **fields)
        )

    def retain(self, content: str, *, hook: str, **fields: Any) -> RetainResult:
        return self.run(
            lambda m: m.retain(content, bank_id=self.bank_id, context=self.context, **fields), hook=hook
        )

    async def arecall(self, query: str, **fields: Any) -> RecallResult:
        return await self.arun(
            lambda m: m.recall(query, bank_id=self.bank_id, context=self.context, **fields)
        )

    def recall(self, query: str, *, hook: str, **fields: Any) -> RecallResult:
        return self.run(
            lambda m: m.recall(query, bank_id=self.bank_id, context=self.context, **fields), hook=hook
        )

    async def aforget(self, **fields: Any) -> ForgetResult:
        return await self.arun(lambda m: m.forget(bank_id=self.bank_id, context=self.context, **fields))

    def forget(self, *, hook: str, **fields: Any) -> ForgetResult:
        return self.run(lambda m: m.forget(bank_id=self.bank_id, context=self.context, **fields), hook=hook)

    def run(self, call: Call[_T], *, hook: str) -> _T:
        """Run ``call`` from a blocking hook named ``hook`` (for the error message)."""
        memory = self._memory
        if isinstance(memory, Astrocyte):
            raise SyncCallError(hook)
        if _loop_running():
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="astrocyte-bridge") as pool:
                return pool.submit(_blocking, memory, call).result()
        return _blocking(memory, call)


def _blocking(memory: SyncAstrocyte, call: Call[_T]) -> _T:
    return memory.run(call(memory.memory))
