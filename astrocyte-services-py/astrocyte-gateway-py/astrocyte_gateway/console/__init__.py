"""The memory console: a dependency-free web UI served by the gateway at ``/ui/``.

``app.include_router(console.router)`` adds the UI (static files, no build step, no CDN) and the
``/v1/console/*`` JSON endpoints it reads, all behind the API's authentication and bank grants.
"""

from astrocyte_gateway.console.audit_trail import AuditTrail
from astrocyte_gateway.console.router import router

__all__ = ["AuditTrail", "router"]
