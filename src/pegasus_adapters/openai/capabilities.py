"""What each OpenAI speech-to-text model accepts per request and what it answers."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ModelCapabilities:
    """The limits of one transcription model.

    Attributes:
        max_request_bytes: largest audio file one request may upload.
        max_request_sec: longest audio one request may hold (None: only the size counts).
        timestamps: the model answers `verbose_json` with timed segments; otherwise it answers
            text only (`json`) and the adapter places the text on the chunk's timeline itself.
    """

    max_request_bytes: int = 25 * MIB
    max_request_sec: float | None = None
    timestamps: bool = False


WHISPER = ModelCapabilities(timestamps=True)
GPT_4O_TRANSCRIBE = ModelCapabilities(max_request_sec=1400.0, timestamps=False)
# A model we know nothing about gets the strictest limits of the table and text-only answers,
# which every OpenAI-compatible server understands.
CONSERVATIVE = ModelCapabilities(max_request_sec=1400.0, timestamps=False)

_KNOWN: dict[str, ModelCapabilities] = {
    "whisper-1": WHISPER,
    "gpt-4o-transcribe": GPT_4O_TRANSCRIBE,
    "gpt-4o-mini-transcribe": GPT_4O_TRANSCRIBE,
}


def capabilities_for(model: str) -> ModelCapabilities:
    """Return the capabilities of a model; dated snapshots share their family's entry.

    `gpt-4o-mini-transcribe-2025-03-20` is a gpt-4o transcribe model; unknown names get
    CONSERVATIVE.
    """
    for name, caps in _KNOWN.items():
        if model == name or model.startswith(f"{name}-"):
            return caps
    return CONSERVATIVE


# ISO 639-1 codes of the languages OpenAI documents for its speech-to-text models.
_LANGUAGE_CODES = (
    "af ar hy az be bs bg ca zh hr cs da nl en et fi fr gl de el he hi hu is id it ja kn kk ko "
    "lv lt mk ms mr mi ne no fa pl pt ro ru sr sk sl es sw sv tl ta th tr uk ur vi cy"
)
LANGUAGES = frozenset(_LANGUAGE_CODES.split())
