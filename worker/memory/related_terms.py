"""The small paraphrase table that query expansion uses.

Each group lists words people use interchangeably when they talk about one thing ("what is
my dog *called*" / "my dog's *name*"). A query word found in a group brings in the group's
other words. Groups are deliberately small and literal: a word in several groups brings in
all of them. The table is data so it can be read, reviewed and extended in one place; FTS5's
porter stemmer already covers inflections (live/lives/living), so only base forms are listed.
"""

from __future__ import annotations

RELATED_TERM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"name", "named", "called", "call", "nickname"}),
    frozenset({"live", "home", "city", "town", "from", "reside", "moved", "address", "place"}),
    frozenset({"work", "job", "occupation", "career", "profession", "employed", "works"}),
    frozenset({"like", "love", "enjoy", "favourite", "favorite", "adore", "fan", "prefer"}),
    frozenset({"hate", "dislike", "detest", "loathe", "stand"}),
    frozenset({"pet", "dog", "cat", "puppy", "kitten", "hamster", "rabbit", "parrot"}),
    frozenset({"birthday", "born", "birth", "age", "old"}),
    frozenset({"mother", "mom", "mum", "mama", "parent"}),
    frozenset({"father", "dad", "papa", "parent"}),
    frozenset({"sister", "brother", "sibling"}),
    frozenset({"wife", "husband", "partner", "spouse", "girlfriend", "boyfriend", "married"}),
    frozenset({"child", "children", "kid", "son", "daughter"}),
    frozenset({"friend", "buddy", "pal", "mate"}),
    frozenset({"study", "school", "university", "college", "student", "studying"}),
    frozenset({"food", "eat", "meal", "dish", "cook", "cooking"}),
    frozenset({"music", "song", "band", "listen"}),
    frozenset({"film", "movie", "cinema"}),
    frozenset({"book", "read", "novel"}),
    frozenset({"sad", "upset", "unhappy", "down", "depressed", "cry"}),
    frozenset({"happy", "glad", "excited", "thrilled", "joy"}),
    frozenset({"angry", "mad", "furious", "annoyed"}),
    frozenset({"scared", "afraid", "fear", "worried", "anxious", "nervous"}),
    frozenset({"promise", "promised", "remind", "remember", "forget"}),
    frozenset({"ask", "asked", "question", "wonder", "wondered"}),
)


def _index(groups: tuple[frozenset[str], ...]) -> dict[str, frozenset[str]]:
    related: dict[str, set[str]] = {}
    for group in groups:
        for word in group:
            related.setdefault(word, set()).update(group - {word})
    return {word: frozenset(others) for word, others in related.items()}


RELATED_TERMS: dict[str, frozenset[str]] = _index(RELATED_TERM_GROUPS)
"""Word → the other words of every group it belongs to (never itself)."""
