"""Memory search latency at 1k, 10k and 100k memories, beside a naive scan baseline.

Run: ``python -m bench.memory_bench`` (about a minute; ``--sizes 1000,10000`` for less).
For each store size it fills a fresh in-memory SQLite database with the same deterministic
synthetic memories (``synthetic_memories``), then times, over the same paraphrased
queries, in the same process:

* ``MemoryStore.search`` — FTS5 BM25 candidates rescored with recency and importance;
* ``LIKE scan`` — the naive baseline: the same query terms, each ``text LIKE '%term%'``,
  counted per row over the whole table, best count then newest first;

and, for hybrid search's vector step, top-50 cosine over a matrix of the largest size.

Figures are per query, in milliseconds (p50 and p99 over ``--rounds`` passes over the
queries). ``synthetic_memories`` is also what the ranking tests plant their memory in.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from collections.abc import Sequence

import numpy as np

from bench.report import Row, machine_line, percentile, render_table
from worker.memory.models import MemoryKind, NewMemory
from worker.memory.query import search_terms
from worker.memory.store import MemoryStore
from worker.memory.vectors import VectorMatrix

NAMES = ("Alex", "Robin", "Kim", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Drew")
PEOPLE = (
    "sister", "brother", "mother", "father", "boss", "neighbour", "colleague", "cousin",
    "friend", "teacher", "aunt", "uncle", "grandmother", "partner", "landlord", "doctor",
)
GIVEN_NAMES = (
    "Ana", "Ben", "Carla", "Dmitri", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kenji",
    "Lena", "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera",
)
ACTIVITIES = (
    "hiking", "chess", "baking bread", "jazz", "opera", "cycling", "gardening", "knitting",
    "photography", "rock climbing", "sushi", "board games", "poetry", "sailing", "salsa",
    "pottery", "running", "fishing", "yoga", "painting", "video games", "karaoke", "tea",
    "spicy food", "horror films", "science fiction", "birdwatching", "surfing", "camping",
)
PLACES = (
    "the park", "the library", "the station", "the market", "the office", "the beach",
    "the museum", "the gym", "the bakery", "the harbour", "the stadium", "the hospital",
)
TOPICS = (
    "the weather", "taxes", "a new phone", "the train strike", "a leaking roof", "a job offer",
    "a broken laptop", "the election", "a noisy neighbour", "a long flight", "a wedding",
    "a dentist appointment", "a parking fine", "an old song", "a cooking recipe", "the news",
)
ANIMAL_SCENES = (
    "saw a dog chasing pigeons near", "heard a cat crying outside", "fed the ducks at",
    "watched a dog show on TV after", "got barked at by a dog near", "found a stray cat at",
)
FEELINGS = ("happy", "sad", "anxious", "excited", "tired", "angry", "proud", "lonely")


def _syllable_word(rng: random.Random) -> str:
    """A made-up word, so the vocabulary is large like real text, not a few hundred words."""
    parts = ("ka", "lo", "mi", "ren", "tu", "sa", "vor", "el", "dri", "na", "pes", "qu", "zo")
    return "".join(rng.choice(parts) for _ in range(rng.randint(2, 4)))


def _text(rng: random.Random, user: str) -> tuple[str, MemoryKind]:
    """One memory text in the shapes formation produces, about random everyday things."""
    pick = rng.randrange(10)
    person, given = rng.choice(PEOPLE), rng.choice(GIVEN_NAMES)
    if pick == 0:
        return f"{user}'s {person} is called {given}.", "fact"
    if pick == 1:
        verb = rng.choice(("likes", "loves", "enjoys", "dislikes", "hates"))
        return f"{user} {verb} {rng.choice(ACTIVITIES)}.", "preference"
    if pick == 2:
        return f'{user} asked: "What do you think about {rng.choice(TOPICS)}?"', "question"
    if pick == 3:
        return f"{user} said they will visit {rng.choice(PLACES)} with their {person}.", "promise"
    if pick == 4:
        return f"{user} {rng.choice(ANIMAL_SCENES)} {rng.choice(PLACES)}.", "fact"
    if pick == 5:
        return f'{user} felt {rng.choice(FEELINGS)}: "{_syllable_word(rng)} again"', "emotion"
    if pick == 6:
        return f"{user} talked about {rng.choice(TOPICS)} with {given}.", "fact"
    if pick == 7:
        return f"{user}'s {person} {given} is a fan of {rng.choice(ACTIVITIES)}.", "fact"
    if pick == 8:
        words = " ".join(_syllable_word(rng) for _ in range(rng.randint(2, 5)))
        return f"{user} mentioned {words} at {rng.choice(PLACES)}.", "fact"
    return f"{user} went to {rng.choice(PLACES)} for {rng.choice(ACTIVITIES)}.", "fact"


def synthetic_memories(
    count: int, *, seed: int, start: float, end: float, turns: int
) -> list[NewMemory]:
    """``count`` deterministic memories spread evenly over ``turns`` turns in ``start..end``.

    Every memory talks about one of ``NAMES`` (the planted test memory's user is not one of
    them); some mention dogs and cats, some name relatives, none names a pet — so a planted
    "X's dog is called Y" competes with both kinds of near miss.
    """
    rng = random.Random(seed)
    memories: list[NewMemory] = []
    for index in range(count):
        turn = 1 + index * turns // max(1, count)
        created_at = start + (end - start) * (turn - 1) / max(1, turns - 1)
        user = rng.choice(NAMES)
        text, kind = _text(rng, user)
        memories.append(
            NewMemory(
                text=text, kind=kind, importance=round(rng.uniform(0.2, 0.9), 2),
                valence=round(rng.uniform(-1.0, 1.0), 2), created_at=created_at,
                turn_id=turn, user=user,
            )
        )
    return memories


QUERIES = (
    "what is my dog called?",
    "where do I live",
    "what's my job",
    "what music do I enjoy",
    "when is my sister's birthday",
    "did I promise to visit the museum",
    "what do I hate",
    "who is my boss",
    "tell me about the train strike",
    "what did we say about photography",
    "do you remember my favourite food",
    "what was that thing about kalomi",
)


def _naive_like_scan(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    terms = list(search_terms(query).all_terms)
    if not terms:
        return []
    matches = " + ".join("(text LIKE ?)" for _ in terms)
    rows = conn.execute(
        f"SELECT id, {matches} AS hits FROM memories WHERE hits > 0"
        " ORDER BY hits DESC, created_at DESC LIMIT ?",
        [f"%{term}%" for term in terms] + [limit],
    ).fetchall()
    return [row[0] for row in rows]


def _time_ms(run: object, queries: Sequence[str], rounds: int) -> list[float]:
    assert callable(run)
    samples: list[float] = []
    for _ in range(rounds):
        for query in queries:
            began = time.perf_counter()
            run(query)
            samples.append((time.perf_counter() - began) * 1000)
    return samples


def measure(size: int, rounds: int) -> list[Row]:
    conn = sqlite3.connect(":memory:")
    store = MemoryStore(conn)
    now = 1_700_000_000.0
    store.add_many(synthetic_memories(size, seed=7, start=now - 30 * 86_400, end=now, turns=50))
    conn.commit()
    store.search("warm up", now=now)
    ours = _time_ms(lambda q: store.search(q, 5, now=now), QUERIES, rounds)
    naive = _time_ms(lambda q: _naive_like_scan(conn, q, 5), QUERIES, rounds)
    conn.close()
    label = f"{size:,} memories"
    goal_met = percentile(ours, 50) <= 10 if size >= 100_000 else None
    return [
        Row(f"search p50, {label}", percentile(ours, 50), percentile(naive, 50), "ms",
            "≤ 10 ms at 100k" if size >= 100_000 else "", goal_met),
        Row(f"search p99, {label}", percentile(ours, 99), percentile(naive, 99), "ms"),
    ]


def measure_vectors(size: int, dimension: int, rounds: int) -> Row:
    """Hybrid search's vector step: top-50 cosine over the cached float32 matrix.

    Baseline: the same similarities, then a full ``argsort`` instead of ``argpartition``.
    """
    rng = np.random.default_rng(7)
    blobs = rng.standard_normal((size, dimension), dtype=np.float32)
    matrix = VectorMatrix.from_rows(
        ((i, blobs[i].tobytes()) for i in range(size)), dimension
    )
    queries = [rng.standard_normal(dimension).tolist() for _ in range(len(QUERIES))]
    by_query = dict(zip(QUERIES, queries, strict=True))
    ours = _time_ms(lambda q: matrix.top(by_query[q], 50), QUERIES, rounds)
    naive = _time_ms(
        lambda q: np.argsort(-matrix.similarities(by_query[q]))[:50], QUERIES, rounds
    )
    return Row(f"vector top-50 p50, {size:,}×{dimension}", percentile(ours, 50),
               percentile(naive, 50), "ms")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--vector-dimension", type=int, default=384)
    args = parser.parse_args(argv)
    rows: list[Row] = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        rows.extend(measure(size, args.rounds))
    rows.append(measure_vectors(max(sizes), args.vector_dimension, max(1, args.rounds // 4)))
    print(render_table("Memory search: MemoryStore.search vs naive LIKE scan", rows))
    print(
        "baseline = LIKE scan over the same table and terms (vector row: full argsort); "
        + machine_line()
    )


if __name__ == "__main__":
    main()
