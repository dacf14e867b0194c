"""The Anki package opens as a collection, and a regenerated lecture updates its notes."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from pegasus_adapters.apkg_export import note_guid, render_apkg
from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.offline.generator import ExtractiveLanguageModel
from pegasus_core.artifacts import AnyArtifact, ArtifactType, Flashcards
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.language_model import GenerationRequest
from pegasus_core.threads import Thread
from tests.conftest import memory_settings
from tests.helpers import ingest
from tests.study_material import WHEN, bundle, long_artifacts

CHANGED = "A rewritten answer after regeneration"

Note = tuple[list[str], set[str]]  # fields, tags


class EditingLanguageModel(ExtractiveLanguageModel):
    """The offline generator; once `edit` is set, the second flashcard gets a new answer."""

    def __init__(self) -> None:
        super().__init__()
        self.edit = False

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        document = await super().generate(request)
        if self.edit and isinstance(document, Flashcards):
            cards = list(document.cards)
            cards[1] = msgspec.structs.replace(cards[1], back=CHANGED)
            return msgspec.structs.replace(document, cards=tuple(cards))
        return document


def open_collection(data: bytes, directory: Path) -> sqlite3.Connection:
    """Unpack an .apkg as Anki does and open its collection.anki2 (SQLite)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert set(archive.namelist()) == {"collection.anki2", "media"}
        path = directory / f"collection-{len(list(directory.iterdir()))}.anki2"
        path.write_bytes(archive.read("collection.anki2"))
    return sqlite3.connect(path)


def notes(collection: sqlite3.Connection) -> dict[str, Note]:
    rows = collection.execute("SELECT guid, flds, tags FROM notes").fetchall()
    return {guid: (fields.split("\x1f"), set(tags.split())) for guid, fields, tags in rows}


def deck_names(collection: sqlite3.Connection) -> set[str]:
    decks = msgspec.json.decode(collection.execute("SELECT decks FROM col").fetchone()[0])
    return {deck["name"] for deck in decks.values()}


@pytest.fixture
def llm() -> EditingLanguageModel:
    return EditingLanguageModel()


@pytest.fixture
async def editing_pegasus(
    tmp_path: Path, scripted_transcriber: ScriptedTranscriber, llm: EditingLanguageModel
) -> AsyncIterator[Pegasus]:
    async with open_pegasus(
        memory_settings(tmp_path), transcriber=scripted_transcriber, llm=llm
    ) as instance:
        yield instance


async def _apkg(pegasus: Pegasus) -> bytes:
    opened = await pegasus.open_export("lec-1", "apkg")
    assert (opened.filename, opened.content_type) == ("lec-1.apkg", "application/apkg")
    return b"".join([chunk async for chunk in opened.chunks])


async def test_regenerating_with_one_answer_changed_updates_that_note_and_adds_none(
    editing_pegasus: Pegasus, llm: EditingLanguageModel, speech_clip: Path, tmp_path: Path
) -> None:
    pegasus = editing_pegasus
    await ingest(pegasus, speech_clip, auto_process=True)
    cards = await pegasus.get_artifact("lec-1", "flashcards")
    questions = await pegasus.get_artifact("lec-1", "exam-questions")
    assert isinstance(cards, Flashcards) and len(cards.cards) >= 2
    before_db = open_collection(await _apkg(pegasus), tmp_path)
    before = notes(before_db)
    assert len(before) == len(cards.cards) + len(questions.questions)  # type: ignore[union-attr]
    assert "course-1::The water cycle" in deck_names(before_db)
    assert all("exam-mode" in tags for _, tags in before.values())
    second = note_guid("lec-1", ArtifactType.FLASHCARDS, 1)
    assert before[second][0] == [cards.cards[1].front, cards.cards[1].back]

    llm.edit = True
    await pegasus.submit_generation("lec-1")
    async with pegasus.ports.uow() as uow:  # the lecture joins one more course thread
        await uow.threads.put(
            Thread(
                id="thread-1",
                course_id="course-1",
                title="Water movement",
                summary="How water moves.",
                status="foundational",
                complexity_level=1,
                lecture_refs=("lec-1",),
                evolution=(),
                created_at=WHEN,
                updated_at=WHEN,
            )
        )
        await uow.commit()
    await pegasus.submit_export("lec-1")
    regenerated = await pegasus.get_artifact("lec-1", "flashcards")
    assert regenerated.version == 2  # type: ignore[union-attr]

    after = notes(open_collection(await _apkg(pegasus), tmp_path))
    assert set(after) == set(before)  # same GUIDs: Anki updates, adds nothing
    assert after[second][0] == [cards.cards[1].front, CHANGED]
    assert {g: f for g, (f, _) in after.items() if g != second} == {
        g: f for g, (f, _) in before.items() if g != second
    }
    assert all({"exam-mode", "Water_movement"} <= tags for _, tags in after.values())
    csv = await pegasus.open_export("lec-1", "anki")
    assert b"Water_movement" in b"".join([chunk async for chunk in csv.chunks])


def test_guids_follow_the_lecture_and_position_not_the_text(tmp_path: Path) -> None:
    artifacts = long_artifacts(sections=1, bullets=1, cards=5)
    cards = artifacts[ArtifactType.FLASHCARDS]
    assert isinstance(cards, Flashcards)
    reworded = dict(artifacts)
    reworded[ArtifactType.FLASHCARDS] = msgspec.structs.replace(
        cards, cards=tuple(msgspec.structs.replace(c, front=c.front + "?!") for c in cards.cards)
    )
    original = notes(open_collection(render_apkg(bundle(artifacts)), tmp_path))
    changed = notes(open_collection(render_apkg(bundle(reworded)), tmp_path))
    assert set(original) == set(changed) and len(original) == 5 + 3
    assert all(changed[g][0][0].endswith("?!") for g in changed if g in _card_guids(5))
    other_lecture = bundle(artifacts)
    other_lecture = msgspec.structs.replace(
        other_lecture, lecture=msgspec.structs.replace(other_lecture.lecture, id="lec-other")
    )
    assert not set(original) & set(notes(open_collection(render_apkg(other_lecture), tmp_path)))


def _card_guids(count: int) -> set[str]:
    return {note_guid("lec-long", ArtifactType.FLASHCARDS, i) for i in range(count)}


def test_questions_show_every_choice_and_the_marked_answer(tmp_path: Path) -> None:
    data = render_apkg(bundle(long_artifacts(sections=1, bullets=1, cards=1)))
    assert data == render_apkg(bundle(long_artifacts(sections=1, bullets=1, cards=1)))
    collection = open_collection(data, tmp_path)
    assert deck_names(collection) >= {"Biology 101 — Βιολογία::Photosynthesis / Фотосинтез"}
    found = notes(collection)
    front, back = found[note_guid("lec-long", ArtifactType.EXAM_QUESTIONS, 0)][0]
    assert front == (
        "Где происходит фотосинтез?<br>A. In the mitochondria<br>B. In the chloroplasts"
        "<br>C. Στον πυρήνα<br>D. Nowhere"
    )
    assert back.split("<br>")[:2] == ["<b>In the chloroplasts</b>", "B. In the chloroplasts ✓"]
    tags = found[note_guid("lec-long", ArtifactType.EXAM_QUESTIONS, 0)][1]
    assert tags == {"exam-question", "exam-mode", "Energy_flow"}
    models = msgspec.json.decode(collection.execute("SELECT models FROM col").fetchone()[0])
    assert [m["name"] for m in models.values()] == ["Pegasus Basic"]
