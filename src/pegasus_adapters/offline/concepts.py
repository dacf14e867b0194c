"""Offline concept matching: key terms against the course's threads by keyword overlap."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pegasus_adapters.offline.text import WORD, is_content
from pegasus_core.artifacts import KeyTerm, KeyTerms
from pegasus_core.ports.language_model import ConceptRequest
from pegasus_core.threads import ChangeType, Concept, Thread

CONCEPTS_PER_LECTURE = 5
# Share of the shorter title's content words the two must have in common to be one concept.
_OVERLAP = 0.5
_CONTRADICTS = re.compile(
    r"\b(?:however|actually|contrary|wrong|misconception|instead|no longer|not)\b|n't\b"
)
_NOTE_CHARS = 240


def match_concepts(request: ConceptRequest) -> tuple[Concept, ...]:
    """Return the lecture's leading key terms as concepts, each matched by keyword overlap.

    - Concepts are the first CONCEPTS_PER_LECTURE terms of the key-terms artifact (the
      extractive engine lists defined terms first, then by rank).
    - A term matches the thread whose title shares the largest share of content words with it
      (at least half of the shorter one's); ties go to the older thread.
    - Change type: "contradiction" when the term's definition sentence negates or corrects
      ("not", "actually", "however", ...), "complexity" when it is more complex than the
      thread so far, else "refinement". Complexity grows with the definition's length (1..5).
    """
    terms = next((a.terms for a in request.artifacts if isinstance(a, KeyTerms)), ())
    concepts = []
    for term in terms[:CONCEPTS_PER_LECTURE]:
        level = min(5, 1 + len(term.definition.split()) // 8)
        thread = best_match(term.term, request.threads)
        change: ChangeType = "introduced"
        if thread is not None:
            if _CONTRADICTS.search(term.definition.lower()):
                change = "contradiction"
            elif level > thread.complexity_level:
                change = "complexity"
            else:
                change = "refinement"
        concepts.append(
            Concept(
                title=term.term,
                summary=term.definition,
                complexity_level=level,
                thread_id=thread.id if thread else None,
                change_type=change,
                note=_note(request.lecture_title, term),
            )
        )
    return tuple(concepts)


def _words(text: str) -> set[str]:
    return {w for w in (m.group().lower() for m in WORD.finditer(text)) if is_content(w)}


def best_match(title: str, threads: Sequence[Thread]) -> Thread | None:
    """Return the thread whose title overlaps the most with this one, if enough."""
    words = _words(title)
    best: tuple[float, Thread] | None = None
    for thread in threads:
        other = _words(thread.title)
        if not words or not other:
            continue
        share = len(words & other) / min(len(words), len(other))
        if share >= _OVERLAP and (best is None or share > best[0]):
            best = (share, thread)
    return best[1] if best else None


def _note(lecture_title: str, term: KeyTerm) -> str:
    note = f"{lecture_title}: {term.definition}"
    return note if len(note) <= _NOTE_CHARS else note[: _NOTE_CHARS - 3].rstrip() + "..."
