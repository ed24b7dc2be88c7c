"""The administrator's network pages: partners, terminals and devices with their keys, gifts, the permissions matrix."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
