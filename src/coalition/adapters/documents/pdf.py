"""A settlement statement as a PDF (fpdf2: a small, maintained pure-Python PDF writer).

Partner names may be in any script, so the text is set in DejaVu Sans where the system has it (Debian's
fonts-dejavu-core); without it, in the PDF core font, with characters it lacks replaced.
"""

from __future__ import annotations

from pathlib import Path

from coalition.application.settlement import statement_csv_rows
from coalition.domain.settlement import Statement

UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# 265 mm of A4 landscape's 277 between margins
_COLUMN_WIDTHS_MM: tuple[float, ...] = (46, 27, 31, 27, 33, 27, 22, 27, 25)


def _widths(columns: int) -> tuple[float, ...]:
    """The points table's widths; a wider one (prepaid money: 12 columns) shares the same 265 mm."""
    if columns <= len(_COLUMN_WIDTHS_MM):
        return _COLUMN_WIDTHS_MM
    first = _COLUMN_WIDTHS_MM[0] - 10
    return (first, *(((sum(_COLUMN_WIDTHS_MM) - first) / (columns - 1),) * (columns - 1)))


def statement_pdf(statement: Statement, rows: list[list[str]] | None = None) -> bytes:
    """The statement's table (`statement_csv_rows`), or the rows given: a partner's view shows only its part."""
    from fpdf import FPDF  # imported when a PDF is made: it and what it loads weigh ~0.3 s and much memory

    document = FPDF(orientation="landscape", format="A4")
    document.set_auto_page_break(auto=True, margin=12)
    document.add_page()
    unicode_font = UNICODE_FONT.exists()
    if unicode_font:
        document.add_font("DejaVu", "", str(UNICODE_FONT))
        document.set_font("DejaVu", size=14)
    else:
        document.set_font("Helvetica", size=14)

    def text(value: str) -> str:
        return value if unicode_font else value.encode("latin-1", "replace").decode("latin-1")

    period = f"{statement.period_start.isoformat()} – {statement.period_end.isoformat()}"
    document.cell(0, 10, text(f"Settlement statement {statement.number}"), new_x="LMARGIN", new_y="NEXT")
    document.set_font_size(10)
    document.cell(0, 7, text(f"Period {period}, amounts in {statement.currency}"), new_x="LMARGIN", new_y="NEXT")
    document.cell(0, 7, text(f"Closed {statement.closed_at.isoformat()}"), new_x="LMARGIN", new_y="NEXT")
    document.ln(3)
    for row in statement_csv_rows(statement) if rows is None else rows:
        if not row:
            document.ln(4)
            continue
        wide = len(row) > len(_COLUMN_WIDTHS_MM)
        for width, value in zip(_widths(len(row)), row, strict=False):
            shown = text(value)
            size = 10.0
            while wide and size > 5 and document.get_string_width(shown) > width - 2:  # a wide table: smaller text
                size -= 0.5
                document.set_font_size(size)
            document.cell(width, 7, shown, border=1 if value else 0)
            document.set_font_size(10)
        document.ln(7)
    return bytes(document.output())
