"""Benchmark map-reduce generation on a four-hour transcript against the loopback chat server.

A synthetic 40,000-word transcript (about 4 hours of speech at 2.8 words/s, 12-word segments)
with one long term planted in each tenth is generated into all five artifacts by the
OpenAI adapter (the real `openai` client) against tests/fake_openai's server, which answers
instantly: the figures are the adapter's own work (planning, prompts, HTTP, parsing), the
number and size of requests, and coverage. The baseline is the offline extractive engine on
the same transcript in the same run (a ratio).

Run: .venv/bin/python bench/openai_generation.py [--words 40000] [--budget 12000]
Exits 0 even when a target is missed; non-zero only on a crash.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_openai.chat_server import running_chat_server

from pegasus_adapters.offline.generator import ExtractiveLanguageModel
from pegasus_adapters.openai.language_model import OpenAILanguageModel
from pegasus_adapters.openai.prompts import estimate_tokens
from pegasus_core.artifacts import ArtifactType
from pegasus_core.coverage import cited_spans, coverage
from pegasus_core.ports.language_model import GenerationRequest, LanguageModel
from pegasus_core.presets import BUILTIN_PRESETS
from pegasus_core.transcripts import Engine, Segment, Transcript

FILLER = "so today we look at how the cell uses its many parts to make and move what it needs"


def build_transcript(words: int) -> tuple[Transcript, list[str]]:
    planted = [f"plantedterm{chr(97 + i)}" for i in range(10)]
    filler = FILLER.split()
    text = [filler[i % len(filler)] for i in range(words)]
    for tenth, term in enumerate(planted):
        text[tenth * words // 10 + words // 20] = term
    segments = []
    for index in range(0, words, 12):
        start = index / 2.8
        chunk = text[index : index + 12]
        end = start + len(chunk) / 2.8
        segments.append(
            Segment(start_sec=round(start, 2), end_sec=round(end, 2), text=" ".join(chunk))
        )
    transcript = Transcript(
        lecture_id="bench",
        language="en",
        engine=Engine(provider="scripted", model="scripted"),
        text=" ".join(text),
        segments=tuple(segments),
    )
    return transcript, planted


async def run(llm: LanguageModel, transcript: Transcript) -> tuple[float, list[object]]:
    started = time.perf_counter()
    docs = []
    for kind in ArtifactType:
        request = GenerationRequest(
            artifact_type=kind,
            transcript=transcript,
            preset=BUILTIN_PRESETS["exam-mode"],
            lecture_title="Cells",
            course_title="Biology",
        )
        docs.append(await llm.generate(request))
    return time.perf_counter() - started, docs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=40_000)
    parser.add_argument("--budget", type=int, default=12_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    transcript, planted = build_transcript(args.words)
    hours = transcript.segments[-1].end_sec / 3600
    tokens = estimate_tokens(transcript.text)
    print(f"transcript: {args.words} words, {hours:.1f} h, ~{tokens} tokens, budget {args.budget}")

    offline_sec, _ = await run(ExtractiveLanguageModel(), transcript)
    with running_chat_server() as server:
        llm = OpenAILanguageModel(
            api_key=server.api_key,
            model="bench",
            base_url=server.base_url,
            token_budget=args.budget,
        )
        try:
            openai_sec, docs = await run(llm, transcript)
        finally:
            await llm.aclose()
        requests = server.requests
    sizes = [sum(estimate_tokens(m["content"]) for m in r["messages"]) for r in requests]
    per_type = {
        kind.value: sum(
            1 for r in requests if r["response_format"]["json_schema"]["name"] == kind.value
        )
        for kind in ArtifactType
    }
    found = json.dumps([str(d) for d in docs])
    missing = [term for term in planted if term not in found]
    overall = coverage(transcript, (s for d in docs for s in cited_spans(d)))  # type: ignore[arg-type]
    print(
        f"requests: {len(requests)} ({per_type}); largest {max(sizes)} tokens "
        f"= {max(sizes) / args.budget:.2f} of the budget "
        f"-> {'PASS' if max(sizes) <= args.budget else 'FAIL'}"
    )
    print(
        f"coverage of the transcript by the artifacts' sourceSpans: {overall:.4f} "
        f"-> {'PASS' if overall == 1.0 else 'FAIL'}"
    )
    print(
        f"planted terms missing from the artifacts: {missing} "
        f"-> {'PASS' if not missing else 'FAIL'}"
    )
    print(
        f"wall time: openai adapter {openai_sec:.2f} s, offline engine {offline_sec:.2f} s "
        f"(ratio {openai_sec / offline_sec:.2f}x; the chat server answers instantly)"
    )


if __name__ == "__main__":
    asyncio.run(main())
