"""An invoice as a PDF (§7), with fonts that ship as Python packages, so no system font is needed.

Noto Sans (package `fontpkg-noto-sans`) covers Latin, Greek and Cyrillic; Noto Sans CJK
(package `cvttf-notosanscjk-regular`, optional: 27 MB) is added as a fallback when installed.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from storage.billing_repo import Invoice

FONT = "NotoSans"
CJK_FONT = "NotoSansCJK"
GREY = (110, 110, 110)


@dataclass(frozen=True, slots=True)
class InvoiceParties:
    """Who the invoice is from and to, as printed."""

    company: str
    customer: str
    address: str | None
    zone: ZoneInfo


def text_font() -> Path:
    root = importlib.resources.files("fontpkg_noto_sans")
    return Path(str(root.joinpath("files", "NotoSans[wdth,wght].ttf")))


def cjk_font() -> Path | None:
    if importlib.util.find_spec("cvttf_NotoSansCJK_Regular") is None:
        return None
    folder = Path(str(importlib.resources.files("cvttf_NotoSansCJK_Regular")))
    return next(iter(sorted(folder.glob("*.otf"))), None)


def money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")


def render_invoice_pdf(invoice: Invoice, parties: InvoiceParties) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.footer_text = invoice.number
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_creator("Callout")
    pdf.add_font(FONT, "", text_font())
    if (cjk := cjk_font()) is not None:
        pdf.add_font(CJK_FONT, "", cjk)
        pdf.set_fallback_fonts([CJK_FONT])
    pdf.add_page()
    _header(pdf, invoice, parties)
    _lines(pdf, invoice)
    _totals(pdf, invoice)
    return bytes(pdf.output())


def _header(pdf: FPDF, invoice: Invoice, parties: InvoiceParties) -> None:
    pdf.set_font(FONT, size=18)
    pdf.cell(0, 10, parties.company, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=14)
    pdf.cell(0, 8, f"Invoice {invoice.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    issued = invoice.issued_at.astimezone(parties.zone)
    facts = [
        ("Issued", f"{issued:%Y-%m-%d %H:%M} ({parties.zone.key})"),
        ("Work order", invoice.work_order),
        ("Customer", parties.customer),
    ]
    if parties.address:
        facts.append(("Site", parties.address))
    for label, value in facts:
        pdf.set_text_color(*GREY)
        pdf.cell(30, 6, label)
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _lines(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font(FONT, size=9.5)
    with pdf.table(
        col_widths=(100, 18, 36, 36),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        repeat_headings=1,
        line_height=5.5,
        headings_style=FontFace(emphasis="", fill_color=(235, 235, 235)),
    ) as table:
        table.row(["Description", "Qty", "Unit price", "Amount"])
        for line in invoice.lines:
            table.row(
                [
                    line.description,
                    quantity(line.qty),
                    money(line.unit_price, invoice.currency),
                    money(line.amount, invoice.currency),
                ]
            )


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    if pdf.will_page_break(30):  # keep the three total rows together
        pdf.add_page()
    pdf.ln(3)
    rows = [("Subtotal", invoice.subtotal), ("Tax on parts", invoice.tax)]
    pdf.set_font(FONT, size=10)
    for label, value in rows:
        _total_row(pdf, label, money(value, invoice.currency))
    pdf.set_font(FONT, size=12)
    _total_row(pdf, "Total", money(invoice.total, invoice.currency))


def _total_row(pdf: FPDF, label: str, value: str) -> None:
    pdf.cell(118)
    pdf.cell(36, 7, label, align="R")
    pdf.cell(36, 7, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
