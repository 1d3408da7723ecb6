"""The score formula as a pure function over plain numbers."""

from __future__ import annotations

import pytest

from worker.memory.ranking import (
    LEXICAL_WEIGHTS,
    Candidate,
    Ranking,
    RankingWeights,
    rank,
    recency,
)

DAY = 86_400.0
WEEK = 7 * DAY


def test_recency_halves_every_half_life() -> None:
    assert recency(0, WEEK) == 1.0
    assert recency(WEEK, WEEK) == pytest.approx(0.5)
    assert recency(3 * WEEK, WEEK) == pytest.approx(0.125)


def test_a_memory_from_the_future_counts_as_now() -> None:
    assert recency(-5 * DAY, WEEK) == 1.0


def test_relevance_is_bm25_relative_to_the_best_match() -> None:
    ranked = rank(
        [Candidate(1, 0.0, 0.5, bm25=-4.0), Candidate(2, 0.0, 0.5, bm25=-1.0)],
        now=0.0, weights=LEXICAL_WEIGHTS, half_life_s=WEEK, limit=5,
    )
    assert [(r.id, r.scores["relevance"]) for r in ranked] == [(1, 1.0), (2, 0.25)]
    assert ranked[0].scores["bm25"] == -4.0


def test_score_is_the_weighted_sum_of_its_components() -> None:
    weights = RankingWeights(relevance=0.5, recency=0.2, importance=0.1, vector=0.2)
    [ranked] = rank(
        [Candidate(1, -WEEK, 0.8, bm25=-2.0, cosine=0.5)],
        now=0.0, weights=weights, half_life_s=WEEK, limit=1,
    )
    assert ranked.scores == {
        "bm25": -2.0, "relevance": 1.0, "vector": 0.5, "recency": 0.5, "importance": 0.8
    }
    assert ranked.score == pytest.approx(0.5 * 1.0 + 0.2 * 0.5 + 0.2 * 0.5 + 0.1 * 0.8)


def test_negative_cosine_counts_as_no_similarity() -> None:
    [ranked] = rank(
        [Candidate(1, 0.0, 0.5, cosine=-0.7)],
        now=0.0, weights=LEXICAL_WEIGHTS, half_life_s=WEEK, limit=1,
    )
    assert ranked.scores["vector"] == 0.0


def test_equal_scores_break_ties_newest_then_highest_id() -> None:
    candidates = [Candidate(1, 10.0, 0.5), Candidate(3, 10.0, 0.5), Candidate(2, 20.0, 0.5)]
    ranked = rank(candidates, now=20.0, weights=RankingWeights(0.0, 0.0, 1.0),
                  half_life_s=WEEK, limit=3)
    assert [r.id for r in ranked] == [2, 3, 1]


def test_only_the_best_limit_are_returned() -> None:
    candidates = [Candidate(i, 0.0, i / 10) for i in range(10)]
    ranked = rank(candidates, now=0.0, weights=LEXICAL_WEIGHTS, half_life_s=WEEK, limit=3)
    assert [r.id for r in ranked] == [9, 8, 7]


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        RankingWeights(relevance=0.6, recency=0.6, importance=0.1)


def test_the_weights_a_search_used_follow_its_hits_and_query() -> None:
    ranking = Ranking()
    assert ranking.weights_for(vector=True, lexical=True) is ranking.hybrid
    assert ranking.weights_for(vector=False, lexical=True) is ranking.lexical
    assert ranking.weights_for(vector=False, lexical=False) is ranking.recency_only
