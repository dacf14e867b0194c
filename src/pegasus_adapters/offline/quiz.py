"""Flashcards and exam questions built from an Analysis: answers are transcript text or terms."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pegasus_adapters.offline.keywords import Analysis, Keyword
from pegasus_adapters.offline.text import Sentence, split_parts, timestamp
from pegasus_core.artifacts import ExamQuestion, ExamQuestions, Flashcard, Flashcards, QuestionType
from pegasus_core.presets import Preset

BLANK = "_____"

# Phrasing follows the preset's tone; an unknown tone gets the neutral wording.
WHAT_IS = {
    "formal_academic": "Define {term}.",
    "conversational": "In simple words, what is {term}?",
    "direct_predictable": "What is {term}?",
    "analytical_precise": "What precisely does the lecture mean by {term}?",
}
ASK_ABOUT = {
    "formal_academic": "Explain the significance of {term} as presented in the lecture.",
    "conversational": "What did the lecture tell you about {term}?",
    "direct_predictable": "What does the lecture say about {term}?",
    "analytical_precise": "How does {term} relate to the other ideas in the lecture?",
}
_GAP = {
    "formal_academic": 'Which term best completes the statement: "{cloze}"',
    "conversational": 'Which word fits the gap? "{cloze}"',
    "direct_predictable": 'Fill the gap: "{cloze}"',
    "analytical_precise": 'Which concept completes the statement: "{cloze}"',
}
_ESSAY = {
    "formal_academic": "Discuss {topic}, with reference to the lecture.",
    "conversational": "Describe in your own words what the lecture said about {topic}.",
    "direct_predictable": "Explain {topic} in a few sentences.",
    "analytical_precise": "Analyse how the lecture connects {topic}.",
}
# The contract's four question types stand in for each preset's pedagogical types.
_QUESTION_TYPES: dict[str, QuestionType] = {
    "definition": "short-answer",
    "recall": "short-answer",
    "simple_application": "short-answer",
    "explanation": "essay",
    "system_analysis": "essay",
    "critique": "essay",
    "application": "multiple-choice",
    "recognition": "multiple-choice",
    "relationship": "multiple-choice",
    "synthesis": "multiple-choice",
    "evaluation": "true-false",
    "basic_understanding": "true-false",
    "dependency": "true-false",
    "sequence": "true-false",
    "evidence_evaluation": "true-false",
}


def phrase(table: dict[str, str], tone: str, **values: str) -> str:
    """Fill the template for a tone (or the neutral one) with the given values."""
    return table.get(tone, table["direct_predictable"]).format(**values)


def blank(text: str, term: str) -> str | None:
    """Replace every whole-word occurrence of term with BLANK; None if the term is absent."""
    pattern = re.compile(rf"(?<![\w'\u2019-]){re.escape(term)}(?![\w'\u2019-])", re.IGNORECASE)
    clozed, count = pattern.subn(BLANK, text)
    return clozed if count else None


def build_flashcards(analysis: Analysis, preset: Preset) -> Flashcards:
    """Return definition and cloze cards, alternating, at most the preset's flashcard_count.

    Every back is either a term or a whole transcript sentence, so it occurs verbatim in the
    transcript (case and the closing period aside).
    """
    tone, limit = preset.generation.tone, max(1, preset.generation.flashcard_count)
    cards: list[Flashcard] = []
    clozed: set[int] = set()
    for keyword in _verified(analysis):
        tags = (preset.kind, re.sub(r"[\W_]+", "-", keyword.term.lower()).strip("-"))
        sentence, defines = analysis.definition(keyword)
        if defines and not sentence.is_question and analysis.contains(sentence.text):
            cards.append(
                Flashcard(
                    front=phrase(WHAT_IS, tone, term=keyword.term),
                    back=sentence.display,
                    difficulty="easy",
                    tags=tags,
                    source_spans=(sentence.span,),
                )
            )
        if defines:
            clozed.add(sentence.index)  # its definition card already shows this sentence
        cloze = _cloze(analysis, keyword, avoid=clozed)
        if cloze is not None or not cards:
            source = cloze[1] if cloze else sentence
            cards.append(
                Flashcard(
                    front=cloze[0] if cloze else phrase(ASK_ABOUT, tone, term=keyword.term),
                    back=keyword.term,
                    difficulty="medium" if len(source.words) <= 20 else "hard",
                    tags=tags,
                    source_spans=(source.span,),
                )
            )
        if len(cards) >= limit:
            break
    return Flashcards(cards=tuple(cards[:limit]))


def _verified(analysis: Analysis) -> list[Keyword]:
    found = [k for k in analysis.keywords if analysis.contains(k.term)]
    return found or list(analysis.keywords[:1])


def _cloze(analysis: Analysis, keyword: Keyword, avoid: set[int]) -> tuple[str, Sentence] | None:
    """Return (front, sentence) from the best sentence that still makes sense with a gap.

    Sentences in `avoid` (already shown on other cards) are used only when nothing else is;
    the chosen sentence is added to it so that cards spread over the lecture.
    """
    order = sorted(keyword.sentences, key=lambda i: (i in avoid, -analysis.scores[i], i))
    for index in order:
        sentence = analysis.sentences[index]
        front = blank(sentence.display, keyword.term)
        if front is not None and len(sentence.content) - len(keyword.term.split()) >= 2:
            avoid.add(index)
            return front, sentence
    return None


@dataclass
class _Used:
    """What earlier questions already asked about, so later ones do not repeat it."""

    terms: set[str] = field(default_factory=set)
    sentences: set[int] = field(default_factory=set)
    choice_slot: int = 0


def build_exam(analysis: Analysis, preset: Preset) -> ExamQuestions:
    """Return up to exam_question_count questions, cycling the preset's question types.

    A type that runs out of material (multiple choice needs four distinct terms) drops out of
    the cycle; if nothing at all could be asked, one short-answer question is.
    """
    kinds = list(
        dict.fromkeys(
            _QUESTION_TYPES.get(t, "short-answer") for t in preset.generation.question_types
        )
    )
    used, tone = _Used(), preset.generation.tone
    makers: dict[QuestionType, Callable[[Analysis, str, _Used], Iterator[ExamQuestion]]] = {
        "short-answer": _short_answers,
        "multiple-choice": _multiple_choice,
        "true-false": _true_false,
        "essay": _essays,
    }
    sources = [makers[k](analysis, tone, used) for k in kinds or ["short-answer"]]
    limit, questions = max(1, preset.generation.exam_question_count), list[ExamQuestion]()
    while sources and len(questions) < limit:
        for source in list(sources):
            question = next(source, None)
            if question is None:
                sources.remove(source)
            elif len(questions) < limit:
                questions.append(question)
    if not questions:  # e.g. only multiple choice asked of a lecture with too few terms
        questions.extend(itertools.islice(_short_answers(analysis, tone, _Used()), 1))
    return ExamQuestions(questions=tuple(questions))


def _where(sentence: Sentence) -> str:
    return f"The lecture covers this at {timestamp(sentence.start)}."


def _short_answers(analysis: Analysis, tone: str, used: _Used) -> Iterator[ExamQuestion]:
    for keyword in _verified(analysis):
        sentence, defines = analysis.definition(keyword)
        if keyword.term in used.terms:
            continue
        used.terms.add(keyword.term)
        used.sentences.add(sentence.index)
        yield ExamQuestion(
            prompt=phrase(WHAT_IS if defines else ASK_ABOUT, tone, term=keyword.term),
            type="short-answer",
            answer=sentence.display,
            explanation=_where(sentence),
            source_spans=(sentence.span,),
        )


def _multiple_choice(analysis: Analysis, tone: str, used: _Used) -> Iterator[ExamQuestion]:
    terms = _verified(analysis)
    for position, keyword in enumerate(terms):
        cloze = _cloze(analysis, keyword, avoid=set(used.sentences))
        if keyword.term in used.terms or cloze is None:
            continue
        front, sentence = cloze
        others = terms[position + 1 :] + terms[:position]
        distractors = [
            o.term
            for o in others
            if o.term.lower() not in keyword.term.lower()
            and keyword.term.lower() not in o.term.lower()
            and o.term.lower() not in sentence.lower
        ][:3]
        if len(distractors) < 3:
            continue
        used.terms.add(keyword.term)
        used.sentences.add(sentence.index)
        slot, used.choice_slot = used.choice_slot % 4, used.choice_slot + 1
        yield ExamQuestion(
            prompt=phrase(_GAP, tone, cloze=front),
            type="multiple-choice",
            answer=keyword.term,
            choices=(*distractors[:slot], keyword.term, *distractors[slot:]),
            correct_choice_index=slot,
            explanation=f"{sentence.display} ({timestamp(sentence.start)})",
            source_spans=(sentence.span,),
        )


def _true_false(analysis: Analysis, tone: str, used: _Used) -> Iterator[ExamQuestion]:
    del tone  # a statement reads the same in every tone
    order = sorted(analysis.ranked, key=lambda i: len(analysis.sentences[i].words) < 6)
    for index in order:
        if index in used.sentences or analysis.sentences[index].is_question:
            continue
        used.sentences.add(index)
        sentence = analysis.sentences[index]
        yield ExamQuestion(
            prompt=f"True or false: {sentence.display}",
            type="true-false",
            answer="True",
            explanation=_where(sentence),
            source_spans=(sentence.span,),
        )


def _essays(analysis: Analysis, tone: str, used: _Used) -> Iterator[ExamQuestion]:
    count = len(analysis.sentences)
    for run in split_parts(analysis.sentences, 0, count, min(4, max(1, count // 8))):
        topics = analysis.topics(run, 3)
        if not topics:
            continue
        key = analysis.best_in(run, 2)
        topic = topics[0] if len(topics) == 1 else f"{', '.join(topics[:-1])} and {topics[-1]}"
        yield ExamQuestion(
            prompt=phrase(_ESSAY, tone, topic=topic),
            type="essay",
            answer=" ".join(s.display for s in key),
            explanation="A good answer draws on the lecture from "
            f"{timestamp(key[0].start)} to {timestamp(key[-1].end)}.",
            source_spans=tuple(s.span for s in key),
        )
