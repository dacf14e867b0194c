"""The Anki package export (.apkg), built with genanki.

Anki recognises a note it already has by the note's GUID, so each GUID derives from the lecture
id and the item's place (artifact type and index), never from its text: re-importing after a
regeneration or an edit updates the notes instead of adding copies. Flashcards and exam
questions both become notes (a question's back shows the answer and the marked choice). Deck
and note-type ids derive from fixed names and ids, and the package is written in memory with
fixed zip dates, so the same bundle gives the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import sqlite3
import zipfile
from datetime import UTC, datetime

import genanki

from pegasus_core.artifacts import ArtifactType, ExamQuestion, Flashcard
from pegasus_core.ports.renderer import ExportBundle
from pegasus_core.study_sheet import StudySheet, lettered_choices, study_sheet, study_tags

EXAM_TAG = "exam-question"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def stable_id(*parts: str) -> int:
    """Return an Anki object id in [2**30, 2**31) derived from parts (genanki's advised range)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return (1 << 30) + int.from_bytes(digest[:8], "big") % (1 << 30)


def note_guid(lecture_id: str, artifact_type: ArtifactType, index: int) -> str:
    """Return the GUID of the index-th item of an artifact of a lecture."""
    return str(genanki.guid_for(lecture_id, artifact_type.value, index))


# One note type for every lecture, so a student's collection gains a single "Pegasus" type.
MODEL = genanki.Model(
    stable_id("pegasus", "note-type", "basic", "1"),
    "Pegasus Basic",
    fields=[{"name": "Front"}, {"name": "Back"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Back}}',
        }
    ],
    css=".card { font-family: sans-serif; font-size: 20px; text-align: left; }",
)


def _html(text: str) -> str:
    # Fields are HTML: escape the text, keep its line breaks.
    return html.escape(text, quote=False).replace("\n", "<br>")


def _card_fields(card: Flashcard) -> list[str]:
    return [_html(card.front), _html(card.back)]


def _question_fields(question: ExamQuestion) -> list[str]:
    choices = lettered_choices(question)
    front = _html(question.prompt)
    if choices:
        front += "<br>" + "<br>".join(f"{letter}. {_html(text)}" for letter, text, _ in choices)
    back = [f"<b>{_html(question.answer)}</b>"]
    back += [f"{letter}. {_html(text)} ✓" for letter, text, correct in choices if correct]
    if question.explanation:
        back.append(f"<i>{_html(question.explanation)}</i>")
    return [front, "<br>".join(back)]


def _timestamp(sheet: StudySheet) -> datetime:
    # The notes' modification time: newer after a regeneration, so Anki takes the update.
    stamps = [
        doc.generated_at
        for doc in (sheet.flashcards, sheet.exam_questions)
        if doc.generated_at is not None
    ]
    return max(stamps, default=EPOCH)


def render_apkg(bundle: ExportBundle) -> bytes:
    """Render the flashcards and exam questions as an Anki package.

    - Deck "<course title>::<lecture title>" (a sub-deck per lecture under its course).
    - One note per flashcard and per exam question; tags: the card's own, the preset's id,
      the lecture's threads, and `exam-question` on questions.
    - Note GUIDs come from the lecture id and the item's index, so re-importing updates notes.
    """
    sheet = study_sheet(bundle)
    lecture, course = bundle.lecture, bundle.course
    deck = genanki.Deck(
        stable_id("pegasus", "deck", course.id, lecture.id),
        f"{course.title}::{lecture.title}",
        description=_html(f"{lecture.title} ({course.title}), made by Pegasus"),
    )
    for index, card in enumerate(sheet.flashcards.cards):
        deck.add_note(
            genanki.Note(
                model=MODEL,
                fields=_card_fields(card),
                tags=list(study_tags(bundle, card.tags)),
                guid=note_guid(lecture.id, ArtifactType.FLASHCARDS, index),
            )
        )
    for index, question in enumerate(sheet.exam_questions.questions):
        deck.add_note(
            genanki.Note(
                model=MODEL,
                fields=_question_fields(question),
                tags=list(study_tags(bundle, (EXAM_TAG,))),
                guid=note_guid(lecture.id, ArtifactType.EXAM_QUESTIONS, index),
            )
        )
    return _package(deck, _timestamp(sheet))


def _package(deck: genanki.Deck, when: datetime) -> bytes:
    # genanki's write_to_file leaves its temporary database behind and stamps the zip with the
    # current time; building the collection in memory avoids both.
    seconds = when.timestamp()
    connection = sqlite3.connect(":memory:")
    try:
        genanki.Package(deck).write_to_db(
            connection.cursor(), seconds, itertools.count(int(seconds * 1000))
        )
        connection.commit()
        collection = connection.serialize()
    finally:
        connection.close()
    stamp = when.astimezone(UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in (("collection.anki2", collection), ("media", b"{}")):
            archive.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()
