"""The offline engine: extractive study material from a transcript, with no model or network."""

from __future__ import annotations

import asyncio
import re

from pegasus_adapters.offline.concepts import match_concepts
from pegasus_adapters.offline.keywords import Analysis, analyse
from pegasus_adapters.offline.quiz import ASK_ABOUT, WHAT_IS, build_exam, build_flashcards, phrase
from pegasus_adapters.offline.text import SHORT_WORDS, Sentence, split_parts, tidy
from pegasus_core.artifacts import (
    AnyArtifact,
    ArtifactType,
    KeyTerm,
    KeyTerms,
    Outline,
    OutlineNode,
    SourceSpan,
    Summary,
    SummarySection,
)
from pegasus_core.ports.language_model import ConceptRequest, GenerationRequest
from pegasus_core.presets import Preset
from pegasus_core.threads import Concept
from pegasus_core.transcripts import Engine, Transcript

ENGINE = Engine(provider="offline", model="extractive-v1")
_INLINE_CHARS = 20_000  # about 3,500 words, ~10 ms of work; longer runs leave the event loop

# chunking -> (sentences per outline part, most parts, points per node, bullets per section)
_GRANULARITY = {
    "very_short": (6, 30, 2, 3),
    "short": (10, 20, 3, 4),
    "medium": (15, 12, 4, 5),
    "hierarchical": (25, 8, 2, 5),
}
_MARKERS = {
    "definitions": r"\b(?:is|are) (?:a|an|the|defined|called|known)\b|\bmeans\b|\brefers? to\b"
    r"|\bknown as\b|\bdefined as\b",
    "examples": r"\bfor (?:example|instance)\b|\bsuch as\b|\be\.g\.|\bimagine\b|\bsuppose\b",
    "analogy_bank": r"\b(?:is|are) like\b|\bsimilar to\b|\bthink of\b|\bjust (?:like|as)\b"
    r"|\banalog|\bcompare\b|\blike an?\b",
    "relationships": r"\bleads? to\b|\bcauses?\b|\bresults? in\b|\brelated to\b|\baffects?\b"
    r"|\blinked\b|\bconnect|\bin turn\b|\bwhich means\b|\bbetween\b",
    "dependencies": r"\bdepends? on\b|\brequires?\b|\bneeds?\b|\bbuilds? on\b|\bbased on\b"
    r"|\bwithout\b|\bbefore\b|\bprerequisite\b",
    "misconceptions": r"\bmisconception|\bmistake|\bwrong\b|\bconfus|\bmyth\b|\bnot\b|n't\b"
    r"|\bactually\b",
    "claims": r"\bargue|\bclaim|\bi think\b|\bshows? that\b|\bsuggests?\b|\bbelieve\b"
    r"|\bimportant\b|\bmust\b|\bshould\b",
    "arguments": r"\bbecause\b|\btherefore\b|\bso that\b|\bthus\b|\bhence\b|\bsince\b"
    r"|\bwhich means\b|\bas a result\b|\bthat's why\b",
    "evidence": r"\bevidence\b|\bstudies\b|\ba study\b|\bdata\b|\bexperiment|\bresearch"
    r"|\bresults?\b|\bfound\b|\bmeasure|\bobserv|\bpercent\b|\d",
    "open_questions": r"\bunknown\b|\bunclear\b|\bopen question|\bstill\b|\bfuture\b|\bnext\b"
    r"|\bwhy\b|\bhow\b|\?",
    "examinable_points": r"\bimportant\b|\bremember\b|\bkey\b|\bexam\b|\bnote\b|\bmake sure\b"
    r"|\bessential\b|\bmain\b",
}


class ExtractiveLanguageModel:
    """LanguageModel port, offline: every sentence it returns is a transcript sentence.

    Deterministic: the same request always gives the same document. Work is linear in the
    transcript: about 0.3 s for all five artifacts of a four-hour, 40,000-word lecture, half of
    it the analysis, which is kept for the last transcript seen because the core asks for the
    five artifacts in a row. Long transcripts run in a worker thread so the event loop stays
    responsive. A transcript with no words raises
    PegasusError("Transcript is empty: nothing to generate from."), a permanent failure.
    """

    def __init__(self) -> None:
        self._last: tuple[Transcript, Analysis] | None = None

    @property
    def engine(self) -> Engine:
        """Name the offline engine."""
        return ENGINE

    def engine_for(self, model: str | None) -> Engine:
        """Name the engine: it takes no model override."""
        return ENGINE

    async def generate(self, request: GenerationRequest) -> AnyArtifact:
        """Return the artifact body of the requested type (header fields left default)."""
        size = len(request.transcript.text) + sum(len(s.text) for s in request.transcript.segments)
        if size > 2 * _INLINE_CHARS:
            return await asyncio.to_thread(self._build, request)
        return self._build(request)

    async def match_concepts(self, request: ConceptRequest) -> tuple[Concept, ...]:
        """Match the key terms with the course's threads by keyword overlap (offline.concepts)."""
        return match_concepts(request)

    def _build(self, request: GenerationRequest) -> AnyArtifact:
        last, transcript = self._last, request.transcript
        if last is not None and (last[0] is transcript or last[0] == transcript):
            return build_artifact(request, last[1])
        analysis = analyse(transcript)
        self._last = (transcript, analysis)  # one reference swap: safe across worker threads
        return build_artifact(request, analysis)


def build_artifact(request: GenerationRequest, analysis: Analysis | None = None) -> AnyArtifact:
    """Build one artifact synchronously (the pure core of ExtractiveLanguageModel).

    Pass the transcript's analysis to skip recomputing it; it must come from
    analyse(request.transcript).
    """
    analysis, preset = analysis or analyse(request.transcript), request.preset
    match request.artifact_type:
        case ArtifactType.SUMMARY:
            return build_summary(analysis, preset)
        case ArtifactType.OUTLINE:
            return build_outline(analysis, preset)
        case ArtifactType.KEY_TERMS:
            return build_key_terms(analysis, preset)
        case ArtifactType.FLASHCARDS:
            return build_flashcards(analysis, preset)
        case ArtifactType.EXAM_QUESTIONS:
            return build_exam(analysis, preset)


def _granularity(preset: Preset) -> tuple[int, int, int, int]:
    return _GRANULARITY.get(preset.output_profile.chunking, _GRANULARITY["medium"])


def _spans(sentences: list[Sentence]) -> tuple[SourceSpan, ...]:
    return tuple(dict.fromkeys(s.span for s in sentences))


def _words(text: str) -> int:
    return len(text.split())


def build_summary(analysis: Analysis, preset: Preset) -> Summary:
    """Return an overview and one section per preset section, within summary_max_words.

    The overview takes about a quarter of the word budget (top-ranked sentences, in lecture
    order); sections share the rest. Every section has at least one bullet even when that
    bullet alone is over its share, and a sentence is used once unless the lecture is too
    short to fill every section.
    """
    budget = preset.generation.summary_max_words
    chosen = _fill(analysis, list(analysis.ranked), max(30, budget // 4), 6, set())
    overview = " ".join(s.display for s in sorted(chosen, key=lambda s: s.index))
    section_ids = preset.output_profile.sections or ("key_points",)
    share = max(1, (budget - _words(overview)) // len(section_ids))
    # Sections that look for a kind of sentence (definitions, examples) pick before the
    # generic ones, which would otherwise take those sentences for their high rank. Only the
    # generic ones avoid the overview's sentences: a definition belongs under Definitions.
    in_overview, used = {s.index for s in chosen}, set[int]()
    built = {}
    for sid in sorted(section_ids, key=lambda sid: sid not in _MARKERS):
        generic = sid not in _MARKERS or sid == "examinable_points"
        built[sid], taken = _section(
            analysis, preset, sid, share, used | in_overview if generic else used
        )
        used.update(taken)
    return Summary(overview=overview, sections=tuple(built[sid] for sid in section_ids))


def _fill(
    analysis: Analysis, order: list[int], budget: int, limit: int, used: set[int]
) -> list[Sentence]:
    """Take sentences in order, skipping used ones, while they fit the budget (first always)."""
    taken: list[Sentence] = []
    seen = set(used)  # the order may list a sentence twice; take it once
    words = 0
    for index in order:
        sentence = analysis.sentences[index]
        length = _words(sentence.text)
        if index in seen or (taken and words + length > budget):
            continue
        seen.add(index)
        taken.append(sentence)
        words += length
        if len(taken) == limit:
            break
    return taken or [analysis.sentences[order[0] if order else analysis.ranked[0]]]


def _section(
    analysis: Analysis, preset: Preset, section_id: str, budget: int, exclude: set[int]
) -> tuple[SummarySection, list[int]]:
    """Build one section avoiding excluded sentences; return it and the sentences it took."""
    title = section_id.replace("_", " ").strip().capitalize() or "Key points"
    limit = _granularity(preset)[3]
    if section_id in ("likely_questions", "recall_prompts", "key_terms"):
        bullets, sources = _derived(analysis, preset, section_id, limit, budget)
        return SummarySection(title=title, bullets=bullets, source_spans=_spans(sources)), []
    order = list(analysis.ranked)
    if section_id == "overview":
        # One leading sentence per stretch of the lecture: coverage rather than peaks.
        runs = split_parts(analysis.sentences, 0, len(order), limit)
        order = [i for run in runs for i in sorted(run, key=lambda i: -analysis.scores[i])[:1]]
        order += list(analysis.ranked)
    elif section_id in _MARKERS:
        marker = re.compile(_MARKERS[section_id])
        order.sort(key=lambda i: marker.search(analysis.sentences[i].lower) is None)
    if section_id == "micro_chunks" or preset.output_profile.chunking == "very_short":
        order.sort(key=lambda i: len(analysis.sentences[i].words) > SHORT_WORDS)
    taken = _fill(analysis, order, budget, limit, exclude)
    if section_id == "overview":
        taken.sort(key=lambda s: s.index)
    bullets = tuple(s.display for s in taken)
    return SummarySection(title=title, bullets=bullets, source_spans=_spans(taken)), [
        s.index for s in taken
    ]


def _derived(
    analysis: Analysis, preset: Preset, section_id: str, limit: int, budget: int
) -> tuple[tuple[str, ...], list[Sentence]]:
    """Build question, prompt or term bullets from the top keywords and their sentences.

    Key terms the lecture actually defines come first; the others are listed by rank after them.
    """
    bullets: list[str] = []
    sources: list[Sentence] = []
    tone = preset.generation.tone
    found = [(k, *analysis.definition(k)) for k in analysis.keywords[: 3 * limit]]
    if section_id == "key_terms":
        found.sort(key=lambda entry: not entry[2])
    for keyword, sentence, defines in found[:limit]:
        if section_id == "key_terms":
            bullet = f"{keyword.term[:1].upper()}{keyword.term[1:]}: {sentence.display}"
        elif section_id == "recall_prompts" and not defines:
            opening = " ".join(sentence.text.split()[:6])
            bullet = f"Finish the sentence: {tidy(opening, end='')} ..."
        else:
            bullet = phrase(WHAT_IS if defines else ASK_ABOUT, tone, term=keyword.term)
        if bullets and _words(" ".join([*bullets, bullet])) > budget:
            break
        bullets.append(bullet)
        sources.append(sentence)
    return tuple(bullets), sources


def build_outline(analysis: Analysis, preset: Preset) -> Outline:
    """Return the lecture cut into topical parts by time, each titled by its keywords.

    Granularity follows output_profile.chunking: very_short gives many small parts, medium a
    few larger ones, and hierarchical a few parts whose children are subparts.
    """
    per_part, most, points, _ = _granularity(preset)
    count = len(analysis.sentences)
    runs = split_parts(analysis.sentences, 0, count, min(most, max(1, count // per_part)))
    nodes = []
    for run in runs:
        children: tuple[OutlineNode, ...] = ()
        if preset.output_profile.chunking == "hierarchical" and len(run) >= 6:
            subruns = split_parts(analysis.sentences, run.start, run.stop, min(4, len(run) // 3))
            children = tuple(_node(analysis, sub, points, preset) for sub in subruns)
        nodes.append(_node(analysis, run, 1 if children else points, preset, children))
    return Outline(outline=tuple(nodes))


def _node(
    analysis: Analysis,
    run: range,
    points: int,
    preset: Preset,
    children: tuple[OutlineNode, ...] = (),
) -> OutlineNode:
    key = analysis.best_in(run, points, short_first=preset.output_profile.chunking == "very_short")
    topics = analysis.topics(run, 3)
    if topics:
        title = topics[0] if len(topics) == 1 else f"{', '.join(topics[:-1])} and {topics[-1]}"
    else:
        title = " ".join(key[0].text.split()[:6])
    return OutlineNode(
        title=title[:1].upper() + title[1:],
        points=tuple(s.display for s in key),
        children=children,
        source_spans=_spans(key),
    )


def build_key_terms(analysis: Analysis, preset: Preset) -> KeyTerms:
    """Return up to flashcard_count terms, each spoken verbatim in the lecture, with definitions.

    The definition is the sentence that defines the term ("X is ...") or, failing that, the
    best-ranked sentence that uses it; the example, if any, is another sentence using it.
    """
    terms = []
    keywords = [k for k in analysis.keywords if analysis.contains(k.term)] or analysis.keywords[:1]
    for keyword in keywords[: max(1, preset.generation.flashcard_count)]:
        sentence, _ = analysis.definition(keyword)
        example = analysis.example(keyword, sentence)
        terms.append(
            KeyTerm(
                term=keyword.term,
                definition=sentence.display,
                example=example.display if example else None,
                source_spans=(sentence.span,),
            )
        )
    return KeyTerms(terms=tuple(terms))
