"""Prompts for structured generation, and the sections a long transcript is cut into."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from pegasus_adapters.openai.schemas import HEADER_FIELDS
from pegasus_core.artifacts import AnyArtifact, ArtifactType
from pegasus_core.errors import PegasusError
from pegasus_core.ports.language_model import ConceptRequest
from pegasus_core.presets import Preset
from pegasus_core.transcripts import Segment

Messages = list[dict[str, str]]


def estimate_tokens(text: str) -> int:
    """Return an upper estimate of the tokens in a text: one per 4 characters, rounded up.

    English averages about 4 characters per token in OpenAI's tokenizers; no tokenizer is
    bundled (they download their vocabularies), so budgets are kept against this estimate.
    """
    return (len(text) + 3) // 4


def messages_tokens(messages: Messages) -> int:
    """Return the estimated tokens of a request's messages."""
    return sum(estimate_tokens(m["content"]) for m in messages)


_TASKS = {
    ArtifactType.SUMMARY: (
        "Write a summary: an overview paragraph, then exactly one section per requested "
        "section, in that order, each with at least one bullet. Use at most {max_words} words "
        "in all. Requested sections: {sections}."
    ),
    ArtifactType.OUTLINE: (
        "Write an outline of the lecture's structure: top-level nodes in lecture order, each "
        "with short points and nested children where the lecture nests ideas."
    ),
    ArtifactType.KEY_TERMS: (
        "List the key terms of the lecture, each spelled as the lecturer says it, with the "
        "definition the lecture gives and an example when the lecture gives one."
    ),
    ArtifactType.FLASHCARDS: (
        "Write at most {cards} flashcards: a question on the front, the lecture's answer on "
        "the back, a difficulty and a few tags."
    ),
    ArtifactType.EXAM_QUESTIONS: (
        "Write at most {questions} exam questions of the types multiple-choice, short-answer, "
        "essay or true-false, favouring these kinds: {kinds}. A multiple-choice question "
        "lists its choices and the index of the correct one; its answer is that choice."
    ),
}
_SPANS = (
    "Every item cites the transcript lines it draws on in sourceSpans, as startSec/endSec "
    "taken from the [start-end] marks of those lines."
)


def system_prompt(artifact_type: ArtifactType, preset: Preset) -> str:
    """Return the instructions for one artifact type, shaped by the preset."""
    gen, profile = preset.generation, preset.output_profile
    task = _TASKS[artifact_type].format(
        max_words=gen.summary_max_words,
        sections=", ".join(s.replace("_", " ") for s in profile.sections) or "key points",
        cards=gen.flashcard_count,
        questions=gen.exam_question_count,
        kinds=", ".join(k.replace("_", " ") for k in gen.question_types),
    )
    lines = [
        "You turn lecture transcripts into study material for students.",
        f"Study preset: {preset.name}. {preset.description}",
        f"Tone: {gen.tone.replace('_', ' ')}. Style: {profile.summary_style.replace('_', ' ')};"
        f" chunking: {profile.chunking.replace('_', ' ')}.",
        *gen.instructions,
        task,
        _SPANS,
        "Use only what the transcript says. Answer with the JSON document only.",
    ]
    return "\n".join(lines)


def transcript_lines(segments: Sequence[Segment]) -> list[str]:
    """Render segments as `[start-end] text` lines, the form the prompts cite spans from."""
    return [f"[{s.start_sec:.2f}-{s.end_sec:.2f}] {s.text.strip()}" for s in segments if s.text]


def transcript_message(
    lecture_title: str, course_title: str, lines: Sequence[str], part: str
) -> str:
    """Return the user message carrying (a part of) the transcript."""
    head = f"Course: {course_title}\nLecture: {lecture_title}\n{part}Transcript:\n"
    return head + "\n".join(lines)


_RETRY_NOTE = "\nYour previous answer was invalid: "
_RETRY_DETAIL_CHARS = 300
# Room every request keeps for the note a retry adds to its instructions.
RETRY_RESERVE = estimate_tokens(_RETRY_NOTE) + _RETRY_DETAIL_CHARS // 4 + 1


def retry_prompt(system: str, problem: str) -> str:
    """Return the instructions again, telling the model what was wrong with its last answer."""
    return f"{system}{_RETRY_NOTE}{problem[:_RETRY_DETAIL_CHARS]}"


def plan_parts(
    system: str, lecture_title: str, course_title: str, lines: Sequence[str], budget: int
) -> list[list[str]]:
    """Cut transcript lines into consecutive parts whose request each fits the token budget.

    Every line lands in exactly one part, in order; nothing is dropped. A single line too long
    for any request is split into pieces that keep its time marks. Raises PegasusError when
    the budget cannot even hold the instructions.
    """
    overhead = (
        estimate_tokens(system)
        + RETRY_RESERVE
        + estimate_tokens(
            transcript_message(lecture_title, course_title, [], part_label(9998, 9999))
        )
    )
    room = budget - overhead
    if room < 64:
        raise PegasusError("The generation token budget is too small for the instructions.")
    parts: list[list[str]] = [[]]
    used = 0
    for line in _fit(lines, room):
        cost = estimate_tokens(line + "\n")
        if parts[-1] and used + cost > room:
            parts.append([])
            used = 0
        parts[-1].append(line)
        used += cost
    return parts


def _fit(lines: Sequence[str], room: int) -> list[str]:
    fitted = []
    for line in lines:
        if estimate_tokens(line + "\n") <= room:
            fitted.append(line)
            continue
        mark, _, text = line.partition("] ")
        width = max(16, (room - estimate_tokens(mark + "] \n")) * 4)
        fitted += [f"{mark}] {text[i : i + width]}" for i in range(0, len(text), width)]
    return fitted


def part_label(index: int, count: int) -> str:
    """Return the line telling the model which part of the lecture it sees."""
    if count == 1:
        return ""
    return f"This is part {index + 1} of {count}: cover this part only.\n"


def body_json(doc: AnyArtifact) -> str:
    """Return a document's body as JSON (no header), as a reduce request quotes it."""
    data = msgspec.to_builtins(doc)
    return msgspec.json.encode({k: v for k, v in data.items() if k not in HEADER_FIELDS}).decode()


REDUCE_MARK = "Partial documents, one JSON per line:\n"


def reduce_system(artifact_type: ArtifactType, preset: Preset) -> str:
    """Return the instructions for merging partial documents of one type into one."""
    return (
        system_prompt(artifact_type, preset)
        + f"\nYou are given partial {artifact_type.value} documents made from consecutive parts"
        " of one lecture. Merge them into one document for the whole lecture: keep what a"
        " student needs from every part, keep the sourceSpans of what you keep, and respect"
        " the limits above."
    )


def reduce_message(lecture_title: str, course_title: str, partials: Sequence[str]) -> str:
    """Return the user message carrying partial documents to merge."""
    return f"Course: {course_title}\nLecture: {lecture_title}\n{REDUCE_MARK}" + "\n".join(partials)


CONCEPT_SYSTEM = (
    "You follow concepts across the lectures of a course. From this lecture's key terms and "
    "summary, name its main concepts (at most 8). For each, if it continues one of the "
    "course's existing threads, give that thread's id and say how this lecture changes it: "
    "refinement (adds detail), contradiction (corrects or disagrees), complexity (takes it "
    "further); otherwise give threadId null and changeType introduced. complexityLevel runs "
    "from 1 (foundational) to 5 (advanced). The note says in one sentence what this lecture "
    "adds. Answer with the JSON document only."
)


def concept_message(request: ConceptRequest) -> str:
    """Return the user message for concept matching: the lecture's material and the threads."""
    material = "\n".join(
        body_json(a) for a in request.artifacts if a.artifact_type in _FOR_CONCEPTS
    )
    threads = "\n".join(
        msgspec.json.encode(
            {"id": t.id, "title": t.title, "summary": t.summary, "level": t.complexity_level}
        ).decode()
        for t in request.threads
    )
    return (
        f"Course: {request.course_title}\nLecture: {request.lecture_title}\n"
        f"Lecture material:\n{material}\n"
        f"Existing threads, one JSON per line:\n{threads or '(none)'}"
    )


_FOR_CONCEPTS = (ArtifactType.KEY_TERMS, ArtifactType.SUMMARY)
