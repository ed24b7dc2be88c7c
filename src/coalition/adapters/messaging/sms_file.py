"""SMS appended to a file, one JSON line per message (local use and tests): the request body the HTTP gateway would
POST, with the time it was written. One write per line with O_APPEND, so several processes never interleave lines."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from coalition.adapters.messaging.sms_http import request_body
from coalition.application.messages import DeliveryOutcome, OutgoingMessage


class FileSmsGateway:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    async def send(self, message: OutgoingMessage) -> DeliveryOutcome:
        line = json.dumps({**request_body(message), "written_at": datetime.now(UTC).isoformat()}, ensure_ascii=False)
        try:
            await asyncio.to_thread(self._append, (line + "\n").encode())
        except OSError as error:  # a full disk or a missing directory may be fixed: try again later
            return DeliveryOutcome.retry(f"{type(error).__name__}: {error}")
        return DeliveryOutcome.delivered()

    def _append(self, data: bytes) -> None:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
