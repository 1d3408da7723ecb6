"""``MemoryStore``: the SQLite shell around formation's output and the ranking formula.

The store lives in the character's own database connection and never commits or rolls
back: the caller owns transactions, so a turn's memories are written — or undone — together
with the turn itself. Every method is synchronous SQLite work except the ones that need the
embedder, which are ``async`` and await it *before* touching the database.

Search (see ``worker.memory.ranking`` for the formula):

* ``search`` — FTS5 BM25 over the normalised text, the words as said and the extra index
  words (``worker.memory.index_terms``), the question rewritten into the terms of the
  statements that answer it (``worker.memory.rewriting``) and written safely by
  ``worker.memory.query``; the best ``candidate_limit`` matches by BM25 are rescored with
  recency and importance, their BM25 first scaled by the share of the question they cover
  (``worker.memory.coverage``) and, for the character's own words, by
  ``BM25_SCALE_BY_KIND``; a hit keeping the same words of the same turn as a better one is
  left out. A query with no searchable word returns the memories best by recency and
  importance alone (an exact threshold walk over two indexes).
* ``search_hybrid`` — with an embedder, BM25 candidates ∪ the ``vector_k`` nearest stored
  vectors, all scored with both relevance and vector similarity. Without one it *is*
  ``search``, and nothing touches the network. If embedding the query fails, the failure is
  logged and lexical results are returned: a memory lookup never fails a turn.

Embeddings are computed when a memory is added through ``add_with_embedding`` (the embedder
is awaited first, then the row is inserted with its vector). ``add`` stores no vector, and
neither does ``restore`` for memories that had none; ``embed_missing`` fills those in, in
batches, when the caller chooses (e.g. after committing a turn or an import). Search never
writes. Memories without a vector are still found by text.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Final, cast

import structlog

from worker.backends.base import BackendError, Embedder
from worker.memory.coverage import Coverage
from worker.memory.errors import InvalidMemory, MemoryFormatError
from worker.memory.index_terms import index_terms
from worker.memory.models import MEMORY_KINDS, MemoryHit, MemoryKind, NewMemory, StoredMemory
from worker.memory.query import SearchTerms
from worker.memory.ranking import Candidate, Ranked, Ranking, RankingWeights, rank, recency
from worker.memory.rewriting import rewrite_query
from worker.memory.schema import (
    MEMORY_SCHEMA_VERSION,
    SOURCE_COLUMN_WEIGHT,
    TERMS_COLUMN_WEIGHT,
    create_schema,
    stored_version,
)
from worker.memory.vectors import VectorMatrix, decode_vector, encode_vector

log = structlog.get_logger(__name__)

_COLUMNS = "id, text, source, kind, importance, valence, created_at, turn_id, user_name"
_M_COLUMNS = ", ".join(f"m.{column.strip()}" for column in _COLUMNS.split(","))
_RANK_FUNCTION = f"bm25(1.0, {SOURCE_COLUMN_WEIGHT}, {TERMS_COLUMN_WEIGHT})"
_INSERT = (
    "INSERT INTO memories(text, source, terms, kind, importance, valence, created_at, turn_id,"
    " user_name, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_WITH_ID = (
    "INSERT INTO memories(id, text, source, terms, kind, importance, valence, created_at,"
    " turn_id, user_name, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[int, str, str, str, float, float, float, int, str]
Match = tuple[Row, float, float]
"""A text match: its row, the BM25 it ranks with, the share of the question it covers."""

BM25_SCALE_BY_KIND: dict[str, float] = {"reply": 0.5}
"""A kind's BM25 counts for this share of FTS5's value: a sentence the character said
itself (often echoing the user) is weaker evidence of what the user told it than the user's
own words, and a short echo would otherwise outscore the sentence it echoes."""

_MIN_ROWID = -(2**63)


class MemoryStore:
    """The memories of one character, in that character's SQLite database.

    ``candidate_limit`` bounds how many BM25 matches are rescored per query;
    ``match_budget`` bounds how many matches FTS5 scores with BM25 per query (see
    ``search``), which is what keeps a search's cost flat as the store grows; ``vector_k``
    is how many nearest vectors join them in hybrid search. Not thread-safe: use it from the
    thread that owns ``conn``.

    A database without memory tables gets them; one whose memory tables are of another
    version raises ``MemoryFormatError`` (``worker.memory.migration`` upgrades older ones).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        embedder: Embedder | None = None,
        ranking: Ranking | None = None,
        candidate_limit: int = 100,
        match_budget: int = 1000,
        vector_k: int = 50,
    ) -> None:
        self._conn = conn
        self._embedder = embedder
        self._ranking = ranking or Ranking()
        self._candidate_limit = candidate_limit
        self._match_budget = match_budget
        self._vector_k = vector_k
        self._matrix: VectorMatrix | None = None
        self._matrix_key: tuple[int | None, int] | None = None
        version = stored_version(conn)
        if version is None:
            create_schema(conn)
        elif version != MEMORY_SCHEMA_VERSION:
            raise MemoryFormatError(version)

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    @property
    def ranking(self) -> Ranking:
        return self._ranking

    # -- writing -------------------------------------------------------------------------

    def add(self, memory: NewMemory) -> int:
        """Insert ``memory`` (without a vector) and return its id. Raises ``InvalidMemory``."""
        return self._insert(memory, embedding=None)

    def add_many(self, memories: Sequence[NewMemory]) -> int:
        """Insert many memories (without vectors) in one statement; returns how many.

        Validates them all first, so an invalid one means nothing was written.
        """
        for memory in memories:
            _validate(memory)
        self._conn.executemany(_INSERT, [_row(m, embedding=None) for m in memories])
        return len(memories)

    async def add_with_embedding(self, memory: NewMemory) -> int:
        """Embed ``memory.text``, then insert it with its vector; returns its id.

        Without an embedder this is ``add``. If embedding fails the memory is still stored,
        without a vector (logged as ``memory_embedding_failed``); ``embed_missing`` can fill
        it in later.
        """
        _validate(memory)
        vector: list[float] | None = None
        if self._embedder is not None:
            vectors = await self._embed([memory.text], purpose="add")
            vector = vectors[0] if vectors else None
        return self._insert(memory, embedding=vector)

    async def embed_missing(self, batch_size: int = 64) -> int:
        """Embed up to ``batch_size`` stored memories that have no vector; returns how many.

        Call it repeatedly until it returns 0 to backfill everything. Returns 0 without an
        embedder, or when embedding fails (logged).
        """
        if self._embedder is None or batch_size <= 0:
            return 0
        rows = self._conn.execute(
            "SELECT id, text FROM memories WHERE embedding IS NULL ORDER BY id LIMIT ?",
            (batch_size,),
        ).fetchall()
        if not rows:
            return 0
        vectors = await self._embed([text for _, text in rows], purpose="backfill")
        if not vectors:
            return 0
        # Rows may have gone while the embedder was awaited; updating a missing id is a no-op.
        self._conn.executemany(
            "UPDATE memories SET embedding = ? WHERE id = ? AND embedding IS NULL",
            [
                (encode_vector(vector), memory_id)
                for (memory_id, _), vector in zip(rows, vectors, strict=True)
            ],
        )
        return len(rows)

    def delete_of_turn(self, turn_id: int) -> int:
        """Delete the memories formed by ``turn_id`` (only that turn: a later turn of another
        user keeps its own); returns the count."""
        cursor = self._conn.execute("DELETE FROM memories WHERE turn_id = ?", (turn_id,))
        return cursor.rowcount

    def clear(self) -> None:
        """Delete every memory."""
        self._conn.execute("DELETE FROM memories")

    def restore(self, memories: Sequence[StoredMemory]) -> None:
        """Replace every memory with ``memories``, keeping their ids, vectors and values.

        ``restore(all())`` leaves the store exactly as it was. Raises ``InvalidMemory`` (and
        changes nothing) if any memory is invalid or two share an id.
        """
        seen: set[int] = set()
        for memory in memories:
            _validate(memory)
            if memory.id in seen:
                raise InvalidMemory(f"memory id {memory.id} appears twice in the restored set")
            seen.add(memory.id)
        self.clear()
        insert_with_ids(self._conn, memories)

    def reserve_ids(self, through: int) -> None:
        """Never hand out an id up to ``through`` to a new memory (ids of memories kept
        aside, e.g. with a reply that may be chosen again, that this database never held)."""
        self._conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'memories'", (through,)
        )
        self._conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'memories', ?"
            " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'memories')",
            (through,),
        )

    # -- reading -------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM memories").fetchone()[0])

    def all(self) -> list[StoredMemory]:
        """Every memory, oldest id first, with its vector if it has one."""
        return list(self.iter_all())

    def iter_all(self) -> Iterator[StoredMemory]:
        """Like ``all()``, read from the cursor one row at a time."""
        rows = self._conn.execute(f"SELECT {_COLUMNS}, embedding FROM memories ORDER BY id")
        return (
            StoredMemory(
                id=row[0], text=row[1], source=row[2], kind=cast(MemoryKind, row[3]),
                importance=row[4], valence=row[5], created_at=row[6], turn_id=row[7],
                user=row[8], embedding=None if row[9] is None else decode_vector(row[9]),
            )
            for row in rows
        )

    def search(self, query: str, limit: int = 5, *, now: float,
               users: Collection[str] | None = None) -> list[MemoryHit]:
        """The ``limit`` best memories for ``query`` at time ``now`` (unix seconds); with
        ``users``, only memories about one of them (``""``: shared ones) compete, so others'
        memories never crowd theirs out. (A query without a searchable word then ranks the
        ``USERLESS_WIDENING`` × ``limit`` newest/most important and keeps theirs.)

        Lexical: BM25 + recency + importance (``Ranking.lexical``). A query without a
        searchable word (empty, only stopwords or punctuation) ranks by recency and
        importance alone (``Ranking.recency_only``); an empty store gives ``[]``.

        Candidates are the ``candidate_limit`` best by BM25 among the rows matching *any*
        query term. When more than ``match_budget`` rows match, that ranking is taken over
        the newest ``match_budget`` of them, and joined by the ``candidate_limit`` best rows
        matching *every* concept of the query (each word or one of its related terms, and
        one of its cues if it has any), also within budget — so an old memory that answers
        the whole question still competes. Each candidate's BM25 is scaled by its coverage
        (reported in ``scores["coverage"]``) before ranking.
        """
        if limit <= 0:
            return []
        terms = rewrite_query(query)
        if not terms.all_terms:
            if users is None:
                return self._recent_and_important(limit, now=now)
            wide = self._recent_and_important(limit * USERLESS_WIDENING, now=now)
            return [hit for hit in wide if hit.user in users][:limit]
        matches = _about(self._bm25_candidates(terms), users)
        rows = {memory_id: row for memory_id, (row, _, _) in matches.items()}
        candidates = [_candidate(row, bm25=bm25) for row, bm25, _ in matches.values()]
        ranked = self._rank(candidates, now=now, weights=self._ranking.lexical,
                            limit=len(candidates))
        return _hits(_distinct(ranked, rows)[:limit], rows,
                     coverage={memory_id: share for memory_id, (_, _, share) in matches.items()})

    async def search_hybrid(self, query: str, limit: int = 5, *, now: float,
                            users: Collection[str] | None = None) -> list[MemoryHit]:
        """``search`` fused with vector similarity (``Ranking.hybrid``) when there is an embedder.

        Without an embedder, for a blank query, or when embedding the query fails (logged as
        ``memory_embedding_failed``), this returns exactly what ``search`` returns.
        """
        if self._embedder is None or limit <= 0 or not query.strip():
            return self.search(query, limit, now=now, users=users)
        vectors = await self._embed([query], purpose="query")
        if not vectors:
            return self.search(query, limit, now=now, users=users)
        query_vector = vectors[0]
        matrix = self._vector_matrix(len(query_vector))
        nearest = dict(matrix.top(query_vector, self._vector_k))
        lexical = _about(self._bm25_candidates(rewrite_query(query)), users)
        cosines = nearest | matrix.cosine_of(query_vector, lexical.keys() - nearest.keys())
        rows = {memory_id: row for memory_id, (row, _, _) in lexical.items()}
        rows |= self._rows_by_id(nearest.keys() - rows.keys())
        if users is not None:
            rows = {memory_id: row for memory_id, row in rows.items() if row[8] in users}
        candidates = [
            _candidate(
                row,
                bm25=lexical[memory_id][1] if memory_id in lexical else None,
                cosine=cosines.get(memory_id, 0.0),
            )
            for memory_id, row in rows.items()
        ]
        ranked = self._rank(candidates, now=now, weights=self._ranking.hybrid,
                            limit=len(candidates))
        return _hits(_distinct(ranked, rows)[:limit], rows,
                     coverage={memory_id: share for memory_id, (_, _, share) in lexical.items()})

    # -- internals -----------------------------------------------------------------------

    def _insert(self, memory: NewMemory, *, embedding: Sequence[float] | None) -> int:
        _validate(memory)
        cursor = self._conn.execute(_INSERT, _row(memory, embedding=embedding))
        return int(cast(int, cursor.lastrowid))

    def _rank(
        self, candidates: Sequence[Candidate], *, now: float, weights: RankingWeights, limit: int
    ) -> list[Ranked]:
        return rank(
            candidates, now=now, weights=weights, half_life_s=self._ranking.half_life_s,
            limit=limit,
        )

    def _bm25_candidates(self, terms: SearchTerms) -> dict[int, Match]:
        """The best BM25 matches for ``terms``: id → match; see ``search`` for bounds."""
        any_term = terms.fts_query()
        if any_term is None:
            return {}
        coverage = Coverage.of(terms)
        found, exhaustive = self._ranked_matches(any_term, coverage)
        every_concept = terms.fts_all_concepts_query()
        if not exhaustive and every_concept is not None:
            # Same phrases, so a row found by both queries has the same bm25 in both.
            found |= self._ranked_matches(every_concept, coverage)[0]
        return found

    def _ranked_matches(
        self, fts_query: str, coverage: Coverage
    ) -> tuple[dict[int, Match], bool]:
        """Top ``candidate_limit`` by BM25 among the newest ``match_budget`` matches.

        Returns the matches and whether they were ranked among *all* matches. FTS5 must
        compute ``bm25()`` for every row it sorts (~2 µs each), so a query matching tens of
        thousands of rows is restricted to its most recently stored ``match_budget`` rows,
        found by walking rowids without scoring.
        """
        floor_row = self._conn.execute(
            "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (fts_query, self._match_budget),
        ).fetchone()
        floor = _MIN_ROWID if floor_row is None else int(floor_row[0])
        # The LIMIT applies inside the CTE, so only the best matches are joined to their rows.
        cursor = self._conn.execute(
            f"""
            WITH best AS (
                SELECT rowid AS id, rank FROM memories_fts
                WHERE memories_fts MATCH ? AND rank MATCH '{_RANK_FUNCTION}' AND rowid > ?
                ORDER BY rank LIMIT ?
            )
            SELECT {_M_COLUMNS}, m.terms, best.rank
            FROM best JOIN memories AS m ON m.id = best.id
            """,
            (fts_query, floor, self._candidate_limit),
        )
        found: dict[int, Match] = {}
        for row in cursor:
            share, factor = coverage.scale(f"{row[1]} {row[2]} {row[9]}")
            bm25 = float(row[10]) * factor * BM25_SCALE_BY_KIND.get(row[3], 1.0)
            found[row[0]] = (cast(Row, row[:9]), bm25, share)
        return found, floor_row is None

    def _rows_by_id(self, ids: Iterable[int]) -> dict[int, Row]:
        wanted = list(ids)
        if not wanted:
            return {}
        placeholders = ", ".join("?" * len(wanted))
        cursor = self._conn.execute(
            f"SELECT {_COLUMNS} FROM memories WHERE id IN ({placeholders})", wanted
        )
        return {row[0]: cast(Row, row) for row in cursor}

    def _recent_and_important(self, limit: int, *, now: float) -> list[MemoryHit]:
        """Top ``limit`` by recency and importance alone, exactly, without a full scan.

        Threshold walk: read the ``n`` newest and the ``n`` most important rows; any row in
        neither list is no newer than the last newest and no more important than the last
        most important, so its score is at most ``bound``. Once the ``limit``-th best seen
        score reaches ``bound`` (or a list is exhausted) nothing unseen can beat it;
        otherwise ``n`` grows.
        """
        weights = self._ranking.recency_only
        n = max(4 * limit, 32)
        while True:
            newest = self._conn.execute(
                f"SELECT {_COLUMNS} FROM memories ORDER BY created_at DESC LIMIT ?", (n,)
            ).fetchall()
            most_important = self._conn.execute(
                f"SELECT {_COLUMNS} FROM memories ORDER BY importance DESC LIMIT ?", (n,)
            ).fetchall()
            rows: dict[int, Row] = {row[0]: cast(Row, row) for row in newest + most_important}
            ranked = self._rank(
                [_candidate(row) for row in rows.values()], now=now, weights=weights, limit=limit
            )
            if len(newest) < n or len(most_important) < n:
                return _hits(ranked, rows)
            bound = weights.recency * recency(
                now - newest[-1][6], self._ranking.half_life_s
            ) + weights.importance * most_important[-1][4]
            if len(ranked) == limit and ranked[-1].score >= bound:
                return _hits(ranked, rows)
            n *= 4

    def _version_token(self) -> int | None:
        row = self._conn.execute("SELECT token FROM memories_version WHERE id = 1").fetchone()
        return None if row is None else int(row[0])

    def _vector_matrix(self, dimension: int) -> VectorMatrix:
        """The cached matrix of stored vectors, rebuilt when the memories table changed."""
        key = (self._version_token(), dimension)
        if self._matrix is None or self._matrix_key != key:
            rows = self._conn.execute(
                "SELECT id, embedding FROM memories WHERE embedding IS NOT NULL"
            )
            self._matrix = VectorMatrix.from_rows(rows, dimension)
            self._matrix_key = key
        return self._matrix

    async def _embed(self, texts: list[str], *, purpose: str) -> list[list[float]]:
        """The embedder's vectors for ``texts``, or ``[]`` after logging why there are none."""
        assert self._embedder is not None
        try:
            vectors = await self._embedder.embed(texts)
        except BackendError as error:
            log.warning(
                "memory_embedding_failed", purpose=purpose, texts=len(texts),
                error_code=error.code, error=str(error),
            )
            return []
        if len(vectors) != len(texts) or any(
            not v or not all(math.isfinite(x) for x in v) for v in vectors
        ):
            log.warning(
                "memory_embedding_failed", purpose=purpose, texts=len(texts),
                error_code="llm_error",
                error=f"embedder returned {len(vectors)} vectors (empty or non-finite values?)",
            )
            return []
        return vectors


def insert_with_ids(conn: sqlite3.Connection, memories: Sequence[StoredMemory]) -> None:
    """Insert ``memories`` with their own ids and vectors, indexed like any other (their
    index words computed anew). An id still in use raises ``sqlite3.IntegrityError``. Does
    not validate: for memories that came out of a store."""
    conn.executemany(
        _INSERT_WITH_ID,
        [(m.id, *_row(m, embedding=m.embedding)) for m in memories],
    )


def _row(
    memory: NewMemory | StoredMemory, *, embedding: Sequence[float] | None
) -> tuple[object, ...]:
    """The values of ``_INSERT`` for ``memory``."""
    return (
        memory.text, memory.source, index_terms(memory.source or memory.text), memory.kind,
        memory.importance, memory.valence, memory.created_at, memory.turn_id, memory.user,
        None if embedding is None else encode_vector(embedding),
    )


def _validate(memory: NewMemory | StoredMemory) -> None:
    problems: list[str] = []
    if memory.kind not in MEMORY_KINDS:
        problems.append(f"kind {memory.kind!r} is not one of {', '.join(MEMORY_KINDS)}")
    if not memory.text.strip():
        problems.append("text is empty")
    if not (math.isfinite(memory.importance) and 0.0 <= memory.importance <= 1.0):
        problems.append(f"importance {memory.importance!r} is not in 0..1")
    if not (math.isfinite(memory.valence) and -1.0 <= memory.valence <= 1.0):
        problems.append(f"valence {memory.valence!r} is not in -1..1")
    if not math.isfinite(memory.created_at):
        problems.append(f"created_at {memory.created_at!r} is not a finite unix time")
    if problems:
        raise InvalidMemory(f"memory from turn {memory.turn_id} refused: {'; '.join(problems)}")


def _candidate(row: Row, *, bm25: float | None = None, cosine: float | None = None) -> Candidate:
    return Candidate(id=row[0], created_at=row[6], importance=row[4], bm25=bm25, cosine=cosine)


def _distinct(ranked: Sequence[Ranked], rows: Mapping[int, Row]) -> list[Ranked]:
    """``ranked`` without the memories that keep the same words of the same turn as one
    ranked above them (a fact and the episode of the sentence it came from): one slot of the
    few a search returns is worth more than the same words twice."""
    seen: set[tuple[int, str]] = set()
    kept: list[Ranked] = []
    for entry in ranked:
        row = rows[entry.id]
        said = (row[7], row[2])
        if row[2] and said in seen:
            continue
        seen.add(said)
        kept.append(entry)
    return kept


def _hits(
    ranked: Sequence[Ranked], rows: Mapping[int, Row], *,
    coverage: Mapping[int, float] | None = None,
) -> list[MemoryHit]:
    """The hits, with ``coverage`` (the share of the question a text match covered, which
    scaled its ``bm25``) beside the ranking's components."""
    hits: list[MemoryHit] = []
    covered = coverage or {}
    for entry in ranked:
        row = rows[entry.id]
        scores = entry.scores
        if entry.id in covered:
            scores = {**scores, "coverage": covered[entry.id]}
        hits.append(
            MemoryHit(
                id=row[0], text=row[1], source=row[2], kind=cast(MemoryKind, row[3]),
                importance=row[4], valence=row[5], created_at=row[6], turn_id=row[7],
                user=row[8], score=entry.score, scores=scores,
            )
        )
    return hits


USERLESS_WIDENING: Final = 4
"""How many times ``limit`` a user-filtered search without a searchable word looks at."""


def _about(matches: dict[int, Match], users: Collection[str] | None) -> dict[int, Match]:
    """The ``matches`` about one of ``users`` (all of them for ``None``)."""
    if users is None:
        return matches
    return {memory_id: match for memory_id, match in matches.items()
            if match[0][8] in users}
