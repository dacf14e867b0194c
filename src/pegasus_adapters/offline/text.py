"""Text analysis for the offline generator: sentence units, ranking, keywords and topical parts.

Everything here is pure and deterministic. Sets are used for membership only and never iterated
into output (string hashing differs between processes); ties are broken by position.
"""

from __future__ import annotations

import itertools
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pegasus_core.artifacts import SourceSpan
from pegasus_core.transcripts import Transcript

MIN_WORDS = 5  # shorter stretches of speech are merged into their neighbour
MAX_WORDS = 40  # longer ones are cut into even pieces so that a bullet stays readable
SHORT_WORDS = 18  # a "short" bullet for low-clutter presets

WORD = re.compile(r"[^\W_]+(?:[-'\u2019][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]\u2019\u201d]*\s+")
_DEFINING = re.compile(
    r"\b(?:is|are) (?:a|an|the|defined|called|known|what|when|how)\b|\bmeans\b|\brefers? to\b"
    r"|\bknown as\b|\bdefined as\b|\bwe call\b"
)
_STOPWORD_TEXT = """
    a about above actually after again against all almost also alright although always am an
    and another any anyone anything are aren't around as ask at away back basically be because
    been before being below between both but by call called can can't come comes could couldn't
    did didn't do does doesn't doing don't done down during each either else enough even ever
    every everybody everyone everything example exactly few first for from get gets getting give
    given go goes going gonna good got had hasn't have haven't having he her here hers herself him
    himself his how however i i'd i'll i'm i've if in instance into is isn't it it's its itself
    just keep kind know known last later least let let's like look looking lot lots make makes
    making many may maybe me mean means might more most much must my myself need next no nor not
    nothing now of off often oh ok okay on once one only or other others otherwise our ours out
    over own part pretty probably put quite rather really right said same say saying says second
    see seen she should so some somebody someone something sometimes sort still stuff such sure
    take takes talk talked talking tell than thank thanks that that's the their theirs them then
    there there's these they they're thing things think third this those though through thus
    to today together too took two uh um under until up upon us use used uses using very want
    wanted wants was wasn't way ways we we'll we're we've well went were weren't what what's
    when where whether which while who whole whom why will with within without won't would
    wouldn't yeah yes yet you you'll you're you've your yours yourself"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_LEADING_FILLERS = frozenset(
    ["so", "um", "uh", "okay", "ok", "and", "well", "now", "right", "alright", "oh", "yeah", "like"]
)
_TRAILING_FILLERS = frozenset(["so", "um", "uh", "okay", "ok", "right", "yeah", "and"])
# Unpunctuated speech asks a question when it opens like one. A bare "is ..." is more often
# the rest of a sentence cut at a pause, so an auxiliary needs a subject after it.
_QUESTION = re.compile(
    r"why\b|(?:do|does|did|can|could|should|would|will|is|are) (?:you|we|i|it|this|that|they"
    r"|there)\b|(?:what|how|which|who|where|when) (?:is|are|does|do|did|can|could|would|will"
    r"|should)\b"
)
_STANDALONE_I = re.compile(r"\bi(?=\b|'[a-z]+\b)")


def is_content(token: str) -> bool:
    """Return whether a lower-case token carries meaning (no stopword, number or short word)."""
    return len(token) >= 3 and not token[0].isdigit() and token not in STOPWORDS


def tidy(text: str, end: str = ".") -> str:
    """Collapse whitespace, capitalise the first letter and "i", and end with punctuation."""
    out = " ".join(text.split()).rstrip(",;:-")
    if not out:
        return out
    out = _STANDALONE_I.sub("I", out)
    if out[-1] not in ".!?":
        out += end
    return out[0].upper() + out[1:]


def timestamp(seconds: float) -> str:
    """Format seconds as m:ss (or h:mm:ss) for explanations."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence-like unit: verbatim transcript text (whitespace collapsed) and its times."""

    index: int
    text: str
    start: float
    end: float
    words: tuple[str, ...]
    content: tuple[str, ...]

    @property
    def lower(self) -> str:
        """Return the text in lower case, for pattern matching."""
        return self.text.lower()

    @property
    def span(self) -> SourceSpan:
        """Return where the sentence sits on the lecture's timeline."""
        return SourceSpan(start_sec=self.start, end_sec=self.end)

    @property
    def is_question(self) -> bool:
        """Return whether the sentence asks something (by its mark, or its opening if unmarked)."""
        if self.text[-1] in ".!?":
            return self.text[-1] == "?"
        return _QUESTION.match(self.lower) is not None

    @property
    def display(self) -> str:
        """Return the sentence tidied for display: capitalised, ending in "." or "?"."""
        return tidy(self.text, "?" if self.is_question else ".")

    @property
    def is_defining(self) -> bool:
        """Return whether the sentence reads like a definition ("X is a ...")."""
        return _DEFINING.search(self.lower) is not None


def split_sentences(transcript: Transcript) -> list[Sentence]:
    """Cut the transcript into sentence units with times interpolated inside their segments.

    Punctuated text (scripted engines) is cut at sentence punctuation. Unpunctuated text
    (pocketsphinx) is cut at segment boundaries, i.e. at pauses. Either way, fragments are
    merged into a neighbour, units longer than MAX_WORDS are cut, and every unit's text is a
    verbatim slice of the segments joined with single spaces (the transcript's running text).
    """
    segments = [(s.start_sec, s.end_sec, " ".join(s.text.split())) for s in transcript.segments]
    segments = [s for s in segments if s[2]]
    if not segments and transcript.text.strip():
        segments = [(0.0, 0.0, " ".join(transcript.text.split()))]
    bounds: list[tuple[int, int, float, float]] = []
    pos = 0
    for start, end, text in segments:
        bounds.append((pos, pos + len(text), start, end))
        pos += len(text) + 1
    joined = " ".join(text for _, _, text in segments)
    marks = len(_SENTENCE_END.findall(joined + " "))
    punctuated = marks > 0 and marks >= len(joined.split()) // 60
    if punctuated:
        cuts = [m.end() for m in _SENTENCE_END.finditer(joined)] + [len(joined)]
        pieces, prev = [], 0
        for cut in cuts:
            pieces.append((prev, cut))
            prev = cut
    else:
        pieces = [(cs, ce) for cs, ce, _, _ in bounds]
    starts = [b[0] for b in bounds]
    sentences: list[Sentence] = []
    # Punctuated sentences stand alone from three words ("Glucose is sugar."); a pause-cut
    # stretch of speech needs MIN_WORDS to be more than a fragment.
    merged = _merge_short(pieces, joined, 3 if punctuated else MIN_WORDS)
    units = [p for piece in merged for p in _split_long(piece, joined)]
    for cs, ce in units:
        words = [m.span() for m in re.finditer(r"\S+", joined[cs:ce])]
        lo, hi = 0, len(words)
        while hi - lo > 3 and _bare(joined, cs, words[lo]) in _LEADING_FILLERS:
            lo += 1
        while hi - lo > 3 and _bare(joined, cs, words[hi - 1]) in _TRAILING_FILLERS:
            hi -= 1
        if lo >= hi:
            continue
        s, e = cs + words[lo][0], cs + words[hi - 1][1]
        text = joined[s:e]
        tokens = tuple(m.group().lower() for m in WORD.finditer(text))
        if not tokens:  # only punctuation or symbols: nothing to study
            continue
        sentences.append(
            Sentence(
                index=len(sentences),
                text=text,
                start=_time_at(bounds, starts, s),
                end=_time_at(bounds, starts, e),
                words=tokens,
                content=tuple(t for t in tokens if is_content(t)),
            )
        )
    return sentences


def _bare(joined: str, offset: int, word: tuple[int, int]) -> str:
    return joined[offset + word[0] : offset + word[1]].lower().strip(",.;:!?")


def _merge_short(
    pieces: Sequence[tuple[int, int]], joined: str, min_words: int
) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for cs, ce in pieces:
        current = (current[0] if current else cs, ce)
        if len(joined[current[0] : current[1]].split()) >= min_words:
            merged.append(current)
            current = None
    if current is not None:
        # A short tail joins the unit before it, or stands alone in a tiny transcript.
        merged[-1:] = [(merged[-1][0], current[1])] if merged else [current]
    return merged


def _split_long(piece: tuple[int, int], joined: str) -> list[tuple[int, int]]:
    cs, ce = piece
    words = [m.span() for m in re.finditer(r"\S+", joined[cs:ce])]
    if len(words) <= MAX_WORDS:
        return [piece]
    count = math.ceil(len(words) / (MAX_WORDS * 3 // 4))
    cuts = [0]
    for k in range(1, count):
        target = round(k * len(words) / count)
        # Prefer to cut after a comma near the even point, so each piece reads as a clause.
        near = [i for i in range(target - 4, target + 5) if cuts[-1] < i < len(words)]
        commas = [i for i in near if joined[cs + words[i - 1][1] - 1] in ",;:"]
        cuts.append(min(commas, key=lambda i: abs(i - target)) if commas else target)
    cuts.append(len(words))
    return [(cs + words[a][0], cs + words[b - 1][1]) for a, b in itertools.pairwise(cuts)]


def _time_at(
    bounds: Sequence[tuple[int, int, float, float]], starts: list[int], char: int
) -> float:
    cs, ce, t0, t1 = bounds[max(0, bisect_right(starts, char) - 1)]
    fraction = min(max((char - cs) / (ce - cs), 0.0), 1.0) if ce > cs else 0.0
    return round(t0 + fraction * (t1 - t0), 3)


def rank_sentences(sentences: Sequence[Sentence]) -> list[float]:
    """Score each sentence by the corpus frequency of its content words (keyword centrality).

    Words said only once add nothing; the square-root length norm favours full statements over
    fragments without letting run-on units win; definitions get a bonus as the most studyable.
    """
    freq = Counter(token for s in sentences for token in s.content)
    top = max(freq.values(), default=1)
    scores = []
    for s in sentences:
        raw = sum(freq[t] for t in dict.fromkeys(s.content) if freq[t] > 1) / top
        score = raw / math.sqrt(max(len(s.words), 4))
        if len(s.words) < 6:
            score *= 0.5
        if s.is_defining:
            score *= 1.3
        scores.append(score)
    return scores


def gap_similarity(sentences: Sequence[Sentence], gap: int, window: int = 4) -> float:
    """Return the cosine similarity of the words just before and just after a gap (TextTiling)."""
    before = Counter(t for s in sentences[max(0, gap - window) : gap] for t in s.content)
    after = Counter(t for s in sentences[gap : gap + window] for t in s.content)
    dot = sum(count * after[t] for t, count in before.items() if t in after)
    norm = math.sqrt(sum(c * c for c in before.values()) * sum(c * c for c in after.values()))
    return dot / norm if norm else 0.0


def split_parts(sentences: Sequence[Sentence], lo: int, hi: int, parts: int) -> list[range]:
    """Cut sentences[lo:hi] into about `parts` runs, each cut placed at a lexical valley.

    Cuts start at even positions and move (within a third of a part) to the gap whose two sides
    share the fewest words, so parts follow topic shifts rather than the clock alone.
    """
    parts = max(1, min(parts, hi - lo))
    cuts = [lo]
    for k in range(1, parts):
        target = lo + round(k * (hi - lo) / parts)
        radius = max(1, (hi - lo) // (3 * parts))
        first, last = max(cuts[-1] + 1, target - radius), min(hi - (parts - k), target + radius)
        candidates = range(first, last + 1) if first <= last else range(target, target + 1)
        cuts.append(
            min(candidates, key=lambda g: (gap_similarity(sentences, g), abs(g - target), g))
        )
    cuts.append(hi)
    return [range(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def count_within(indices: Sequence[int], run: range) -> int:
    """Return how many sorted sentence indices fall inside a run."""
    return bisect_left(indices, run.stop) - bisect_left(indices, run.start)
