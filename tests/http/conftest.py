"""Fixtures shared by the HTTP tests."""

from tests.http.water_park import park

__all__ = ["park"]
