"""The PDF export of a long lecture in several scripts: pages, extractable text, no overflow."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from typing import Any

import msgspec
import pypdf
import pytest
from fontTools.ttLib import TTFont
from fpdf import FPDF

from pegasus_adapters import pdf_export
from pegasus_adapters.pdf_export import render_pdf
from pegasus_core.artifacts import ArtifactType, ExamQuestions, Outline, OutlineNode, Summary
from tests.study_material import LONG_WORD, bundle, long_artifacts

FONTS = Path(__file__).resolve().parents[2] / "src" / "pegasus_adapters" / "fonts"
MARGIN_PT = 20 * 72 / 25.4  # the renderer's 20 mm side margins
TOLERANCE_PT = 0.5


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return render_pdf(bundle())


def _squash(text: str) -> str:
    # Wrapping turns spaces into line breaks and splits long words: compare without whitespace.
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


class _Metrics:
    """Advance widths from the font files themselves, independent of the PDF library."""

    def __init__(self) -> None:
        self.fonts = {
            bold: TTFont(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"))
            for bold in (False, True)
        }

    def width_pt(self, text: str, *, bold: bool, size: float) -> float:
        font = self.fonts[bold]
        cmap, hmtx = font.getBestCmap(), font["hmtx"]
        missing = [ch for ch in text if ord(ch) not in cmap]
        assert not missing, f"glyphs missing from the font: {missing}"
        units = sum(hmtx[cmap[ord(ch)]][0] for ch in text)
        return units / font["head"].unitsPerEm * size


def overflowing_lines(data: bytes, *, margin: float = MARGIN_PT) -> list[tuple[int, str, float]]:
    """Return (page, text, right edge) of every line drawn outside the side margins."""
    metrics = _Metrics()
    found: list[tuple[int, str, float]] = []
    for number, page in enumerate(pypdf.PdfReader(io.BytesIO(data)).pages, 1):
        runs: list[tuple[str, float, float, bool, float]] = []

        def visit(
            text: str, cm: Any, tm: Any, font: Any, size: float, runs: list[Any] = runs
        ) -> None:
            if text.strip():  # pypdf reports each drawn line with its text matrix
                bold = "Bold" in str(font.get("/BaseFont", ""))
                x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
                runs.append((text.rstrip("\n"), x, y, bold, size * tm[0] * cm[0]))

        page.extract_text(visitor_text=visit)
        right_limit = float(page.mediabox.width) - margin + TOLERANCE_PT
        for line, x, y, bold, size in runs:
            right = x + metrics.width_pt(line, bold=bold, size=size)
            inside = 0 < y < float(page.mediabox.height)
            if x < margin - TOLERANCE_PT or right > right_limit or not inside:
                found.append((number, line, right))
    return found


def test_a_long_lecture_fills_forty_pages_and_every_summary_bullet_can_be_extracted(
    long_pdf: bytes,
) -> None:
    reader = pypdf.PdfReader(io.BytesIO(long_pdf))
    assert len(reader.pages) >= 40
    raw = _text(long_pdf)
    text = _squash(raw)
    summary = bundle().artifacts[ArtifactType.SUMMARY]
    assert isinstance(summary, Summary)
    bullets = [b for section in summary.sections for b in section.bullets]
    assert len(bullets) == 36 * 12
    missing = [b for b in bullets if _squash(b) not in text]
    assert missing == []
    assert _squash("Η φωτοσύνθεση") in text  # noqa: RUF001 and _squash("réaction de Calvin") in text
    # The word wider than a line is split across lines, and nothing of it is lost.
    assert sum(LONG_WORD in b for b in bullets) > 50
    assert not any(LONG_WORD in line for line in raw.splitlines())


def test_no_line_of_the_long_lecture_runs_into_the_margins(long_pdf: bytes) -> None:
    assert overflowing_lines(long_pdf) == []


def test_the_margin_check_catches_a_line_that_runs_off_the_page() -> None:
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_page()
    pdf.set_font("DejaVu", "", 10.5)
    pdf.set_x(20)
    pdf.cell(text="Unwrapped " + LONG_WORD)  # a cell never wraps
    overflowing = overflowing_lines(bytes(pdf.output()))
    assert [page for page, _, _ in overflowing] == [1]
    assert overflowing[0][2] > 595


def test_the_title_page_outline_depth_and_questions_are_laid_out_for_study() -> None:
    artifacts = long_artifacts(sections=2, bullets=2, cards=3)
    data = render_pdf(bundle(artifacts))
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    title_page = pages[0].extract_text()
    assert "Photosynthesis / Фотосинтез" in title_page
    assert "Biology 101 — Βιολογία" in title_page and "02 March 2026" in title_page
    text = _text(data)
    outline = artifacts[ArtifactType.OUTLINE]
    assert isinstance(outline, Outline)

    def titles(nodes: tuple[OutlineNode, ...]) -> list[str]:
        return [t for node in nodes for t in (node.title, *titles(node.children))]

    assert all(_squash(title) in _squash(text) for title in titles(outline.outline))
    assert "Level 1.1.1.1.1 " in text  # depth 5
    questions = artifacts[ArtifactType.EXAM_QUESTIONS]
    assert isinstance(questions, ExamQuestions)
    lines = text.splitlines()
    for question in questions.questions:
        for index, choice in enumerate(question.choices or ()):
            letter = "ABCD"[index]
            [line] = [ln for ln in lines if ln.startswith(f"{letter}. {choice}")]
            assert line.endswith("✓ correct") == (index == question.correct_choice_index)
        assert _squash(f"Answer: {question.answer}") in _squash(text)
    assert "Q: Card 2: what does this mean?" in text and "A: Answer 2:" in text
    assert overflowing_lines(data) == []


def test_the_same_material_gives_the_same_pdf_bytes() -> None:
    artifacts = long_artifacts(sections=2, bullets=2, cards=2)
    assert render_pdf(bundle(artifacts)) == render_pdf(bundle(artifacts))


def test_titles_of_the_longest_allowed_length_stay_on_the_page() -> None:
    small = bundle(long_artifacts(sections=1, bullets=1, cards=1))
    title = ("Фотосинтез " + LONG_WORD)[:300]
    lecture = msgspec.structs.replace(small.lecture, title=title)
    course = msgspec.structs.replace(small.course, title=title)
    data = render_pdf(msgspec.structs.replace(small, lecture=lecture, course=course))
    assert overflowing_lines(data) == []
    assert _squash(title) in _squash(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text())


def test_a_pdf_does_not_depend_on_the_pdfs_rendered_before_it_in_the_process() -> None:
    # Fonts are parsed once per process and copied per document: no state may leak.
    small = bundle(long_artifacts(sections=1, bullets=1, cards=1))
    other = msgspec.structs.replace(
        small, lecture=msgspec.structs.replace(small.lecture, title="Ελληνικά… " + "x" * 90)
    )
    pdf_export._parsed_fonts.cache_clear()  # start from freshly parsed fonts
    alone = render_pdf(other)
    render_pdf(small)
    render_pdf(bundle(long_artifacts(sections=2, bullets=2, cards=2)))
    assert render_pdf(other) == alone
