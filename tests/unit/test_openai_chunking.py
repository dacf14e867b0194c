"""The OpenAI engine's pure parts: model limits, chunk bounds and encoding, prompts, placing."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from pegasus_adapters.offline.audio import decode_to_pcm
from pegasus_adapters.openai.capabilities import (
    CONSERVATIVE,
    GPT_4O_TRANSCRIBE,
    MIB,
    WHISPER,
    ModelCapabilities,
    capabilities_for,
)
from pegasus_adapters.openai.chunk_planner import chunk_bounds, encode_chunk, plan_requests
from pegasus_adapters.openai.transcriber import OpenAITranscriber, place_sentences
from pegasus_core.transcripts import ChunkResult, ChunkSpan, Segment, chunk_prompt
from tests.audio_fixtures import make_tone_clip


def test_the_capability_table_knows_the_families_and_is_careful_with_strangers() -> None:
    assert capabilities_for("whisper-1") == WHISPER
    assert WHISPER.timestamps and WHISPER.max_request_sec is None
    assert WHISPER.max_request_bytes == 25 * MIB
    assert capabilities_for("gpt-4o-transcribe") == GPT_4O_TRANSCRIBE
    assert capabilities_for("gpt-4o-mini-transcribe-2025-03-20") == GPT_4O_TRANSCRIBE
    assert GPT_4O_TRANSCRIBE.max_request_sec == 1400 and not GPT_4O_TRANSCRIBE.timestamps
    assert capabilities_for("whisper-large-v3") == CONSERVATIVE
    assert not CONSERVATIVE.timestamps and CONSERVATIVE.max_request_sec == 1400


@pytest.mark.parametrize(
    ("caps", "wish", "expected"),
    [
        (WHISPER, 600.0, (600.0, 900.0, 60.0)),
        (GPT_4O_TRANSCRIBE, 600.0, (600.0, 900.0, 60.0)),
        (GPT_4O_TRANSCRIBE, 3000.0, (1330 * 2 / 3, 1330.0, 60.0)),
        # 1 MiB at 24 kbps holds ~350 s; the margin leaves 80% of that.
        (ModelCapabilities(max_request_bytes=MIB), 600.0, (MIB * 0.8 / 3000 * 2 / 3, 279.6, 60)),
    ],
)
def test_chunk_bounds_keep_requests_inside_the_model_limits(
    caps: ModelCapabilities, wish: float, expected: tuple[float, float, float]
) -> None:
    assert chunk_bounds(caps, target_sec=wish) == pytest.approx(expected, abs=0.1)


def test_audio_without_silences_is_cut_hard_within_the_limits_and_encodes_compactly(
    tmp_path: Path,
) -> None:
    pcm = tmp_path / "tone.pcm"
    duration = decode_to_pcm(make_tone_clip(tmp_path / "t.wav", 70.0), pcm, max_duration_sec=None)
    caps = ModelCapabilities(max_request_bytes=MIB, max_request_sec=30.0)

    chunks = plan_requests(pcm, caps, target_sec=600.0)

    assert [c.end_sec - c.start_sec for c in chunks[:-1]] == pytest.approx([28.5, 28.5])
    assert chunks[-1].end_sec == pytest.approx(duration)
    data = encode_chunk(pcm, chunks[1], caps)
    assert data[:4] == b"OggS" and len(data) < 28.5 * 24_000 / 8 * 1.25
    with av.open(io.BytesIO(data)) as container:
        decoded = sum(frame.samples / frame.sample_rate for frame in container.decode(audio=0))
    assert decoded == pytest.approx(28.5, abs=0.1)


def test_text_without_times_is_spread_over_the_chunk_by_sentence_length() -> None:
    segments = place_sentences("Short one. A much longer second sentence!  Third?", 10.0)

    assert [s.text for s in segments] == ["Short one.", "A much longer second sentence!", "Third?"]
    # 10, 30 and 6 characters of 46 share the 10 s.
    bounds = [t for s in segments for t in (s.start_sec, s.end_sec)]
    assert bounds == pytest.approx([0, 100 / 46, 100 / 46, 400 / 46, 400 / 46, 10], abs=1e-3)
    assert place_sentences("   ", 10.0) == []


def finished(text: str) -> ChunkResult:
    span = ChunkSpan(index=0, start_sec=0.0, end_sec=10.0)
    return ChunkResult(span=span, segments=(Segment(start_sec=0, end_sec=10, text=text),))


def test_a_chunk_prompt_is_the_predecessors_tail_in_whole_words_or_else_the_titles() -> None:
    titles = {"lecture_title": "Cells.", "course_title": "Biology 101"}
    long_text = " ".join(f"word{i}" for i in range(100))

    tail = chunk_prompt(finished(long_text), **titles)

    assert long_text.endswith(" " + tail) and 190 <= len(tail) <= 200
    assert chunk_prompt(finished("Just this."), **titles) == "Just this."
    assert chunk_prompt(None, **titles) == "Cells. Biology 101."
    assert chunk_prompt(finished(""), **titles) == "Cells. Biology 101."
    assert chunk_prompt(None, lecture_title="Cells", course_title="") == "Cells."


def test_the_engine_takes_the_languages_openai_documents() -> None:
    engine = OpenAITranscriber(api_key="sk-test", base_url="http://127.0.0.1:9/v1")

    assert engine.supports_language("en") and engine.supports_language("fr")
    assert not engine.supports_language("xx")
    with pytest.raises(ValueError, match="Language not supported by the OpenAI engine"):
        engine.open(Path("x.ogg"), language="xx")
