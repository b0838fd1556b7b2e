"""The certificate PDF (handlers/reports/certificate.py): ReportLab, which the product uses,
against fpdf2 drawing the same words in the same fonts.

    .venv/bin/python -m bench.certificate [--renders 50] [--libraries reportlab fpdf2]

Each library is measured in a fresh interpreter that has already loaded the catalogue
(as the report worker has): the import of the library with the first certificate (fonts
parsed and registered), the median of ``--renders`` certificates after it, the RSS that
the import and the renders added (VmRSS, MB), and the size of the PDF. fpdf2 is not a
dependency: ``pip install fpdf2`` to compare (a library not installed is left out).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from typing import Any

from handlers.i18n import Catalogue, Translator
from handlers.reports.certificate import (
    CertificateData,
    _blocks,
    _font_dir,
    _words,
    render_certificate,
)

LIBRARIES = {"reportlab": "reportlab", "fpdf2": "fpdf"}
DATA = CertificateData(
    ref_code="SK-2026-000123",
    unit_name="Công đoàn cơ sở Công ty TNHH Điện tử Sông Hồng",
    title="Cải tiến quy trình kiểm tra chất lượng mối hàn ở phân xưởng cơ khí số 2 "
    "để giảm tỉ lệ hàng lỗi",
    author_name="Nguyễn Thị Hồng Nhung",
    decision_no="12/QĐ-CĐ",
    decision_date=date(2026, 12, 5),
    issued_on=date(2026, 12, 6),
    confidential=False,
)


def render_fpdf2(data: CertificateData, t: Translator) -> bytes:
    """The same page with fpdf2: the same words, fonts, sizes and frame."""
    from fpdf import FPDF

    from handlers.reports.view import plain

    pdf = FPDF(orientation="L", unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_draw_color(158, 18, 23)
    pdf.set_line_width(3)
    pdf.rect(36, 36, pdf.w - 72, pdf.h - 72)
    pdf.set_line_width(0.8)
    pdf.rect(44, 44, pdf.w - 88, pdf.h - 88)
    pdf.set_margins(90, 60, 90)
    pdf.set_y(80)
    for block in _blocks(data, t):
        pdf.set_y(pdf.get_y() + block.space_before)
        pdf.set_font("DejaVu", "B" if "Bold" in block.font else "", block.size)
        pdf.multi_cell(0, block.size * 1.45, _words(block.text), align="C")
    pdf.set_font("DejaVu", "", 11)
    pdf.set_xy(90, pdf.h - 80)
    pdf.cell(pdf.w - 220, 14, plain(t("certificate.pdf.issued", date="06/12/2026")), align="R")
    return bytes(pdf.output())


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_one(library: str, renders: int) -> dict[str, Any]:
    """In this interpreter: what ``library`` costs to load and to draw with."""
    t = Catalogue.load().for_lang("vi")
    render = render_certificate if library == "reportlab" else render_fpdf2
    base = rss_mb()
    started = time.perf_counter()
    first = render(DATA, t)  # imports the library and registers the fonts
    first_ms = (time.perf_counter() - started) * 1000
    loaded = rss_mb()
    times = []
    for n in range(renders):
        one = replace(DATA, ref_code=f"SK-2026-{n:06d}")
        started = time.perf_counter()
        render(one, t)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "library": library,
        "first_ms": round(first_ms, 1),
        "median_ms": round(statistics.median(times), 2),
        "rss_import_mb": round(loaded - base, 1),
        "rss_after_mb": round(rss_mb() - base, 1),
        "pdf_bytes": len(first),
        "text_ok": words_ok(first),
    }


def words_ok(pdf: bytes) -> bool | None:
    """Whether a reader finds the words with their marks (None without pypdf)."""
    if importlib.util.find_spec("pypdf") is None:
        return None
    from pypdf import PdfReader

    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    return all(w in text for w in ("Nguyễn Thị Hồng Nhung", "12/QĐ-CĐ", "GIẤY CHỨNG NHẬN"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--one", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.renders)))
        return
    rows = []
    for library in args.libraries:
        if importlib.util.find_spec(LIBRARIES[library]) is None:
            print(f"{library}: not installed, left out")
            continue
        command = [sys.executable, "-m", "bench.certificate", "--one", library]
        done = subprocess.run(
            [*command, "--renders", str(args.renders)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        "| library | import + first certificate (ms) | median of later ones (ms) "
        "| RSS added by the import / after the renders (MB) | PDF (bytes) | words extractable |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['library']} | {r['first_ms']} | {r['median_ms']} "
            f"| {r['rss_import_mb']} / {r['rss_after_mb']} | {r['pdf_bytes']:,} | {r['text_ok']} |"
        )


if __name__ == "__main__":
    main()
