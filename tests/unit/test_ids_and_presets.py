from __future__ import annotations

import pytest

from pegasus_core.errors import InvalidRequestError, PresetNotFoundError
from pegasus_core.ids import is_valid_id, new_id, parse_id
from pegasus_core.presets import BUILTIN_PRESETS, get_preset, require_preset


@pytest.mark.parametrize("value", ["a", "A.b_c-9", "x" * 128, new_id()])
def test_valid_identifiers(value: str) -> None:
    assert is_valid_id(value)


@pytest.mark.parametrize(
    "value", ["", "../x", "a/b", "*", "x" * 129, "a\x00", "abc\n", ".hidden", "-x", "a b", "é"]
)
def test_hostile_identifiers_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequestError, match="Invalid lecture_id"):
        parse_id(value, field="lecture_id")


def test_the_five_builtin_presets_match_the_contract_table() -> None:
    table = {
        p.id: (
            p.name,
            p.kind,
            p.output_profile.summary_style,
            p.output_profile.chunking,
            p.output_profile.question_focus,
            p.generation.summary_max_words,
            p.generation.flashcard_count,
            p.generation.exam_question_count,
            p.generation.tone,
        )
        for p in BUILTIN_PRESETS.values()
    }
    assert table == {
        "exam-mode": (
            "Exam Mode",
            "exam",
            "concise_academic",
            "medium",
            True,
            800,
            25,
            15,
            "formal_academic",
        ),
        "concept-map-mode": (
            "Concept Map Mode",
            "concept-map",
            "conceptual",
            "hierarchical",
            False,
            600,
            20,
            10,
            "analytical_precise",
        ),
        "beginner-mode": (
            "Beginner Mode",
            "beginner",
            "plain_language",
            "short",
            False,
            500,
            15,
            8,
            "conversational",
        ),
        "neurodivergent-friendly-mode": (
            "Neurodivergent-Friendly Mode",
            "neurodivergent",
            "low_clutter",
            "very_short",
            True,
            400,
            12,
            6,
            "direct_predictable",
        ),
        "research-mode": (
            "Research Mode",
            "research",
            "argumentative",
            "medium",
            True,
            1000,
            20,
            12,
            "analytical_precise",
        ),
    }
    assert get_preset("exam-mode").output_profile.sections == (
        "overview",
        "examinable_points",
        "definitions",
        "likely_questions",
    )
    assert get_preset("beginner-mode").generation.question_types == (
        "recognition",
        "basic_understanding",
        "simple_application",
    )


def test_unknown_presets() -> None:
    with pytest.raises(PresetNotFoundError):
        get_preset("nope")
    with pytest.raises(InvalidRequestError, match=r"Invalid preset_id\."):
        require_preset("nope")
