"""What the backup tests compare: every member's points and statement, and every settlement statement's figures."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from coalition.adapters.cli.main import app
from coalition.adapters.http.pos_answers import StatementAnswer
from coalition.application.settlement import statement_json
from coalition.wiring import Services


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


async def figures(services: Services, network_id: int, cards: list[str]) -> dict[str, Any]:
    """Points balances, member statements and settlement statements (with each partner's entries) of a network."""
    members = {
        card: StatementAnswer.of(await services.pos.statement(network_id, card)).model_dump(mode="json")
        for card in cards
    }
    statements = []
    for summary in (await services.settlement.listing(network_id))["statements"]:
        statement = await services.settlement.statement(network_id, summary["number"])
        partners = [
            await services.settlement.partner_statement(network_id, statement.number, line.party.partner_id)
            for line in statement.lines
            if line.party.partner_id is not None
        ]
        statements.append({"statement": statement_json(statement), "partners": partners})
    return {"members": members, "statements": statements}
