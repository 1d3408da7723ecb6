import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.engine import appraisal
from worker.engine.appraisal import EXCERPT_EDGE_WORDS, appraise, excerpt

INTENTS = [
    ("Hello there!", "greeting"),
    ("Good evening, how have you been", "greeting"),
    ("Bye, see you tomorrow", "farewell"),
    ("Thank you so much for the help", "thanks"),
    ("Sorry, I was rude earlier", "apology"),
    ("You are a stupid useless idiot", "hostile"),
    ("Hello, you pathetic idiot, I hate you", "hostile"),
    ("Why does the moon glow at night?", "question"),
    ("haha that is hilarious lol", "joke"),
    ("You are wonderful and I love talking with you", "compliment"),
    ("The train leaves at five", "smalltalk"),
    ("", "smalltalk"),
]


@pytest.mark.parametrize(("text", "intent"), INTENTS)
def test_intent_is_classified(text: str, intent: str) -> None:
    assert appraise(text).intent == intent


def test_hostile_message_is_threatening_and_negative() -> None:
    s = appraise("You are a stupid useless idiot and I hate you").stimulus
    assert s.threat > 0.6
    assert s.valence < -0.5
    assert s.warmth == 0.0


def test_warm_message_is_warm_and_positive() -> None:
    s = appraise("I really appreciate you, friend, thank you").stimulus
    assert s.warmth > 0.5
    assert s.valence > 0.5
    assert s.threat == 0.0


def test_question_is_curious() -> None:
    assert appraise("How do tides work, and why twice a day?").stimulus.curiosity > 0.5


def test_funny_message_is_humorous() -> None:
    assert appraise("lol that joke was hilarious haha").stimulus.humour > 0.7


def test_neutral_message_has_no_strong_axis() -> None:
    s = appraise("The train leaves at five").stimulus
    assert max(abs(s.valence), s.arousal, s.warmth, s.threat, s.curiosity, s.humour) < 0.1


def test_shouting_raises_arousal() -> None:
    assert appraise("WHERE ARE YOU GOING!!!").stimulus.arousal > appraise(
        "where are you going").stimulus.arousal


def test_axes_stay_in_range() -> None:
    s = appraise("HAHA LOL!!! I HATE YOU, IDIOT, STUPID MORON, love you friend?? 😂😂😂").stimulus
    assert -1.0 <= s.valence <= 1.0
    for value in (s.arousal, s.warmth, s.threat, s.curiosity, s.humour):
        assert 0.0 <= value <= 1.0


class _CountingAnalyzer:
    """Stands in for VADER and records how many words each call was given."""

    def __init__(self) -> None:
        self.words_read: list[int] = []

    def polarity_scores(self, text: str) -> dict[str, float]:
        self.words_read.append(len(text.split()))
        return {"compound": 0.0}


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.sampled_from(["hello", "friend", "I", "HATE", "love", "why?", "lol",
                                       "😂", "not", "very", "but", "!!!", "x" * 50]),
                      max_size=3000))
def test_vader_reads_a_bounded_number_of_words_whatever_the_message_length(
    words: list[str],
) -> None:
    counting = _CountingAnalyzer()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(appraisal, "_analyzer", lambda: counting)
        appraise(" ".join(words))
    assert counting.words_read == [min(len(words), 2 * EXCERPT_EDGE_WORDS)]


def test_a_long_message_is_appraised_by_its_first_and_last_words() -> None:
    message = "Hello friend, I love you." + " The train leaves at five." * 4000 + " Why, idiot?"
    cut = excerpt(message)
    assert cut.startswith("Hello friend, I love you.") and cut.endswith("at five. Why, idiot?")
    assert len(cut.split()) == 2 * EXCERPT_EDGE_WORDS
    assert appraise(message) == appraise(cut)


def test_a_message_within_the_excerpt_is_read_whole() -> None:
    text = "why " * (2 * EXCERPT_EDGE_WORDS)
    assert excerpt(text) == text


@pytest.mark.parametrize(("text", "rule"), [
    ("You are a stupid useless idiot", ">= 0.4"),
    ("Bye, see you tomorrow", 'farewell "see you"'),
    ("Thank you so much for the help", 'thanks "thank"'),
    ("Sorry, I was rude earlier", 'apology "sorry"'),
    ("Hello there!", 'greeting "hello" at the start'),
    ("Why does the moon glow at night?", "a question"),
    ("haha that is hilarious lol", "humour 0."),
    ("The train leaves at five", "no other rule matched"),
])
def test_the_intent_comes_with_the_rule_that_chose_it(text: str, rule: str) -> None:
    assert rule in appraise(text).intent_rule


def test_each_moved_axis_names_its_cues() -> None:
    cues = appraise("WHY are you such an idiot?! haha 😂").cues
    assert '"idiot"' in cues["threat"]
    assert '"why"' in cues["curiosity"] and "a question" in cues["curiosity"]
    assert cues["humour"] == ('"haha"', '"😂"')
    assert '1 × "!"' in cues["arousal"] and any("capitals" in c for c in cues["arousal"])
    assert any(c.startswith('"idiot"') for c in cues["valence"])


def test_an_axis_at_zero_has_no_cues_and_a_neutral_message_none() -> None:
    assert appraise("The train leaves at five").cues == {}
    assert "warmth" not in appraise("You idiot").cues


def test_cues_are_bounded_whatever_the_message() -> None:
    cues = appraise(" ".join(appraisal.THREAT_WORDS) + " !!!!!!!!").cues
    assert all(len(found) <= appraisal.MAX_CUES_PER_AXIS for found in cues.values())
