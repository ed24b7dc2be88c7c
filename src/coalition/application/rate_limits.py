"""Rate limits kept in memory: token buckets by key, and who the client is behind named proxies.

The purchase path is hot, so a limit is a dictionary lookup and a little arithmetic, never a database round trip.
Each worker process keeps its own buckets: with `coalition serve --workers N` a client whose connections land on
several workers can get up to N times a figure (README "Rate limits" says so). The sign-in limits are not here: they
must hold exactly across workers and restarts, so they are counted in the database (sign_in_limits.py).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

_RATE = re.compile(r"^\s*([0-9]{1,9})\s*/\s*(s|min|h)\s*$")
_PERIOD_SECONDS = {"s": 1, "min": 60, "h": 3600}
KEYS_KEPT_MAX = 100_000  # buckets per limit; past it, full buckets (the same as none) are dropped first

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket of `capacity` requests, refilled evenly over `period_seconds`: bursts up to `capacity`, and
    `capacity / period_seconds` a second for as long as it lasts."""

    capacity: int
    period_seconds: int

    @property
    def per_second(self) -> float:
        return self.capacity / self.period_seconds

    def __str__(self) -> str:
        unit = {1: "s", 60: "min", 3600: "h"}[self.period_seconds]
        return f"{self.capacity}/{unit}"


def parse_rate(text: str, name: str = "rate") -> Rate | None:
    """'100/s', '60/min', '1000/h' → a Rate; 'off' → None (no limit)."""
    if text.strip().lower() == "off":
        return None
    found = _RATE.match(text)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"{name}: write a limit as <count>/s, <count>/min or <count>/h (such as 100/s), or off")
    return Rate(int(found.group(1)), _PERIOD_SECONDS[found.group(2)])


class TokenBuckets:
    """One token bucket per key. `take` answers 0 when the request may go on, else the seconds until it may."""

    __slots__ = ("_buckets", "capacity", "keys_kept_max", "per_second")

    def __init__(self, rate: Rate, keys_kept_max: int = KEYS_KEPT_MAX) -> None:
        self.capacity = float(rate.capacity)
        self.per_second = rate.per_second
        self.keys_kept_max = keys_kept_max
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key → (tokens, when they were counted)

    def take(self, key: Hashable, now: float) -> float:
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.per_second
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.keys_kept_max:
            self._shrink(now)
        return 0.0

    def give_back(self, key: Hashable, now: float) -> None:
        """Return a token taken for a request that turned out not to count (a lookup that found its member)."""
        self._buckets[key] = (min(self.capacity, self._tokens(key, now) + 1.0), now)

    def _tokens(self, key: Hashable, now: float) -> float:
        found = self._buckets.get(key)
        if found is None:
            return self.capacity
        tokens, counted_at = found
        return min(self.capacity, tokens + (now - counted_at) * self.per_second)

    def _shrink(self, now: float) -> None:
        """Many keys (say, random keys sprayed at the API): drop the full buckets, then the oldest half if needed."""
        self._buckets = {key: value for key, value in self._buckets.items() if self._tokens(key, now) < self.capacity}
        if len(self._buckets) > self.keys_kept_max // 2:
            kept = list(self._buckets.items())[len(self._buckets) - self.keys_kept_max // 2 :]
            self._buckets = dict(kept)


def retry_after_seconds(wait_seconds: float) -> int:
    """The Retry-After header's whole seconds: never 0 while a request would still be refused."""
    return max(1, math.ceil(wait_seconds))


def parse_trusted_proxies(items: Iterable[str]) -> tuple[ProxyNetwork, ...]:
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"COALITION_TRUSTED_PROXIES: '{item}' is not an address or a CIDR network") from None
    return tuple(networks)


def is_trusted_proxy(address: str, proxies: tuple[ProxyNetwork, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address_of(peer: str | None, forwarded_for: str | None, proxies: tuple[ProxyNetwork, ...]) -> str:
    """Who the client is. The peer, unless it is one of the operator's proxies: then the right-most address of
    X-Forwarded-For that is not a proxy (each proxy appends the address it saw; anything further left was written by
    the client and may be invented)."""
    address = peer or "unknown"
    if not proxies or forwarded_for is None or not is_trusted_proxy(address, proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()[:64]
        if not hop:
            continue
        address = hop
        if not is_trusted_proxy(hop, proxies):
            return hop
    return address  # every hop was a proxy: the left-most one is as near to the client as we know
