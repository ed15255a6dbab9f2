"""pgvector's binary wire format, so a batch of vectors crosses as packed float32, not decimal text.

Formatting 384 floats as text costs far more than the insert itself; the binary form is one numpy
conversion per vector. :func:`register_vector` teaches one connection the ``vector`` type (its oid is
per database, looked up once per connection) so a list of :class:`PackedVector` adapts as ``vector[]``.
"""

from __future__ import annotations

import struct
import weakref
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg import AsyncConnection
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo

from astrocyte.errors import InvalidRequestError, StoreError

__all__ = ["PackedVector", "register_vector"]

_registered: weakref.WeakSet[AsyncConnection[Any]] = weakref.WeakSet()


class PackedVector:
    """A finite float32 vector ready for the binary protocol."""

    __slots__ = ("data",)

    def __init__(self, values: list[float]) -> None:
        data: npt.NDArray[np.float32] = np.asarray(values, dtype=np.float32)
        if not np.all(np.isfinite(data)):
            raise InvalidRequestError("vector contains NaN or infinity", field="vector")
        self.data = data


class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: PackedVector) -> bytes:
        # pgvector binary layout: int16 dimensions, int16 unused, then big-endian float32 values.
        return struct.pack(">HH", obj.data.shape[0], 0) + obj.data.astype(">f4").tobytes()


async def register_vector(conn: AsyncConnection[Any]) -> None:
    """Make ``conn`` send :class:`PackedVector` (and lists of them) as ``vector`` / ``vector[]``."""
    if conn in _registered:
        return
    info = await TypeInfo.fetch(conn, "public.vector")
    if info is None:
        raise StoreError("the pgvector extension is not installed in this database (CREATE EXTENSION vector)")
    info.register(conn)
    dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(PackedVector, dumper)
    _registered.add(conn)
