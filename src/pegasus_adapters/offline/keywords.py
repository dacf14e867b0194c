"""Keyword extraction and the per-transcript analysis every offline artifact is built from."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pegasus_adapters.offline.text import (
    SHORT_WORDS,
    WORD,
    Sentence,
    count_within,
    is_content,
    rank_sentences,
    split_sentences,
)
from pegasus_core.errors import PegasusError
from pegasus_core.transcripts import Transcript

KEYWORD_POOL = 80  # candidates kept per transcript; artifacts take what their preset allows
_EXAMPLE = re.compile(r"\bfor (?:example|instance)\b|\bsuch as\b|\be\.g\.|\bimagine\b|\bsuppose\b")


@dataclass(frozen=True, slots=True)
class Keyword:
    """A term as spoken (a word or a two-word phrase) and the sentences that contain it."""

    term: str
    score: float
    sentences: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Sentences, their ranking and the keywords of one transcript."""

    sentences: tuple[Sentence, ...]
    scores: tuple[float, ...]
    ranked: tuple[int, ...]
    keywords: tuple[Keyword, ...]
    haystack: str

    def contains(self, fragment: str) -> bool:
        """Return whether a fragment occurs verbatim (case-insensitive) in the transcript text."""
        return " ".join(fragment.lower().split()) in self.haystack

    def definition(self, keyword: Keyword) -> tuple[Sentence, bool]:
        """Return the best sentence for a term and whether it defines it ("X is ...").

        A sentence that defines this very term ("X is a ...") wins over one that names it
        ("... called X"), which wins over any other definition-like sentence; among equals, the
        higher-ranked sentence wins, then the earlier one.
        """
        strong, weak = _defining_patterns(keyword.term)
        best = max(
            keyword.sentences,
            key=lambda i: (
                _defines(strong, self.sentences[i].lower),
                weak.search(self.sentences[i].lower) is not None,
                not self.sentences[i].is_question,
                self.sentences[i].is_defining,
                self.scores[i],
                -i,
            ),
        )
        return self.sentences[best], _defines(strong, self.sentences[best].lower)

    def example(self, keyword: Keyword, besides: Sentence) -> Sentence | None:
        """Return a sentence that gives an example involving the term, if the lecture has one."""
        hits = [
            i
            for i in keyword.sentences
            if i != besides.index and _EXAMPLE.search(self.sentences[i].lower)
        ]
        return self.sentences[max(hits, key=lambda i: (self.scores[i], -i))] if hits else None

    def best_in(self, run: range, count: int, *, short_first: bool = False) -> list[Sentence]:
        """Return up to `count` top-ranked sentences of a run, in lecture order.

        With short_first, sentences of at most SHORT_WORDS words are preferred (low-clutter
        presets ask for one short idea per bullet).
        """
        inside = sorted(run, key=lambda i: (-self.scores[i], i))
        if short_first:
            inside.sort(key=lambda i: len(self.sentences[i].words) > SHORT_WORDS)
        return [self.sentences[i] for i in sorted(inside[:count])]

    def topics(self, run: range, count: int) -> list[str]:
        """Return up to `count` keywords that characterise a run of sentences, best first.

        A keyword scores local count x share of all its occurrences that fall in the run, so a
        term specific to this part beats one spread evenly over the lecture. Terms sharing a
        word with a better one are skipped.
        """
        scored = []
        for rank, keyword in enumerate(self.keywords):
            local = count_within(keyword.sentences, run)
            if local:
                scored.append((-local * local / len(keyword.sentences), rank, keyword.term))
        chosen: list[str] = []
        for _, _, term in sorted(scored):
            # "light" and "light reactions" would say the same thing twice: keep the phrase.
            words = set(term.lower().split())
            overlap = [c for c in chosen if words & set(c.lower().split())]
            if not overlap:
                chosen.append(term)
            elif " " in term and all(" " not in c for c in overlap):
                chosen[chosen.index(overlap[0])] = term
                chosen = [c for c in chosen if c not in overlap[1:]]
        return chosen[:count]


_NOT_SUBJECT = frozenset(["of", "in", "on", "by", "to", "for", "with", "from", "and", "or", "than"])
_DEFINES = (
    r"s? (?:(?:is|are|was|were) (?:a|an|the|one|called|defined|known|what|when|how|where"
    r"|basically|simply)\b|means\b|refers to\b|describes\b)"
)
_DEFINED_WORD = re.compile(r"\b([a-z][a-z'-]+)" + _DEFINES)


def _word_before(lower: str, start: int) -> str:
    return lower[:start].rstrip().rsplit(" ", 1)[-1]


def _defines(pattern: re.Pattern[str], lower: str) -> bool:
    """Return whether the term is the subject of a match: "the products of x are" defines none."""
    return any(_word_before(lower, m.start()) not in _NOT_SUBJECT for m in pattern.finditer(lower))


def _defining_patterns(term: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Return (X is a ..., called X): the first defines the term, the second only names it."""
    t = re.escape(term.lower())
    return (
        re.compile(rf"\b{t}{_DEFINES}"),
        re.compile(rf"\b(?:called|known as|termed|we call) (?:an? |the )?{t}\b"),
    )


def analyse(transcript: Transcript) -> Analysis:
    """Split, rank and extract keywords; raise PegasusError if there is nothing to work from."""
    sentences = tuple(split_sentences(transcript))
    if not sentences:
        raise PegasusError("Transcript is empty: nothing to generate from.")
    scores = tuple(rank_sentences(sentences))
    source = transcript.text if transcript.text.strip() else " ".join(s.text for s in sentences)
    return Analysis(
        sentences=sentences,
        scores=scores,
        ranked=tuple(sorted(range(len(sentences)), key=lambda i: (-scores[i], i))),
        keywords=tuple(extract_keywords(sentences, KEYWORD_POOL)),
        haystack=" ".join(source.lower().split()),
    )


def extract_keywords(sentences: Sequence[Sentence], limit: int) -> list[Keyword]:
    """Return up to `limit` terms (at least one), best first, scored by frequency x spread.

    Candidates are content words and two-word phrases of content words separated by a single
    space in the transcript (so the phrase occurs verbatim). Spread is the number of tenths of
    the lecture a term occurs in: a term the lecture keeps returning to beats a local burst. A
    word mostly heard inside an already chosen phrase ("calvin" in "calvin cycle") is skipped.
    """
    hits: dict[str, list[int]] = {}
    forms: dict[str, Counter[str]] = {}
    for s in sentences:
        previous: re.Match[str] | None = None
        for match in WORD.finditer(s.text):
            key = match.group().lower()
            if is_content(key):
                _note(hits, forms, key, match.group(), s.index)
                if previous and s.text[previous.end() : match.start()] == " ":
                    phrase = s.text[previous.start() : match.end()]
                    _note(hits, forms, phrase.lower(), phrase, s.index)
            previous = match if is_content(key) else None
    bins, defined = min(10, len(sentences)), _defined_terms(sentences)

    def score(key: str) -> float:
        spread = len({i * bins // len(sentences) for i in hits[key]})
        weight = 1.6 if " " in key else 1.0  # a phrase is more specific than either word
        weight *= 1.5 if key in defined else 1.0  # the lecturer took the time to define it
        return weight * len(hits[key]) * (1 + math.log1p(spread))

    first_seen = {key: found[0] for key, found in hits.items()}
    candidates = sorted(hits, key=lambda k: (-score(k), first_seen[k], k))
    chosen = _choose(candidates, hits, defined, limit, 2) or _choose(
        candidates, hits, defined, limit, 1
    )
    if not chosen:
        # Only stopwords were said: fall back to the longest word so every list has an item.
        word = max((w for s in sentences for w in WORD.findall(s.text)), key=len, default="lecture")
        at = next((s.index for s in sentences if word.lower() in s.words), 0)
        return [Keyword(term=word.lower(), score=1.0, sentences=(at,))]
    return [
        Keyword(
            term=_surface(k, len(hits[k]), forms.get(k)),
            score=score(k),
            sentences=tuple(dict.fromkeys(hits[k])),
        )
        for k in chosen
    ]


def _defined_terms(sentences: Sequence[Sentence]) -> set[str]:
    """Return the words and two-word phrases that some sentence defines ("x y is a ...")."""
    defined: set[str] = set()
    for s in sentences:
        lower = s.lower
        for match in _DEFINED_WORD.finditer(lower):
            before = _word_before(lower, match.start())
            if before not in _NOT_SUBJECT:
                defined.update((match.group(1), f"{before} {match.group(1)}"))
    return defined


def _note(
    hits: dict[str, list[int]], forms: dict[str, Counter[str]], key: str, form: str, index: int
) -> None:
    hits.setdefault(key, []).append(index)
    if form != key:  # only capitalised forms are counted: most words have none, and it is hot
        forms.setdefault(key, Counter())[form] += 1


def _choose(
    candidates: list[str], hits: dict[str, list[int]], defined: set[str], limit: int, min_count: int
) -> list[str]:
    """Pick terms said at least min_count times (once is enough for a defined term)."""
    phrase_words: Counter[str] = Counter()
    for key in candidates:
        if " " in key and len(hits[key]) >= max(min_count, 2):
            for word in key.split():
                phrase_words[word] += len(hits[key])
    chosen: list[str] = []
    for key in candidates:
        count = len(hits[key])
        if key not in defined and (count < min_count or (" " in key and count < 2)):
            continue
        if " " not in key and phrase_words[key] >= 0.75 * count:
            continue
        chosen.append(key)
        if len(chosen) == limit:
            break
    return chosen


def _surface(key: str, count: int, forms: Counter[str] | None) -> str:
    # Keep the lecture's own spelling: lower case unless the term is always capitalised.
    return key if not forms or count > forms.total() else forms.most_common(1)[0][0]
