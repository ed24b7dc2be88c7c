"""A typed Python client for Coalition's till (POS), device and admin API.

It imports nothing of the server (`coalition`): an integrator installs it and httpx, nothing more. Its routes are
held against the server's /openapi.json by `python -m coalition_client.check` and by the test suite.
"""

from coalition_client._core import Retries
from coalition_client.aio import AsyncClient
from coalition_client.client import Client
from coalition_client.errors import (
    CoalitionError,
    Conflict,
    FileRefused,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ProblemError,
    RateLimited,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)
from coalition_client.wire import from_minor_units, minor_units

__all__ = [
    "AsyncClient",
    "Client",
    "CoalitionError",
    "Conflict",
    "FileRefused",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "ProblemError",
    "RateLimited",
    "Retries",
    "ServiceUnavailable",
    "TransportError",
    "Unauthorized",
    "from_minor_units",
    "minor_units",
]
