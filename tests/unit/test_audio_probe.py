from pathlib import Path

import pytest

from pegasus_adapters.offline.audio import decode_to_pcm
from pegasus_adapters.offline.probe import PyAvAudioProbe
from pegasus_core.errors import UnsupportedAudioError
from tests.audio_fixtures import (
    FORMATS,
    SAMPLE,
    make_speech_clip,
    make_tone_clip,
    moov_after_mdat,
    truncate,
)

EXPECTED = {
    "mp3": ("mp3", "audio/mpeg"),
    "m4a": ("m4a", "audio/mp4"),
    "m4a_moov_at_end": ("m4a", "audio/mp4"),
    "opus": ("opus", "audio/ogg"),
    "flac": ("flac", "audio/flac"),
    "wav": ("wav", "audio/wav"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_every_supported_format_is_recognised(tmp_path: Path, fmt: str) -> None:
    clip = make_speech_clip(tmp_path / f"clip{FORMATS[fmt][2]}", 3.0, fmt)

    info = await PyAvAudioProbe().probe(clip)

    assert (info.extension, info.content_type) == EXPECTED[fmt]
    assert info.duration_sec == pytest.approx(3.0, abs=0.1)  # AAC adds ~64 ms of priming
    assert info.format_name


async def test_m4a_with_its_index_after_the_data_is_accepted(tmp_path: Path) -> None:
    clip = make_speech_clip(tmp_path / "late.m4a", 3.0, "m4a_moov_at_end")
    assert moov_after_mdat(clip)

    info = await PyAvAudioProbe().probe(clip)

    assert info.extension == "m4a"
    assert info.duration_sec == pytest.approx(3.0, abs=0.1)


async def test_the_faststart_fixture_really_has_its_index_first(tmp_path: Path) -> None:
    assert not moov_after_mdat(make_speech_clip(tmp_path / "fast.m4a", 1.0, "m4a"))


async def test_the_sample_lecture_is_an_opus_file_of_about_95_seconds() -> None:
    info = await PyAvAudioProbe().probe(SAMPLE)

    assert (info.extension, info.content_type, info.format_name) == ("opus", "audio/ogg", "ogg")
    assert info.duration_sec == pytest.approx(95.0, abs=0.5)


async def test_a_tone_is_audio_too(tmp_path: Path) -> None:
    info = await PyAvAudioProbe().probe(make_tone_clip(tmp_path / "tone.wav", 1.0))

    assert info.duration_sec == pytest.approx(1.0, abs=0.01)


async def test_text_named_mp3_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp3"
    fake.write_text("These are my lecture notes, not audio.\n" * 100)

    with pytest.raises(UnsupportedAudioError, match="Unsupported audio format"):
        await PyAvAudioProbe().probe(fake)


async def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")

    with pytest.raises(UnsupportedAudioError):
        await PyAvAudioProbe().probe(empty)


@pytest.mark.parametrize("fmt", ["wav", "opus", "mp3"])
async def test_a_fifth_of_a_second_of_audio_is_rejected(tmp_path: Path, fmt: str) -> None:
    clip = make_speech_clip(tmp_path / f"blip{FORMATS[fmt][2]}", 0.2, fmt)

    with pytest.raises(UnsupportedAudioError):
        await PyAvAudioProbe().probe(clip)


async def test_a_file_cut_short_is_accepted_and_decodes_as_far_as_it_goes(tmp_path: Path) -> None:
    whole = make_speech_clip(tmp_path / "whole.mp3", 8.0, "mp3")
    cut = truncate(whole, tmp_path / "cut.mp3", 0.5)

    await PyAvAudioProbe().probe(cut)
    seconds = decode_to_pcm(cut, tmp_path / "cut.pcm", max_duration_sec=None)

    assert 2.0 < seconds < 6.0


async def test_a_file_of_unknown_length_is_decoded_only_up_to_the_limit(tmp_path: Path) -> None:
    from pegasus_core.errors import TooLargeError
    from tests.hostile_corpus import silent_flac

    bomb = tmp_path / "bomb.flac"
    bomb.write_bytes(silent_flac(10 * 3600, declared_sec=None))  # 64 KB, 10 hours
    with pytest.raises(TooLargeError, match="longer than the allowed duration"):
        await PyAvAudioProbe().probe(bomb, max_duration_sec=60)
    assert (await PyAvAudioProbe().probe(bomb)).duration_sec > 9 * 3600  # no limit: measured
