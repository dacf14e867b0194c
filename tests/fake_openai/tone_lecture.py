"""A procedural lecture with known truth: sentences are tone bursts, pauses are room noise.

Each sentence is a tone whose frequency encodes one of CODES sentence texts (never the same code
twice in a row, so a sentence duplicated at a chunk boundary shows), amplitude-modulated like
syllables, with short word gaps inside; pauses between sentences are 0.5-1.6 s of quiet noise.
The whole file is synthesised and encoded in one pass (8 kHz mono FLAC: cheap to write and to
read, so the time goes to the code under test), and every sentence's
true onset is recorded. `voice` lets the fake server say each burst's sentence; `compare`
checks stitched segments against the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from pegasus_core.transcripts import Segment
from tests.fake_openai.audio_server import Burst

RATE = 8_000
BASE_HZ, STEP_HZ, CODES = 400.0, 150.0, 16
TEXTS = tuple(
    f"{topic} is the subject of sentence type {code}."
    for code, topic in enumerate(
        [
            "Photosynthesis",
            "Respiration",
            "Mitosis",
            "Meiosis",
            "Osmosis",
            "Diffusion",
            "Enzymes",
            "Glucose",
            "Chlorophyll",
            "Mitochondria",
            "Ribosomes",
            "Proteins",
            "Genes",
            "Evolution",
            "Ecology",
            "Homeostasis",
        ]
    )
)
TOLERANCE_SEC = 0.5


@dataclass(frozen=True)
class Sentence:
    """One sentence of the lecture: when it starts and ends, and what it says."""

    onset_sec: float
    end_sec: float
    code: int

    @property
    def text(self) -> str:
        """Return what the sentence says."""
        return TEXTS[self.code]


def build_tone_lecture(dst: Path, seconds: float, *, seed: int = 6) -> list[Sentence]:
    """Write about `seconds` of lecture to dst (FLAC) and return its sentences in order."""
    rng = np.random.default_rng(seed)
    sentences: list[Sentence] = []
    with av.open(str(dst), "w", format="flac") as out:
        stream: Any = out.add_stream("flac", rate=RATE, layout="mono")
        at, code = 0, -1
        while at < seconds * RATE:
            pause = _noise(rng, rng.uniform(0.5, 1.6))
            code = (code + int(rng.integers(1, CODES))) % CODES  # never the previous code
            tone = _sentence(rng, BASE_HZ + STEP_HZ * code, rng.uniform(1.5, 8.0))
            onset = at + len(pause)
            sentences.append(Sentence(onset / RATE, (onset + len(tone)) / RATE, code))
            block = np.concatenate((pause, tone))
            out.mux(stream.encode(_frame(block, at)))
            at += len(block)
        out.mux(stream.encode(_frame(_noise(rng, 1.0), at)))
        out.mux(stream.encode(None))
    return sentences


def voice(burst: Burst) -> str:
    """Say the sentence whose code the burst's frequency carries."""
    code = round((burst.hz - BASE_HZ) / STEP_HZ)
    return TEXTS[code] if 0 <= code < CODES else f"Unknown tone at {burst.hz:.0f} Hz."


@dataclass(frozen=True)
class StitchReport:
    """How stitched segments compare with the lecture's true sentences."""

    sentences: int
    matched: int
    lost: int
    extra: int
    max_onset_error_sec: float


def compare(segments: list[Segment], sentences: list[Sentence]) -> StitchReport:
    """Pair segments with sentences in order (same text, onset within TOLERANCE_SEC).

    A sentence with no partner is lost; a segment with no partner is extra (a duplicate or a
    fragment of a sentence cut in two).
    """
    i = j = matched = 0
    worst = 0.0
    lost = extra = 0
    while i < len(sentences) and j < len(segments):
        truth, seg = sentences[i], segments[j]
        error = abs(seg.start_sec - truth.onset_sec)
        if seg.text == truth.text and error <= TOLERANCE_SEC:
            matched, worst, i, j = matched + 1, max(worst, error), i + 1, j + 1
        elif seg.start_sec < truth.onset_sec:
            extra, j = extra + 1, j + 1
        else:
            lost, i = lost + 1, i + 1
    lost += len(sentences) - i
    extra += len(segments) - j
    return StitchReport(len(sentences), matched, lost, extra, round(worst, 3))


def _sentence(rng: np.random.Generator, hz: float, seconds: float) -> np.ndarray[Any, Any]:
    """A tone at hz, modulated at a syllable rate, with word gaps of 60-100 ms inside."""
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    envelope = 0.7 + 0.3 * np.sin(2 * math.pi * rng.uniform(3.0, 5.0) * t)
    at = round(rng.uniform(0.3, 0.7) * RATE)
    while at < n - RATE // 2:  # no gap in the last half second: the sentence ends on sound
        envelope[at : at + round(rng.uniform(0.06, 0.1) * RATE)] = 0.0
        at += round(rng.uniform(0.3, 0.7) * RATE)
    fade = min(n // 2, RATE // 100)  # 10 ms ramps: no clicks
    envelope[:fade] *= np.linspace(0, 1, fade)
    envelope[n - fade :] *= np.linspace(1, 0, fade)
    tone = 9000 * envelope * np.sin(2 * math.pi * hz * t)
    return (tone + rng.normal(0, 40, n)).astype(np.int16)


def _frame(samples: np.ndarray[Any, Any], pts: int) -> Any:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts = RATE, pts
    return frame


def _noise(rng: np.random.Generator, seconds: float) -> np.ndarray[Any, Any]:
    return rng.normal(0, 40, round(seconds * RATE)).astype(np.int16)
