"""The persisted poll cursor: per endpoint, the newest ``updated_at`` retained and the ETag seen for it.

The state is a small JSON file written atomically (temp file + ``os.replace``), so a crash never
leaves half a cursor behind and a restarted poller resumes where the last retained page ended.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from astrocyte.errors import ConfigError

__all__ = ["CursorFile", "EndpointCursor"]


class EndpointCursor(BaseModel):
    """Where one endpoint's poll resumes.

    ``since`` is the newest ``updated_at`` whose item was retained. ``etag`` is the ETag GitHub sent for
    the first page requested with exactly this ``since`` (a 304 to ``If-None-Match`` then means nothing
    changed); it is dropped whenever ``since`` moves, because it belongs to the old URL.
    """

    since: str | None = None
    etag: str | None = None


class _State(BaseModel):
    version: int = 1
    endpoints: dict[str, EndpointCursor] = {}


class CursorFile:
    """Load and save :class:`EndpointCursor` values keyed by ``"<repo>:<endpoint>"``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._state = self._load()

    def get(self, key: str) -> EndpointCursor:
        return self._state.endpoints.get(key, EndpointCursor()).model_copy()

    def put(self, key: str, cursor: EndpointCursor) -> None:
        """Record ``cursor`` for ``key`` and write the file (atomically) before returning."""
        self._state.endpoints[key] = cursor.model_copy()
        self._write()

    def _load(self) -> _State:
        if not self.path.exists():
            return _State()
        try:
            return _State.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the GitHub poll state file {str(self.path)!r}: {exc}",
                key_path="state_path",
                hint="delete the file to poll from the beginning, or point state_path elsewhere",
            ) from exc

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self._state.model_dump(mode="json"), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".cursor-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
