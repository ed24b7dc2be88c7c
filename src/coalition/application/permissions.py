"""The administrator edits the permissions matrix: which outlet may accrue or spend points, grant or honour which
gift, top up which wallet (domain.permissions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coalition.application.audit import entry as audit_entry
from coalition.application.pos import PosService
from coalition.domain.errors import InvalidInput
from coalition.domain.permissions import Permission, parse_counter, parse_operation

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class MatrixEntry:
    outlet: str  # the outlet's name
    counter: str
    operations: tuple[str, ...]


class PermissionsService:
    def __init__(self, pos: PosService) -> None:
        self.pos = pos

    async def matrix(self, network_id: int) -> dict[str, Any]:
        async with self.pos.unit_of_work() as uow:
            names = {outlet_id: name for name, outlet_id in (await uow.outlet_ids(network_id)).items()}
            permissions = await uow.permissions(network_id)
        return _json(permissions, names)

    async def replace(self, network_id: int, entries: Sequence[MatrixEntry]) -> dict[str, Any]:
        """The whole matrix at once; an empty one lets every outlet do everything again."""
        if len(entries) > MAX_ENTRIES:
            raise InvalidInput(f"at most {MAX_ENTRIES} entries", field="entries")
        async with self.pos.unit_of_work() as uow:
            outlets = await uow.outlet_ids(network_id)
            names = {outlet_id: name for name, outlet_id in outlets.items()}
            before = _json(await uow.permissions(network_id), names)
            permissions = set()
            for index, entry in enumerate(entries):
                outlet_id = outlets.get(entry.outlet)
                if outlet_id is None:
                    raise InvalidInput(
                        f"no outlet of this network is called '{entry.outlet}'", field=f"entries[{index}].outlet"
                    )
                counter = parse_counter(entry.counter, field=f"entries[{index}].counter")
                if not entry.operations:
                    raise InvalidInput("list at least one operation", field=f"entries[{index}].operations")
                for number, text in enumerate(entry.operations):
                    operation = parse_operation(text, field=f"entries[{index}].operations[{number}]")
                    permissions.add(Permission(outlet_id, counter, operation))
            await uow.replace_permissions(network_id, sorted(permissions, key=_order))
            stored = await uow.permissions(network_id)
            after = _json(stored, names)
            await uow.audit(
                audit_entry(network_id, "permissions.replace", "network", network_id, before=before, after=after)
            )
        self.pos.forget_matrix()
        return after


def _order(permission: Permission) -> tuple[int, str, str]:
    return permission.outlet_id, permission.counter, permission.operation.value


def _json(permissions: Sequence[Permission], names: dict[int, str]) -> dict[str, Any]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for permission in permissions:
        key = (names.get(permission.outlet_id, str(permission.outlet_id)), permission.counter)
        grouped.setdefault(key, []).append(permission.operation.value)
    return {
        "defined": bool(permissions),
        "entries": [
            {"outlet": outlet, "counter": counter, "operations": sorted(operations)}
            for (outlet, counter), operations in sorted(grouped.items())
        ],
    }
