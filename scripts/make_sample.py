"""Synthesize samples/lecture.txt with flite and encode it to samples/lecture.opus.

The sample is committed, so it must stay small: mono Ogg/Opus at a speech bitrate. flite's `rms`
voice is the one pocketsphinx's en-us model recognises best (see the keyword check in the report);
espeak-ng is far worse. Needs the Debian `flite` package: `apt-get install -y flite`.

Usage: .venv/bin/python scripts/make_sample.py [--voice rms] [--bitrate 20000] [--check]
(--check transcribes the result offline and prints K, the keywords of keywords.txt it heard.)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
from itertools import chain
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16_000  # flite's native rate; Opus codes it as wideband speech


def synthesize(text: Path, wav: Path, *, voice: str) -> None:
    """Speak the text file into a WAV file with flite."""
    flite = shutil.which("flite")
    if flite is None:
        raise SystemExit("flite is missing: apt-get install -y flite")
    subprocess.run([flite, "-voice", voice, "-f", str(text), "-o", str(wav)], check=True)


def encode_opus(wav: Path, dst: Path, *, bitrate: int) -> None:
    """Encode the WAV file to mono Ogg/Opus at the given bitrate (bits per second)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    # bitexact: a fixed Ogg serial number and no encoder tag, so re-running changes no bytes.
    with (
        av.open(str(wav)) as src,
        av.open(str(dst), "w", format="ogg", options={"fflags": "+bitexact"}) as out,
    ):
        stream = out.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = bitrate
        for frame in chain(src.decode(audio=0), [None]):  # None flushes the resampler
            for resampled in resampler.resample(frame):
                out.mux(stream.encode(resampled))
        out.mux(stream.encode(None))


async def transcribe(audio: Path) -> str:
    """Transcribe the audio with the offline engine, as a transcription job would."""
    from pegasus_adapters.offline.transcriber import PocketsphinxTranscriber

    async with (
        PocketsphinxTranscriber() as engine,
        engine.open(audio, language="en") as session,
    ):
        results = await asyncio.gather(*(session.transcribe(c) for c in session.chunks))
    return " ".join(segment.text for segments in results for segment in segments)


def check(audio: Path, keywords: Path) -> None:
    """Print how many keywords the offline transcript of the audio contains."""
    heard = set(asyncio.run(transcribe(audio)).split())
    wanted = keywords.read_text().split()
    missing = [word for word in wanted if word not in heard]
    print(f"K = {len(wanted) - len(missing)} of {len(wanted)}; missing: {', '.join(missing)}")


def main(argv: list[str] | None = None) -> None:
    """Build the sample lecture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=ROOT / "samples" / "lecture.txt")
    parser.add_argument("--out", type=Path, default=ROOT / "samples" / "lecture.opus")
    parser.add_argument("--voice", default="rms", help="flite voice (rms or slt)")
    parser.add_argument("--bitrate", type=int, default=20_000)
    parser.add_argument("--check", action="store_true", help="print the keyword recall K")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "lecture.wav"
        synthesize(args.text, wav, voice=args.voice)
        encode_opus(wav, args.out, bitrate=args.bitrate)
    with av.open(str(args.out)) as written:
        seconds = (written.duration or 0) / av.time_base
    print(f"{args.out}: {args.out.stat().st_size} bytes, {seconds:.1f} s")
    if args.check:
        check(args.out, args.text.with_name("keywords.txt"))


if __name__ == "__main__":
    main()
