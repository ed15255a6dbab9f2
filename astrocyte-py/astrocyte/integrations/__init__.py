"""Astrocyte inside agent frameworks. Each module is an optional extra of ``astrocyte``:

================================  ==============================  ==========================================
module                            extra                           what it provides
================================  ==============================  ==========================================
``astrocyte.integrations.langchain``     ``astrocyte[langchain]``      retriever, chat message history, tools
``astrocyte.integrations.langgraph``     ``astrocyte[langgraph]``      ``BaseStore`` (long-term memory store)
``astrocyte.integrations.llama_index``   ``astrocyte[llama-index]``    retriever, memory block
``astrocyte.integrations.crewai``        ``astrocyte[crewai]``         memory ``StorageBackend``
``astrocyte.integrations.openai_agents`` ``astrocyte[openai-agents]``  function tools
``astrocyte.integrations.pydantic_ai``   ``astrocyte[pydantic-ai]``    toolset
``astrocyte.integrations.autogen``       ``astrocyte[autogen]``        ``Memory`` (autogen-core protocol)
================================  ==============================  ==========================================

Every integration takes an ``Astrocyte`` (async) or ``SyncAstrocyte`` (blocking), a ``bank_id`` and an
optional ``context: AstrocyteContext`` that every call carries, so access control applies to agents too.
"""

from astrocyte.integrations._bridge import MemoryBridge, SyncCallError

__all__ = ["MemoryBridge", "SyncCallError"]
