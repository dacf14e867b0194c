"""The Markdown export parsed by a CommonMark parser: outline depth, every choice, the answer."""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from pegasus_core.artifacts import ArtifactType, ExamQuestions, Flashcards
from pegasus_core.rendering import render_markdown
from tests.study_material import bundle, long_artifacts


def _tree(markdown: bytes) -> SyntaxTreeNode:
    return SyntaxTreeNode(MarkdownIt("commonmark").parse(markdown.decode("utf-8")))


def _section(tree: SyntaxTreeNode, heading: str) -> SyntaxTreeNode:
    """Return the list that follows the level-2 heading of this title."""
    nodes = tree.children
    for index, node in enumerate(nodes):
        if node.type == "heading" and _text(node) == heading:
            return nodes[index + 1]
    raise AssertionError(f"no section {heading!r}")


def _text(node: SyntaxTreeNode) -> str:
    """Return the text of a node's own paragraph or heading, markup dropped."""
    inline = (
        node
        if node.type == "inline"
        else next((c for c in _walk(node) if c.type == "inline"), None)
    )
    assert inline is not None
    return "".join(t.content for t in inline.token.children or () if t.type == "text")  # type: ignore[union-attr]


def _walk(node: SyntaxTreeNode) -> Iterator[SyntaxTreeNode]:
    for child in node.children:
        yield child
        yield from _walk(child)


def _items_by_depth(node: SyntaxTreeNode, depth: int = 1) -> Iterator[tuple[int, str]]:
    """Yield (list depth, own text) of every list item under node."""
    for item in node.children:
        own = next(c for c in item.children if c.type == "paragraph")
        yield depth, _text(own)
        for sub in item.children:
            if sub.type in ("bullet_list", "ordered_list"):
                yield from _items_by_depth(sub, depth + 1)


def test_the_outline_keeps_every_level_down_to_depth_four_and_beyond() -> None:
    markdown = render_markdown(bundle(long_artifacts(sections=1, bullets=1, cards=1)))
    items = list(_items_by_depth(_section(_tree(markdown), "Outline")))
    depth_of = {text.split(" — ")[0]: depth for depth, text in items}
    assert depth_of["Level 1"] == 1
    assert depth_of["Level 1.1"] == 2
    assert depth_of["Level 2.1.2.1"] == 4
    assert depth_of["Level 1.2.1.2.1"] == 5
    points = [(d, t) for d, t in items if t.startswith("Point at 2.2.2.2:")]
    assert [d for d, _ in points] == [5]  # a node's points sit one level below its title
    # Depth 4 holds the 16 fourth-level nodes and the points of the 8 third-level ones.
    assert sum(1 for d, _ in items if d == 4) == 2**4 + 2**3


def test_every_choice_of_every_question_is_listed_and_only_the_marked_one_is_correct() -> None:
    artifacts = long_artifacts(sections=1, bullets=1, cards=12)
    tree = _tree(render_markdown(bundle(artifacts)))
    questions = artifacts[ArtifactType.EXAM_QUESTIONS]
    assert isinstance(questions, ExamQuestions)
    listed = _section(tree, "Exam questions")
    assert listed.type == "ordered_list" and len(listed.children) == len(questions.questions)
    for item, question in zip(listed.children, questions.questions, strict=True):
        assert _text(item) == f"({question.type}) {question.prompt}"
        [sub] = [c for c in item.children if c.type == "bullet_list"]
        lines = [_text(entry) for entry in sub.children]
        choices = question.choices or ()
        assert lines[: len(choices)] == [
            f"{'ABCD'[i]}. {c}" + (" (correct)" if i == question.correct_choice_index else "")
            for i, c in enumerate(choices)
        ]
        assert lines[len(choices)] == f"Answer: {question.answer}"
    cards = artifacts[ArtifactType.FLASHCARDS]
    assert isinstance(cards, Flashcards)
    listed_cards = _section(tree, "Flashcards")
    assert len(listed_cards.children) == 12  # the answers of cards 10+ stay inside their items
    for item, card in zip(listed_cards.children, cards.cards, strict=True):
        [sub] = [c for c in item.children if c.type == "bullet_list"]
        assert _text(sub) == f"A: {card.back}"
