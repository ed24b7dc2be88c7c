"""The clients' calls for devices (docs/devices.md): a device's authorize, charge, hold and capture, sessions, the
kiosk's top-up, heartbeats, its configuration and offline uses. Mixed into `Client` and `AsyncClient`, whose `call`
they use."""

from __future__ import annotations

from typing import Any

from coalition_client import models as m
from coalition_client import routes as r
from coalition_client._core import AsyncCalls, Calls

Json = dict[str, Any]


class DeviceCalls(Calls):
    def authorize(self, body: m.DeviceUse) -> m.Authorization:
        return self.call(r.AUTHORIZE, body)

    def charge(self, body: m.DeviceUse, *, idempotency_key: str | None = None) -> m.Charge:
        return self.call(r.CHARGE, body, idempotency_key=idempotency_key)

    def hold(self, body: m.Hold, *, idempotency_key: str | None = None) -> m.HoldAnswer:
        return self.call(r.HOLD, body, idempotency_key=idempotency_key)

    def capture(self, hold_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return self.call(r.CAPTURE, path={"hold_id": hold_id}, idempotency_key=idempotency_key)

    def void(self, hold_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return self.call(r.VOID, path={"hold_id": hold_id}, idempotency_key=idempotency_key)

    def start_session(self, body: m.Session, *, idempotency_key: str | None = None) -> m.HoldAnswer:
        return self.call(r.START_SESSION, body, idempotency_key=idempotency_key)

    def stop_session(self, session_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return self.call(r.STOP_SESSION, path={"session_id": session_id}, idempotency_key=idempotency_key)

    def kiosk_top_up(self, body: m.KioskTopUp, *, idempotency_key: str | None = None) -> m.ToppedUp:
        return self.call(r.KIOSK_TOP_UP, body, idempotency_key=idempotency_key)

    def heartbeat(self, body: m.Heartbeat) -> m.HeartbeatAnswer:
        return self.call(r.HEARTBEAT, body)

    def device_config(self) -> Json:
        return self.call(r.DEVICE_CONFIG)

    def offline_uses(self, body: m.OfflineUpload) -> m.OfflineUploadAnswer:
        return self.call(r.OFFLINE_USES, body)


class AsyncDeviceCalls(AsyncCalls):
    async def authorize(self, body: m.DeviceUse) -> m.Authorization:
        return await self.call(r.AUTHORIZE, body)

    async def charge(self, body: m.DeviceUse, *, idempotency_key: str | None = None) -> m.Charge:
        return await self.call(r.CHARGE, body, idempotency_key=idempotency_key)

    async def hold(self, body: m.Hold, *, idempotency_key: str | None = None) -> m.HoldAnswer:
        return await self.call(r.HOLD, body, idempotency_key=idempotency_key)

    async def capture(self, hold_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return await self.call(r.CAPTURE, path={"hold_id": hold_id}, idempotency_key=idempotency_key)

    async def void(self, hold_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return await self.call(r.VOID, path={"hold_id": hold_id}, idempotency_key=idempotency_key)

    async def start_session(self, body: m.Session, *, idempotency_key: str | None = None) -> m.HoldAnswer:
        return await self.call(r.START_SESSION, body, idempotency_key=idempotency_key)

    async def stop_session(self, session_id: str, *, idempotency_key: str | None = None) -> m.Closed:
        return await self.call(r.STOP_SESSION, path={"session_id": session_id}, idempotency_key=idempotency_key)

    async def kiosk_top_up(self, body: m.KioskTopUp, *, idempotency_key: str | None = None) -> m.ToppedUp:
        return await self.call(r.KIOSK_TOP_UP, body, idempotency_key=idempotency_key)

    async def heartbeat(self, body: m.Heartbeat) -> m.HeartbeatAnswer:
        return await self.call(r.HEARTBEAT, body)

    async def device_config(self) -> Json:
        return await self.call(r.DEVICE_CONFIG)

    async def offline_uses(self, body: m.OfflineUpload) -> m.OfflineUploadAnswer:
        return await self.call(r.OFFLINE_USES, body)
