"""The control API's hold on the stand-in's own side: webhook delivery (targets, timing,
the delivery log and waiting for it), scripted faults and flood limits (routes in
``control.py``)."""

from __future__ import annotations

import time
from dataclasses import asdict

from aiohttp import web

from standins.core.control import ControlError, json_answer
from standins.telegram.control_input import (
    delivery_filters,
    int_param,
    loopback_targets,
    read_body,
    wait_timeout,
)
from standins.telegram.models import JSONDict
from standins.telegram.state import DeliveryRecord, World


class StandinControls:
    def __init__(self, world: World) -> None:
        self.world = world

    async def get_webhook(self, request: web.Request) -> JSONDict:
        return self._webhook()

    async def patch_webhook(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        timing = self.world.webhook_timing
        for name in ("timeout", "retry_delay", "retry_max_delay", "target_cooldown"):
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ControlError(400, f"{name} must be a number of seconds")
                setattr(timing, name, float(value))
        if "targets" in body:
            self.world.webhook_targets = loopback_targets(body["targets"])
        self.world.changed()
        return self._webhook()

    async def get_targets(self, request: web.Request) -> JSONDict:
        return {"urls": list(self.world.webhook_targets)}

    async def set_targets(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        self.world.webhook_targets = loopback_targets(body.get("urls", []))
        self.world.targets_down.clear()
        self.world.changed()
        return self._webhook()

    async def deliveries(self, request: web.Request) -> JSONDict:
        filters = delivery_filters(dict(request.query))
        return {"deliveries": [d.to_json() for d in self._deliveries(**filters)]}

    async def wait_deliveries(self, request: web.Request) -> web.Response:
        """Wait until ``count`` finished webhook requests match the filters."""
        body = await read_body(request)
        count = int_param(body.get("count", 1), "count")
        filters = delivery_filters(body)

        def ready() -> list[JSONDict] | None:
            found = [d.to_json() for d in self._deliveries(**filters) if d.finished is not None]
            return found if len(found) >= count else None

        found = await self.world.wait_until(ready, wait_timeout(body))
        if found is None:
            seen = [d.to_json() for d in self._deliveries(**filters)]
            raise ControlError(
                408,
                f"timed out waiting for {count} webhook deliveries matching {filters}; "
                f"saw {len(seen)}: {seen[-5:]}",
            )
        return json_answer({"deliveries": found})

    # Faults and limits --------------------------------------------------------------------

    async def get_faults(self, request: web.Request) -> JSONDict:
        return {"rules": [rule.to_json() for rule in self.world.faults.rules]}

    async def add_faults(self, request: web.Request) -> JSONDict:
        body = await read_body(request)
        specs = body.get("rules", [body])
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ControlError(400, "rules must be a list of objects")
        try:
            rules = [self.world.faults.add(spec) for spec in specs]
        except ValueError as error:
            raise ControlError(400, str(error)) from error
        return {"rules": [rule.to_json() for rule in rules]}

    async def clear_faults(self, request: web.Request) -> JSONDict:
        self.world.faults.clear()
        return {"ok": True}

    async def get_limits(self, request: web.Request) -> JSONDict:
        return self.world.limiter.to_json()

    async def put_limits(self, request: web.Request) -> JSONDict:
        try:
            self.world.limiter.config.update(await read_body(request))
        except ValueError as error:
            raise ControlError(400, str(error)) from error
        return self.world.limiter.to_json()

    # Helpers ------------------------------------------------------------------------------

    def _webhook(self) -> JSONDict:
        world = self.world
        now = time.monotonic()
        down = {url: round(until - now, 3) for url, until in world.targets_down.items()}
        return {
            "webhook": asdict(world.webhook) if world.webhook else None,
            "targets": list(world.webhook_targets),
            "targets_down": {url: left for url, left in down.items() if left > 0},
            "timing": asdict(world.webhook_timing),
            "pending_update_count": len(world.updates.pending()),
            "in_flight": world.deliveries_in_flight,
            "delivered_count": world.updates.delivered_count,
            "deliveries": len(world.deliveries),
        }

    def _deliveries(
        self,
        since: int = 0,
        update_id: int | None = None,
        chat_id: int | None = None,
        target: str | None = None,
        ok: bool | None = None,
    ) -> list[DeliveryRecord]:
        return [
            record
            for record in self.world.deliveries
            if record.seq > since
            and (update_id is None or record.update_id == update_id)
            and (chat_id is None or record.chat_id == chat_id)
            and (target is None or record.target == target)
            and (ok is None or (record.finished is not None and record.ok == ok))
        ]
