"""Study presets: what each one asks of the generators, and the five built-in ones."""

from __future__ import annotations

from collections.abc import Mapping

from pegasus_core.errors import InvalidRequestError, PresetNotFoundError
from pegasus_core.records import Record


class OutputProfile(Record, frozen=True, kw_only=True):
    """How the study material is laid out."""

    summary_style: str
    sections: tuple[str, ...]
    chunking: str
    question_focus: bool


class GenerationProfile(Record, frozen=True, kw_only=True):
    """What the generators produce: counts are maxima, tone and instructions shape the text."""

    summary_max_words: int
    flashcard_count: int
    exam_question_count: int
    tone: str
    question_types: tuple[str, ...]
    instructions: tuple[str, ...]


class Preset(Record, frozen=True, kw_only=True):
    """A study preset (CONTRACT.md section 4)."""

    id: str
    name: str
    kind: str
    description: str
    output_profile: OutputProfile
    generation: GenerationProfile


def _preset(
    id_: str,
    name: str,
    kind: str,
    description: str,
    profile: tuple[str, tuple[str, ...], str, bool],
    generation: tuple[int, int, int, str, tuple[str, ...], tuple[str, ...]],
) -> Preset:
    style, sections, chunking, focus = profile
    max_words, cards, questions, tone, question_types, instructions = generation
    return Preset(
        id=id_,
        name=name,
        kind=kind,
        description=description,
        output_profile=OutputProfile(
            summary_style=style, sections=sections, chunking=chunking, question_focus=focus
        ),
        generation=GenerationProfile(
            summary_max_words=max_words,
            flashcard_count=cards,
            exam_question_count=questions,
            tone=tone,
            question_types=question_types,
            instructions=instructions,
        ),
    )


BUILTIN_PRESETS: Mapping[str, Preset] = {
    p.id: p
    for p in (
        _preset(
            "exam-mode",
            "Exam Mode",
            "exam",
            "Revise for an exam: what is examinable, precise definitions, and the questions "
            "an examiner is likely to ask.",
            (
                "concise_academic",
                ("overview", "examinable_points", "definitions", "likely_questions"),
                "medium",
                True,
            ),
            (
                800,
                25,
                15,
                "formal_academic",
                ("definition", "explanation", "application", "evaluation"),
                (
                    "Lead with the points most likely to be examined.",
                    "State every definition exactly as the lecturer gave it.",
                    "Phrase questions the way an exam paper would.",
                ),
            ),
        ),
        _preset(
            "concept-map-mode",
            "Concept Map Mode",
            "concept-map",
            "See how the ideas connect: core concepts, how they relate and depend on each other, "
            "and the misconceptions to avoid.",
            (
                "conceptual",
                ("core_concepts", "relationships", "dependencies", "misconceptions"),
                "hierarchical",
                False,
            ),
            (
                600,
                20,
                10,
                "analytical_precise",
                ("relationship", "system_analysis", "dependency"),
                (
                    "Name each concept once and link it to the concepts it depends on.",
                    "Prefer relationships over isolated facts.",
                    "Call out common misconceptions explicitly.",
                ),
            ),
        ),
        _preset(
            "beginner-mode",
            "Beginner Mode",
            "beginner",
            "Meet the topic for the first time: plain language, the key ideas, examples and "
            "analogies, with no prior knowledge assumed.",
            (
                "plain_language",
                ("overview", "key_ideas", "examples", "analogy_bank"),
                "short",
                False,
            ),
            (
                500,
                15,
                8,
                "conversational",
                ("recognition", "basic_understanding", "simple_application"),
                (
                    "Explain every technical word the first time it appears.",
                    "Use short sentences and everyday examples.",
                    "Build from what a newcomer already knows.",
                ),
            ),
        ),
        _preset(
            "neurodivergent-friendly-mode",
            "Neurodivergent-Friendly Mode",
            "neurodivergent",
            "Low-clutter study notes: small predictable chunks, one idea at a time, clear key "
            "terms and short recall prompts.",
            (
                "low_clutter",
                ("overview", "micro_chunks", "key_terms", "recall_prompts"),
                "very_short",
                True,
            ),
            (
                400,
                12,
                6,
                "direct_predictable",
                ("recall", "definition", "sequence"),
                (
                    "One idea per bullet, no more than one sentence each.",
                    "Keep the same layout in every section.",
                    "Say things directly; avoid idioms and sarcasm.",
                ),
            ),
        ),
        _preset(
            "research-mode",
            "Research Mode",
            "research",
            "Read the lecture as an argument: its claims, the reasoning and evidence behind them, "
            "and the questions it leaves open.",
            (
                "argumentative",
                ("claims", "arguments", "evidence", "open_questions"),
                "medium",
                True,
            ),
            (
                1000,
                20,
                12,
                "analytical_precise",
                ("critique", "evidence_evaluation", "synthesis"),
                (
                    "Separate what is claimed from the evidence offered for it.",
                    "Note the limits and assumptions of each argument.",
                    "End with the questions the lecture leaves open.",
                ),
            ),
        ),
    )
}


def get_preset(preset_id: str) -> Preset:
    """Return the built-in preset with this id, or raise PresetNotFoundError."""
    try:
        return BUILTIN_PRESETS[preset_id]
    except KeyError:
        raise PresetNotFoundError(preset_id) from None


def require_preset(preset_id: str) -> Preset:
    """Return the preset named in a request, or raise InvalidRequestError `Invalid preset_id.`."""
    try:
        return BUILTIN_PRESETS[preset_id]
    except KeyError:
        raise InvalidRequestError("Invalid preset_id.", field="preset_id") from None
