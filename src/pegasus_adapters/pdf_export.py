"""The PDF export: a printable study sheet laid out with fpdf2 in the shipped DejaVu Sans.

DejaVu Sans (fonts/, Bitstream Vera licence; cut down by scripts/subset_fonts.py) covers Latin,
Greek, Cyrillic and common symbols, so those print on a machine without system fonts; fpdf2
embeds only the glyphs used, and logs a warning for characters the font lacks (they print
blank: CJK, Arabic, Hebrew, emoji). Text wraps
at spaces, and a word wider than its column is split across lines, so nothing leaves the page.
Output is deterministic: the same bundle gives the same bytes.
"""

from __future__ import annotations

import copy
import functools
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, WrapMode, XPos, YPos

from pegasus_core.artifacts import OutlineNode
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.study_sheet import StudySheet, lettered_choices, study_sheet

FONTS = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
BODY_PT = 10.5
LINE_MM = 5.2
INDENT_MM = 5.0
# Deeper outline levels share the last indent, so a very deep tree keeps a readable column.
MAX_INDENT_LEVELS = 8
BULLET = "\u2022"
DASH = "\u2013"
CHECK = "\u2713"


@functools.cache
def _parsed_fonts() -> dict[str, tuple[Any, bytes]]:
    scratch = FPDF()
    files = {"": FONTS / "DejaVuSans.ttf", "B": FONTS / "DejaVuSans-Bold.ttf"}
    for style, path in files.items():
        scratch.add_font(FAMILY, style, path)
    return {
        f"{FAMILY.lower()}{style}": (scratch.fonts[f"{FAMILY.lower()}{style}"], path.read_bytes())
        for style, path in files.items()
    }


class _StudyPdf(FPDF):
    """A4 pages with the lecture's title and the page number in the footer."""

    def __init__(self, running_title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        # One footer line: a long title is shortened rather than wrapped into the text area.
        self.running_title = running_title if len(running_title) <= 80 else running_title[:79] + "…"
        # fpdf2 parses a TTF file on every add_font, most of a short PDF's CPU time, so fonts are
        # parsed once per process and copied. Its TTFFont deepcopy shares the fontTools font,
        # which writing subsets in place: each copy gets its own, read lazily from the bytes.
        for key, (font, data) in _parsed_fonts().items():
            own = copy.deepcopy(font)
            own.ttfont = TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
            self.fonts[key] = own
        self.set_margins(left=20, top=18, right=20)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        label = f"{self.running_title} · {self.page_no()}/{{nb}}"
        self.multi_cell(0, 4, label, align=Align.C, wrapmode=WrapMode.CHAR)

    def text_block(self, text: str, *, indent: float = 0, bold: bool = False) -> None:
        """Print wrapped text from the left margin plus indent to the right margin."""
        self.set_font(FAMILY, "B" if bold else "", BODY_PT)
        self.set_x(self.l_margin + indent)
        self.multi_cell(
            self.epw - indent, LINE_MM, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def marked(self, mark: str, text: str, *, indent: float = 0, bold: bool = False) -> None:
        """Print text with a hanging mark (a bullet, a letter) in front of its first line.

        The item starts a new page unless it fits whole on this one.
        """
        self.set_font(FAMILY, "B" if bold else "", BODY_PT)
        width = max(INDENT_MM, self.get_string_width(mark) + 2)
        column = self.epw - indent - width
        self.keep_together(column, text)
        self.set_font(FAMILY, "B" if bold else "", BODY_PT)
        self.set_x(self.l_margin + indent)
        self.cell(width, LINE_MM, mark)
        self.multi_cell(column, LINE_MM, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, *, level: int) -> None:
        """Start a section (a PDF bookmark too); level 0 starts a new page."""
        if level == 0:
            self.add_page()
        elif self.will_page_break(4 * LINE_MM):
            self.add_page()  # never a heading alone at the bottom of a page
        else:
            self.ln(LINE_MM / 2)
        self.start_section(text[:200], level=level)
        size = 18 if level == 0 else 13
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(LINE_MM / 2)

    def keep_together(self, column: float, *texts: str) -> None:
        """Start a new page unless texts, wrapped in a column this wide, fit on this one.

        A text taller than a whole page is left to break across pages.
        """
        self.set_font(FAMILY, "B", BODY_PT)  # bold is the wider face: an upper bound
        lines = sum(self.get_string_width(t) / column + 2 + t.count("\n") for t in texts)
        if not self.will_page_break(1.5 * lines * LINE_MM):
            return  # fits even on a generous estimate: skip the exact (costly) measure
        exact = sum(
            len(
                # fpdf2 types the result as the union of every `output`; LINES gives lines.
                cast(
                    list[str],
                    self.multi_cell(
                        column, LINE_MM, t, dry_run=True, output=MethodReturnValue.LINES
                    ),
                )
            )
            for t in texts
        )
        height = exact * LINE_MM
        if self.will_page_break(height) and height < self.eph:
            self.add_page()


def _title_page(pdf: _StudyPdf, bundle: ExportBundle) -> None:
    pdf.add_page()
    pdf.set_y(80)
    pdf.set_font(FAMILY, "B", 24)
    pdf.multi_cell(0, 11, bundle.lecture.title, align=Align.C, new_x=XPos.LMARGIN)
    pdf.ln(6)
    pdf.set_font(FAMILY, "", 15)
    pdf.multi_cell(0, 8, bundle.course.title, align=Align.C, new_x=XPos.LMARGIN)
    pdf.ln(10)
    pdf.set_font(FAMILY, "", 11)
    details = [
        f"Lecture of {bundle.lecture.created_at:%d %B %Y}",
        f"Study preset: {bundle.lecture.preset_id}",
    ]
    pdf.multi_cell(0, 6, "\n".join(details), align=Align.C, new_x=XPos.LMARGIN)


def _summary(pdf: _StudyPdf, sheet: StudySheet) -> None:
    pdf.heading("Summary", level=0)
    pdf.text_block(sheet.summary.overview)
    for section in sheet.summary.sections:
        pdf.heading(section.title, level=1)
        for bullet in section.bullets:
            pdf.marked(BULLET, bullet)


def _outline(pdf: _StudyPdf, nodes: Iterable[OutlineNode], depth: int) -> None:
    indent = min(depth, MAX_INDENT_LEVELS) * INDENT_MM
    for node in nodes:
        pdf.marked(BULLET, node.title, indent=indent, bold=True)
        for point in node.points:
            pdf.marked(DASH, point, indent=indent + INDENT_MM)
        _outline(pdf, node.children, depth + 1)


def _key_terms(pdf: _StudyPdf, sheet: StudySheet) -> None:
    pdf.heading("Key terms", level=0)
    for term in sheet.key_terms.terms:
        pdf.ln(1)
        pdf.text_block(term.term, bold=True)
        pdf.text_block(term.definition, indent=INDENT_MM)
        if term.example:
            pdf.text_block(f"Example: {term.example}", indent=INDENT_MM)


def _flashcards(pdf: _StudyPdf, sheet: StudySheet) -> None:
    pdf.heading("Flashcards", level=0)
    column = pdf.epw - INDENT_MM
    for number, card in enumerate(sheet.flashcards.cards, 1):
        pdf.keep_together(column, f"Q: {card.front}", f"A: {card.back}")
        pdf.marked(f"{number}.", f"Q: {card.front}", bold=True)
        pdf.marked("", f"A: {card.back}")
        pdf.ln(2)


def _exam_questions(pdf: _StudyPdf, sheet: StudySheet) -> None:
    pdf.heading("Exam questions", level=0)
    column = pdf.epw - 2 * INDENT_MM
    for number, question in enumerate(sheet.exam_questions.questions, 1):
        choices = lettered_choices(question)
        pdf.keep_together(
            column,
            question.prompt,
            *(text for _, text, _ in choices),
            f"Answer: {question.answer}",
        )
        pdf.marked(f"{number}.", f"({question.type}) {question.prompt}", bold=True)
        for letter, text, correct in choices:
            label = f"{text}   {CHECK} correct" if correct else text
            pdf.marked(f"{letter}.", label, indent=INDENT_MM, bold=correct)
        pdf.marked("", f"Answer: {question.answer}", indent=0)
        if question.explanation:
            pdf.marked("", f"Why: {question.explanation}")
        pdf.ln(2)


def _created(sheet: StudySheet) -> datetime:
    stamps = [
        doc.generated_at
        for doc in (sheet.summary, sheet.flashcards, sheet.exam_questions)
        if doc.generated_at is not None
    ]
    return max(stamps, default=datetime(2000, 1, 1, tzinfo=UTC))


def render_pdf(bundle: ExportBundle) -> bytes:
    """Render the study sheet as PDF.

    - A title page (lecture, course, date, preset), then summary, outline at any depth
      (indented), key terms, flashcards (question, answer) and exam questions (every choice
      lettered, the marked one checked, the answer and explanation), each part on new pages.
    """
    sheet = study_sheet(bundle)
    pdf = _StudyPdf(bundle.lecture.title)
    pdf.set_title(bundle.lecture.title)
    pdf.set_subject(bundle.course.title)
    pdf.set_creator("Pegasus")
    pdf.set_creation_date(_created(sheet))
    _title_page(pdf, bundle)
    _summary(pdf, sheet)
    pdf.heading("Outline", level=0)
    _outline(pdf, sheet.outline.outline, 0)
    _key_terms(pdf, sheet)
    _flashcards(pdf, sheet)
    _exam_questions(pdf, sheet)
    return bytes(pdf.output())
