"""Members exported as the members file (docs/files.md): the same columns the import reads, balances (points and the
wallet's money) and the card's state included, so that the file imported into an empty network gives the same members
and balances. Read page by page (1000 members
a query); each member with their newest card in use. Members without such a card are left out (no key to import)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from coalition.application.file_exchange.table import FileFormat
from coalition.application.file_exchange.writing import table_bytes
from coalition.application.member_files import EXPORT_COLUMNS, export_row
from coalition.application.member_import import MemberFilesUnitOfWorkFactory

PAGE = 1000
MAX_EXPORTED_MEMBERS = 1_000_000  # a bound on one file (the rows are built in memory)


class MemberExport:
    def __init__(self, unit_of_work: MemberFilesUnitOfWorkFactory) -> None:
        self.unit_of_work = unit_of_work

    async def rows(self, network_id: int) -> AsyncIterator[list[object]]:
        after, count = 0, 0
        async with self.unit_of_work() as uow:
            currency = (await uow.program_of(network_id)).program.currency
        while count < MAX_EXPORTED_MEMBERS:
            async with self.unit_of_work() as uow:
                page = await uow.members_for_export(network_id, after, PAGE, currency)
            for member in page.members[: MAX_EXPORTED_MEMBERS - count]:
                yield export_row(member, currency)
            count += len(page.members)
            if page.last_member_id is None:
                return
            after = page.last_member_id

    async def file(self, network_id: int, file_format: FileFormat) -> bytes:
        rows = [row async for row in self.rows(network_id)]
        return table_bytes(file_format, EXPORT_COLUMNS, rows)
