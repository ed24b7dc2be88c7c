"""Members imported from a file (docs/files.md): every row checked first, then written in one transaction.

By default nothing is written unless every row is valid, and every error comes back at once with its row, column
and reason. With `partial`, the valid rows go in and the rejected ones come back as a file of the same columns and
an `error` column. A row whose card number the network already has is left as it is (`unchanged`), so a member is
never created twice; the same file (by the SHA-256 of its bytes) a second time answers its first result and writes
nothing. Each member's opening balances (points, and money on a wallet opened for them) are one `opening`
transaction funded by the settlement node (domain/opening.py); their card comes in the file's `card_state`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.commands import DuplicateKey
from coalition.application.file_exchange.columns import typed_rows
from coalition.application.file_exchange.reading import import_key, read_table
from coalition.application.file_exchange.table import FileFormat, FileLimits, FileRefused, RawTable, RowError
from coalition.application.file_exchange.writing import rejects_bytes
from coalition.application.member_files import MemberRow, member_columns, member_key, member_row
from coalition.application.plans import PlansPort, require_member_room
from coalition.application.pos_ports.member_files import (
    FileImportRecord,
    MemberFilesPort,
    MemberWritesPort,
    NewMemberWrite,
)
from coalition.application.pos_ports.reference import ProgramContext, ReferencePort
from coalition.domain.errors import Conflict
from coalition.domain.ledger import money_asset
from coalition.domain.members import segments_to_text
from coalition.domain.money import format_minor
from coalition.domain.opening import WalletOpening, plan_opening_balance

KIND = "members"
WRITE_CHUNK = 1000  # members written per set of statements (the progress bar moves by as many)
Progress = Callable[[int, int], None]


class MemberFilesUnitOfWork(ReferencePort, MemberFilesPort, MemberWritesPort, PlansPort, AuditTrail, Protocol):
    """What the member import and export use of one transaction."""


class MemberFilesUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[MemberFilesUnitOfWork]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ImportOptions:
    filename: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    partial: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import answers: counts, every error, and (partial mode) the rejected rows as a file."""

    network_id: int
    filename: str
    digest: str
    file_format: FileFormat
    encoding: str
    delimiter: str
    rows_read: int
    created: int
    unchanged: int
    rejected: int
    opening_points: int  # the sum of the opening balances written
    opening_transactions: int
    errors: tuple[RowError, ...] = ()
    opening_wallet: str = "0"  # the wallets' opening balances written, summed, in the network's currency
    replayed: bool = False  # the same file was imported before: nothing written now
    rejects: bytes | None = field(default=None, repr=False)  # partial mode: the rejected rows, same format

    def json(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "filename": self.filename,
            "digest": self.digest,
            "format": self.file_format.value,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows_read": self.rows_read,
            "created": self.created,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "opening_points": self.opening_points,
            "opening_transactions": self.opening_transactions,
            "opening_wallet": self.opening_wallet,
            "errors": [error.json() for error in self.errors],
            "replayed": self.replayed,
        }

    @staticmethod
    def from_json(data: dict[str, Any], rejects: bytes | None) -> ImportResult:
        return ImportResult(
            network_id=int(data["network_id"]),
            filename=str(data["filename"]),
            digest=str(data["digest"]),
            file_format=FileFormat(data["format"]),
            encoding=str(data["encoding"]),
            delimiter=str(data["delimiter"]),
            rows_read=int(data["rows_read"]),
            created=int(data["created"]),
            unchanged=int(data["unchanged"]),
            rejected=int(data["rejected"]),
            opening_points=int(data["opening_points"]),
            opening_transactions=int(data["opening_transactions"]),
            opening_wallet=str(data.get("opening_wallet", "0")),  # a file imported before wallets came in
            errors=tuple(RowError(int(e["row"]), str(e["column"]), str(e["reason"])) for e in data["errors"]),
            replayed=True,
            rejects=rejects,
        )


@dataclass(frozen=True, slots=True)
class _Checked:
    table: RawTable
    new: list[MemberRow]
    unchanged: int
    errors: list[RowError]
    rejected_rows: dict[int, dict[str, str]]  # row number → its cells


class MemberImport:
    def __init__(self, unit_of_work: MemberFilesUnitOfWorkFactory, clock: Clock, limits: FileLimits) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.limits = limits

    async def run(
        self, network_id: int, data: bytes, options: ImportOptions, progress: Progress | None = None
    ) -> ImportResult:
        """The import's result; FileRefused (every error) when the file is refused and nothing was written."""
        digest = import_key(data, options.encoding, options.delimiter)
        async with self.unit_of_work() as uow:
            stored = await uow.stored_import(network_id, KIND, digest)
        if stored is not None:
            first = json.loads(stored.result)
            rejects = None
            if first["errors"] and options.partial:
                rejects = rejects_file(self._check_file(data, options), first)
            return ImportResult.from_json(first, rejects)
        table = self._check_file(data, options)
        async with self.unit_of_work() as uow:
            checked = await _checked(uow, network_id, table)
            currency = (await uow.program_of(network_id)).program.currency
        if checked.errors and not options.partial:
            raise FileRefused(checked.errors)
        now = self.clock.now()
        result = ImportResult(
            network_id=network_id,
            filename=options.filename,
            digest=digest,
            file_format=table.file_format,
            encoding=table.encoding,
            delimiter=table.delimiter,
            rows_read=len(table.rows),
            created=len(checked.new),
            unchanged=checked.unchanged,
            rejected=len(checked.rejected_rows),
            opening_points=sum(member.points_balance for member in checked.new),
            opening_transactions=sum(1 for member in checked.new if member.points_balance or member.wallet_minor),
            errors=tuple(checked.errors),
            opening_wallet=format_minor(sum(member.wallet_minor for member in checked.new), currency),
        )
        try:
            async with self.unit_of_work() as uow:
                await _write(uow, network_id, checked.new, digest, now, progress)
                record = FileImportRecord(
                    network_id,
                    KIND,
                    digest,
                    options.filename,
                    result.rows_read,
                    result.created,
                    result.unchanged,
                    result.rejected,
                    json.dumps(result.json()),
                )
                await uow.record_import(record, now)
                after = {key: value for key, value in result.json().items() if key != "errors"}
                await uow.audit(entry(network_id, "members.import", "file_import", digest[:16], after=after))
        except DuplicateKey as duplicate:  # another import of the same file or of the same cards won meanwhile
            raise Conflict(
                f"a card or phone of this file was taken meanwhile ({duplicate.what}); import the file again",
                field="file",
            ) from None
        if checked.rejected_rows:
            result = replace(result, rejects=rejects_file(table, result.json()))
        return result

    def _check_file(self, data: bytes, options: ImportOptions) -> RawTable:
        return read_table(
            data, filename=options.filename, limits=self.limits, encoding=options.encoding, delimiter=options.delimiter
        )


def rejects_file(table: RawTable, result: dict[str, Any]) -> bytes:
    """The rejected rows as they were read, with an `error` column: every reason of the row."""
    reasons: dict[int, list[str]] = {}
    for error in result["errors"]:
        column = f"{error['column']}: " if error["column"] else ""
        reasons.setdefault(int(error["row"]), []).append(column + str(error["reason"]))
    rows = [
        [
            *raw.cells[: len(table.header)],
            *([""] * (len(table.header) - len(raw.cells))),
            "; ".join(reasons[raw.number]),
        ]
        for raw in table.rows
        if raw.number in reasons
    ]
    return rejects_bytes(table, rows)


async def _checked(uow: MemberFilesUnitOfWork, network_id: int, table: RawTable) -> _Checked:
    pc = await uow.program_of(network_id)
    columns = member_columns(pc.phone_region, pc.program.currency, pc.limits.max_amount_minor)
    typed = typed_rows(table, columns, member_key)
    errors = list(typed.errors)
    rejected = {row.number: row.cells for row in typed.rejected}
    members: list[MemberRow] = []
    for row in typed.rows:
        member, row_errors = member_row(row)
        if member is not None and member.network is not None and member.network != network_id:
            row_errors.append(
                RowError(row.number, "network", f"the row is for network {member.network}, not {network_id}")
            )
        if row_errors or member is None:
            errors.extend(row_errors)
            rejected[row.number] = row.cells
        else:
            members.append(member)
    cards = await uow.card_owners(network_id, [m.card_number for m in members])
    taken = await uow.identifier_owners(network_id, [v for m in members for v in (m.card_number, m.phone) if v])
    cells_of = {row.number: row.cells for row in typed.rows}
    new: list[MemberRow] = []
    unchanged = 0
    phones: dict[str, int] = {}
    for member in members:
        owner = cards.get(member.card_number)
        problems: list[RowError] = []
        if owner is None and member.card_number in taken:
            problems.append(RowError(member.number, "card_number", "this number identifies another member already"))
        if member.phone:
            phone_owner = taken.get(member.phone)
            if phone_owner is not None and phone_owner != owner:
                problems.append(RowError(member.number, "phone", "this phone identifies another member already"))
            elif member.phone in phones and owner is None:
                problems.append(RowError(member.number, "phone", f"the same phone as row {phones[member.phone]}"))
            phones.setdefault(member.phone, member.number)
        if problems:
            errors.extend(problems)
            rejected[member.number] = cells_of[member.number]
        elif owner is not None:
            unchanged += 1
        else:
            new.append(member)
    errors.sort(key=lambda error: error.row)
    return _Checked(table, new, unchanged, errors, rejected)


async def _write(
    uow: MemberFilesUnitOfWork,
    network_id: int,
    members: list[MemberRow],
    digest: str,
    now: datetime,
    progress: Progress | None,
) -> None:
    """The members in chunks of WRITE_CHUNK, each chunk's rows in one set-based statement per table."""
    if members:  # the plan's limit on customers (issue 18), for the whole file: refused whole, never cut short
        await require_member_room(uow, network_id, now, adding=len(members))
    pc = await uow.program_of(network_id)
    currency = pc.program.currency
    memo = f"opening balance, members file {digest[:16]}"
    node_prepaid = None  # the wallets' money comes from the node's PREPAID account (domain/opening.py)
    if any(member.wallet_minor for member in members):
        node_prepaid = await uow.node_prepaid_account(network_id, money_asset(currency))
    for start in range(0, len(members), WRITE_CHUNK):
        chunk = members[start : start + WRITE_CHUNK]
        rows = await _rows(uow, pc, chunk, memo, now, node_prepaid)
        await uow.write_members(network_id, pc.program.points_asset, rows, now, currency)
        if progress is not None:
            progress(start + len(chunk), len(members))


async def _rows(
    uow: MemberFilesUnitOfWork,
    pc: ProgramContext,
    chunk: list[MemberRow],
    memo: str,
    now: datetime,
    node_prepaid: int | None,
) -> list[NewMemberWrite]:
    opening = [m for m in chunk if m.points_balance or m.wallet_minor]
    ids = await uow.allocate_member_ids(
        len(chunk),
        len(opening),
        sum(1 for m in opening if m.points_balance > 0),
        sum(1 for m in chunk if m.wallet_minor),
    )
    transactions, lots, wallets = iter(ids.transactions), iter(ids.lots), iter(ids.wallet_accounts)
    asset = money_asset(pc.program.currency)
    rows: list[NewMemberWrite] = []
    for member, member_id, account_id, card_id in zip(chunk, ids.members, ids.accounts, ids.cards, strict=True):
        wallet = None
        if member.wallet_minor and node_prepaid is not None:
            wallet = WalletOpening(node_prepaid, next(wallets), asset, member.wallet_minor)
        plan = plan_opening_balance(
            pc.program, pc.points_issued_account, account_id, member.points_balance, now, memo, wallet
        )
        lot = plan.new_lots[0] if plan is not None and plan.new_lots else None
        rows.append(
            NewMemberWrite(
                member_id=member_id,
                account_id=account_id,
                card_id=card_id,
                kind=member.kind,
                name=member.name,
                phone=member.phone,
                email=member.email,
                birth_date=member.birth_date,
                consent_data_processing=member.consent_data_processing,
                consent_newsletters=member.consent_newsletters,
                tier=member.tier,
                segments=segments_to_text(member.segments),
                card_number=member.card_number,
                card_type=member.card_type,
                balance=member.points_balance,
                opening=plan.transaction if plan is not None else None,
                opening_tx_id=next(transactions) if plan is not None else None,
                lot=lot,
                lot_id=next(lots) if lot is not None else None,
                card_state=member.card_state.value,
                wallet_account_id=wallet.wallet_account if wallet is not None else None,
                wallet_minor=member.wallet_minor,
                opening_spend_minor=member.lifetime_spend_minor,
            )
        )
    return rows
