"""Outlets and cashiers in the console: an owner sees their partner's, the administrator every partner's."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
