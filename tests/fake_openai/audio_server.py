"""A loopback server speaking OpenAI's POST /v1/audio/transcriptions where it matters.

It parses the multipart upload, decodes every file with PyAV, enforces the real limits (25 MiB
per file; 1400 s for the gpt-4o transcribe models, which also refuse verbose_json), and answers
one segment per speech burst (energy-based detection on the decoded audio) with chunk-relative
times. What each burst "says" comes from a voice the test registers: a function of the burst
(its times, its dominant frequency, its index in the request). Tests can queue error responses
(429, 500, 401, ...) and read every request the server saw.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import multipart
import numpy as np

MAX_FILE_BYTES = 25 * 1024 * 1024
GPT_4O_MAX_SEC = 1400.0
TIMESTAMP_MODELS = frozenset({"whisper-1"})
TEXT_ONLY_MODELS = frozenset({"gpt-4o-transcribe", "gpt-4o-mini-transcribe"})

_FRAME_SEC = 0.02
_MERGE_GAP_SEC = 0.3  # dips shorter than this are pauses inside a sentence
_MIN_BURST_SEC = 0.1


@dataclass(frozen=True)
class Burst:
    """A stretch of sound in one uploaded file; times are relative to that file's start."""

    index: int
    start_sec: float
    end_sec: float
    hz: float


Voice = Callable[[Burst], str]


@dataclass(frozen=True)
class Received:
    """What one request to the server carried (answered or refused)."""

    model: str
    response_format: str
    prompt: str
    language: str
    size_bytes: int
    duration_sec: float | None
    status: int
    text: str = ""
    filename: str = ""


@dataclass(frozen=True)
class Failure:
    """A queued error response."""

    status: int
    message: str
    retry_after_ms: int | None = None


@dataclass
class AudioServerState:
    """What the test controls and observes; shared with the handler threads."""

    api_key: str = "sk-test"
    voice: Voice = field(default=lambda burst: f"Burst {burst.index}.")
    received: list[Received] = field(default_factory=list)
    failures: dict[int, Failure] = field(default_factory=dict)  # by request number, from 0
    arrivals: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        after: int = 0,
        message: str = "",
        retry_after_ms: int | None = None,
    ) -> None:
        """Answer `times` requests with this error, once `after` more requests have arrived."""
        failure = Failure(status, message or HTTPStatus(status).phrase, retry_after_ms)
        with self.lock:
            first = self.arrivals + after
            self.failures.update(dict.fromkeys(range(first, first + times), failure))

    def answered(self) -> list[Received]:
        """Return the requests that got a transcript, in arrival order."""
        with self.lock:
            return [r for r in self.received if r.status == 200]

    def _arrive(self) -> Failure | None:
        with self.lock:
            self.arrivals += 1
            return self.failures.pop(self.arrivals - 1, None)


class AudioServer:
    """The running server: `base_url` for the openai client, `state` for the test."""

    def __init__(self, httpd: ThreadingHTTPServer, state: AudioServerState) -> None:
        self.httpd = httpd
        self.state = state

    @property
    def base_url(self) -> str:
        """Return the URL to give AsyncOpenAI(base_url=...)."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"


@contextmanager
def serve_audio(state: AudioServerState | None = None) -> Iterator[AudioServer]:
    """Run the server on a free port of 127.0.0.1 in a thread for the duration of the block."""
    state = state or AudioServerState()
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="fake-openai-audio", daemon=True)
    thread.start()
    try:
        yield AudioServer(httpd, state)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def decode(data: bytes) -> tuple[np.ndarray[Any, Any], int]:
    """Decode audio to mono float samples at its own rate; raise ValueError if it is not audio."""
    pieces: list[bytes] = []
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            rate = container.streams.audio[0].codec_context.sample_rate
            # Mono packed float in 10 s frames: one cheap conversion, few Python-level frames.
            resampler = av.AudioResampler(
                format="flt", layout="mono", rate=rate, frame_size=rate * 10
            )
            for frame in [*container.decode(audio=0), None]:
                for out in resampler.resample(frame):
                    pieces.append(bytes(out.planes[0])[: out.samples * 4])
    except av.FFmpegError as exc:
        raise ValueError(str(exc)) from exc
    if not pieces:
        raise ValueError("no audio decoded")
    return np.frombuffer(b"".join(pieces), dtype=np.float32), rate


def detect_bursts(samples: np.ndarray[Any, Any], rate: int) -> list[Burst]:
    """Find speech bursts: 20 ms frames above a threshold set between noise floor and speech."""
    size = round(rate * _FRAME_SEC)
    count = len(samples) // size
    if count == 0:
        return []
    levels = np.abs(samples[: count * size]).reshape(count, size).mean(axis=1)
    floor, speech = np.percentile(levels, 5), np.percentile(levels, 90)
    if speech <= floor * 1.5 + 1e-4:
        return []
    loud = levels > floor + 0.15 * (speech - floor)
    edges = np.diff(np.concatenate(([0], loud.astype(np.int8), [0])))
    runs = list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))
    merged: list[list[int]] = []
    for start, end in runs:
        if merged and (start - merged[-1][1]) * _FRAME_SEC < _MERGE_GAP_SEC:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    bursts = []
    for start, end in merged:
        if (end - start) * _FRAME_SEC < _MIN_BURST_SEC:
            continue
        middle = (start + end) * size // 2  # the tone of the burst's middle half second
        piece = samples[max(start * size, middle - rate // 4) : min(end * size, middle + rate // 4)]
        spectrum = np.abs(np.fft.rfft(piece))
        hz = float(np.argmax(spectrum[1:]) + 1) * rate / len(piece)
        bursts.append(
            Burst(len(bursts), round(start * _FRAME_SEC, 3), round(end * _FRAME_SEC, 3), hz)
        )
    return bursts


class _Handler(BaseHTTPRequestHandler):
    state: AudioServerState
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/audio/transcriptions":
            self._error(404, "Unknown URL.", "invalid_request_error")
            return
        fields, upload, filename = self._form(body)
        received = {
            "filename": filename,
            "model": fields.get("model", ""),
            "response_format": fields.get("response_format", "json"),
            "prompt": fields.get("prompt", ""),
            "language": fields.get("language", ""),
            "size_bytes": len(upload),
            "duration_sec": None,
            "text": "",
        }
        status, answer = self._answer(received, upload)
        with self.state.lock:
            self.state.received.append(Received(**received, status=status))
        self._send(status, answer)

    def _answer(self, received: dict[str, Any], upload: bytes) -> tuple[int, dict[str, Any]]:
        state = self.state
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            return _problem(401, "Incorrect API key provided.", "invalid_api_key")
        failure = state._arrive()
        if failure is not None:
            self._retry_after = failure.retry_after_ms
            return _problem(failure.status, failure.message, "injected")
        model, response_format = received["model"], received["response_format"]
        if model not in TIMESTAMP_MODELS | TEXT_ONLY_MODELS:
            return _problem(404, f"The model `{model}` does not exist.", "model_not_found")
        if model in TEXT_ONLY_MODELS and response_format not in ("json", "text"):
            message = f"response_format '{response_format}' is not compatible with model"
            return _problem(400, message, "unsupported_value")
        if len(upload) > MAX_FILE_BYTES:
            return _problem(413, "Maximum content size limit (26214400) exceeded.", "too_large")
        try:
            samples, rate = decode(upload)
        except ValueError:
            return _problem(400, "Invalid file format.", "invalid_value")
        duration = len(samples) / rate
        received["duration_sec"] = duration
        if model in TEXT_ONLY_MODELS and duration > GPT_4O_MAX_SEC:
            message = f"audio duration {duration:.1f} seconds is longer than 1400 seconds"
            return _problem(400, message, "audio_too_long")
        segments = [
            {
                "id": burst.index,
                "seek": 0,
                "start": burst.start_sec,
                "end": burst.end_sec,
                "text": " " + state.voice(burst),
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.3,
                "no_speech_prob": 0.01,
            }
            for burst in detect_bursts(samples, rate)
        ]
        text = "".join(s["text"] for s in segments).strip()
        received["text"] = text
        if response_format == "verbose_json":
            language = received["language"] or "english"
            return 200, {
                "task": "transcribe",
                "language": language,
                "duration": duration,
                "text": text,
                "segments": segments,
            }
        return 200, {"text": text}

    def _form(self, body: bytes) -> tuple[dict[str, str], bytes, str]:
        _, options = multipart.parse_options_header(self.headers.get("Content-Type", ""))
        fields: dict[str, str] = {}
        upload, filename = b"", ""
        parser = multipart.MultipartParser(
            io.BytesIO(body), options.get("boundary", ""), len(body), mem_limit=2**27
        )
        for part in parser:
            if part.filename is not None and part.name == "file":
                upload, filename = part.raw, part.filename
            else:
                fields[part.name] = part.value
        return fields, upload, filename

    _retry_after: int | None = None

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self._retry_after is not None:
            self.send_header("retry-after-ms", str(self._retry_after))
            self._retry_after = None
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str) -> None:
        self._send(*_problem(status, message, code))


def _problem(status: int, message: str, code: str) -> tuple[int, dict[str, Any]]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}
