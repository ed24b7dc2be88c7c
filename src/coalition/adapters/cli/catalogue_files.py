"""`coalition import products|categories FILE --partner P` and `coalition export products|categories --partner P`
(issue 17, docs/files.md "Products and categories"): a partner's catalogue in CSV or XLSX. A refused file prints
every error with its row and column and ends with exit 2, having written nothing; the same file again reports every
row unchanged. Audited as the operator's (common.run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from coalition.adapters.cli.common import DatabaseOption, console, errors, network_of, run, settings_for
from coalition.adapters.cli.file_io import (
    DelimiterOption,
    EncodingOption,
    FileArgument,
    JsonOption,
    NetworkOption,
    errors_table,
    finish_import,
    import_file,
)
from coalition.application.catalogue_files import CatalogueKind
from coalition.application.catalogue_import import CatalogueImportResult
from coalition.application.file_exchange.table import FileFormat, FileRefused
from coalition.application.member_import import ImportOptions
from coalition.wiring import Services

PartnerOption = Annotated[int, typer.Option("--partner", min=1, help="the partner's id (its catalogue)")]
PartialOption = Annotated[bool, typer.Option("--partial", help="take the valid rows; rejected ones to --rejects")]
RejectsOption = Annotated[Path | None, typer.Option(help="where partial mode writes the rejected rows")]


def summary(result: CatalogueImportResult) -> str:
    """What `coalition import products|categories` prints of a result (docs/files.md quotes it)."""
    return (
        f"{result.filename}: {result.rows_read} rows; {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.rejected} rejected"
    )


def _import_command(kind: CatalogueKind, description: str) -> Callable[..., None]:
    def command(
        file: FileArgument,
        network: NetworkOption,
        partner: PartnerOption,
        encoding: EncodingOption = None,
        delimiter: DelimiterOption = None,
        partial: PartialOption = False,
        rejects: RejectsOption = None,
        as_json: JsonOption = False,
        database_url: DatabaseOption = None,
    ) -> None:
        settings = settings_for(database_url)
        data = import_file(file, settings)
        options = ImportOptions(file.name, encoding, delimiter, partial)

        async def work(services: Services) -> CatalogueImportResult | FileRefused:
            ref = await network_of(services, network)
            try:
                return await services.catalogue_import.run(ref.id, partner, kind, data, options)
            except FileRefused as refusal:
                return refusal

        result = finish_import(run(settings, work), rejects, as_json)
        if result is None:
            return
        console.print(summary(result), highlight=False)
        if result.errors:
            errors.print(errors_table(result.errors))
            if rejects is not None and result.rejects is not None:
                console.print(f"rejected rows written to {rejects}")

    command.__name__ = command.__qualname__ = f"import_{kind.value}"
    command.__doc__ = description
    return command


def _export_command(kind: CatalogueKind) -> Callable[..., None]:
    def command(
        network: NetworkOption,
        partner: PartnerOption,
        out: Annotated[Path, typer.Option("--out", dir_okay=False, help="the file to write")],
        file_format: Annotated[FileFormat, typer.Option("--format", help="csv or xlsx")] = FileFormat.CSV,
        database_url: DatabaseOption = None,
    ) -> None:
        async def work(services: Services) -> bytes:
            ref = await network_of(services, network)
            return await services.catalogue.file(ref.id, partner, kind, file_format)

        data = run(settings_for(database_url), work)
        out.write_bytes(data)
        console.print(json.dumps({"file": str(out), "format": file_format.value, "bytes": len(data)}))

    command.__name__ = command.__qualname__ = f"export_{kind.value}"
    command.__doc__ = f"A partner's {kind.value} as the {kind.value} file (the columns the import reads)."
    return command


def register(import_app: typer.Typer, export_app: typer.Typer) -> None:
    import_app.info.help = "Import files (docs/files.md): members, purchases, refunds, products, categories."
    import_app.command("products")(
        _import_command(
            CatalogueKind.PRODUCTS,
            """Import a partner's products (sku, name, category, price, active): upserted by SKU, rows equal to
            what is stored left alone; nothing is written unless every row is valid (or, with --partial, the valid
            rows).""",
        )
    )
    import_app.command("categories")(
        _import_command(
            CatalogueKind.CATEGORIES,
            """Import a partner's product categories (code, name, parent): upserted by code; a parent must exist
            (in the file or stored) and no category may be its own ancestor.""",
        )
    )
    export_app.command("products")(_export_command(CatalogueKind.PRODUCTS))
    export_app.command("categories")(_export_command(CatalogueKind.CATEGORIES))
