"""What several bot processes sharing one database need to know of each other.

Each process has an instance name: outbox leases are taken in its name (see
``OutboxRepository.claim_due``), and a process that restarts under the same name
gives up the leases its previous life held at once, instead of waiting for them
to run out. Two processes running at the same time must have different names:
set ``BOT_INSTANCE`` (or ``runtime.instance`` in config.yaml), e.g. to the
systemd instance ``%i``. The default, the host name, fits one process a host.
"""

from __future__ import annotations

import os
import socket
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ENV_VAR: Final = "BOT_INSTANCE"
MAX_LENGTH: Final = 64

# The next send slot for a key, kept with the database's clock so that processes on
# machines whose clocks disagree still share one schedule. now() is the start of
# this one-statement transaction: a wait for the row lock only makes it later.
_NOW: Final = "CAST(extract(epoch FROM now()) AS float8)"
_RESERVE_POSTGRESQL: Final = text(
    f"INSERT INTO send_slots (key, tat) VALUES (:key, {_NOW} + CAST(:interval AS float8)) "
    "ON CONFLICT (key) DO UPDATE "
    f"SET tat = GREATEST(send_slots.tat, {_NOW}) + CAST(:interval AS float8) "
    f"RETURNING tat, {_NOW}"
)
_TAKE_POSTGRESQL: Final = text(
    f"INSERT INTO send_slots (key, tat) VALUES (:key, {_NOW} + CAST(:interval AS float8)) "
    "ON CONFLICT (key) DO UPDATE "
    f"SET tat = GREATEST(send_slots.tat, {_NOW}) + CAST(:interval AS float8) "
    f"WHERE send_slots.tat - CAST(:tolerance AS float8) <= {_NOW} "
    "RETURNING tat"
)
_WAIT_POSTGRESQL: Final = text(
    f"SELECT GREATEST(0, tat - CAST(:tolerance AS float8) - {_NOW}) FROM send_slots "
    "WHERE key = :key"
)
_FORGET_POSTGRESQL: Final = text(
    f"DELETE FROM send_slots WHERE tat < {_NOW} - CAST(:seconds AS float8)"
)


def instance_name(configured: str = "") -> str:
    """``configured``, else ``$BOT_INSTANCE``, else the host name (at most 64 characters)."""
    name = configured or os.environ.get(ENV_VAR, "") or socket.gethostname() or "bot"
    return name.strip()[:MAX_LENGTH]


async def reserve_slot(engine: AsyncEngine, key: str, interval: float, tolerance: float) -> float:
    """Reserve ``key``'s next send slot (GCRA); returns how long to wait for it, in seconds.

    PostgreSQL only: the reservation is one atomic upsert, so instances never hand
    out the same slot twice.
    """
    async with engine.begin() as conn:
        tat, now = (
            await conn.execute(_RESERVE_POSTGRESQL, {"key": key, "interval": interval})
        ).one()
    return max(0.0, float(tat) - interval - tolerance - float(now))


async def take_slot(engine: AsyncEngine, key: str, interval: float, tolerance: float) -> bool:
    """Take ``key``'s slot if it conforms now (GCRA); False, and nothing taken, if not yet."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                _TAKE_POSTGRESQL, {"key": key, "interval": interval, "tolerance": tolerance}
            )
        ).first()
    return row is not None


async def chat_wait(engine: AsyncEngine, key: str, tolerance: float) -> float:
    """Seconds until ``key`` conforms (0: now); reserves nothing."""
    async with engine.connect() as conn:
        value = (
            await conn.execute(_WAIT_POSTGRESQL, {"key": key, "tolerance": tolerance})
        ).scalar_one_or_none()
    return float(value or 0.0)


async def forget_idle_slots(engine: AsyncEngine, seconds: float) -> None:
    """Drop the rate state of chats that have had nothing for ``seconds``."""
    async with engine.begin() as conn:
        await conn.execute(_FORGET_POSTGRESQL, {"seconds": seconds})
