"""SMS through a generic HTTP gateway (docs/messages.md, "SMS gateway request"): one JSON POST per message to the
configured URL with a bearer token. 2xx = delivered; 408, 429, 5xx, a timeout or no connection = try again later;
any other 4xx = refused for good. The request's `id` (also the Idempotency-Key header) is the same on every attempt,
so the gateway can drop a repeat."""

from __future__ import annotations

import httpx

from coalition.application.messages import DeliveryOutcome, OutgoingMessage

DEFAULT_TIMEOUT_S = 10.0
RETRIED_STATUSES = frozenset({408, 425, 429})


def request_body(message: OutgoingMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "to": message.to,
        "text": message.body,
        "kind": message.kind.value,
        "language": message.language,
        "network_id": message.network_id,
        "member_id": message.member_id,
    }


class HttpSmsGateway:
    def __init__(self, url: str, token: str | None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url, self.token, self.timeout_s = url, token, timeout_s

    async def send(self, message: OutgoingMessage) -> DeliveryOutcome:
        headers = {"Idempotency-Key": message.id, "User-Agent": "coalition-messages"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                answer = await client.post(self.url, json=request_body(message), headers=headers)
        except httpx.TimeoutException:
            return DeliveryOutcome.retry(f"the gateway did not answer in {self.timeout_s:g} s")
        except httpx.HTTPError as error:  # refused connection, DNS, a dropped link
            return DeliveryOutcome.retry(f"{type(error).__name__}: {error}")
        status = answer.status_code
        if 200 <= status < 300:
            return DeliveryOutcome.delivered(status)
        reason = f"HTTP {status}: {answer.text[:200]}"
        if status in RETRIED_STATUSES or status >= 500:
            return DeliveryOutcome.retry(reason, status)
        return DeliveryOutcome.failed(reason, status)
