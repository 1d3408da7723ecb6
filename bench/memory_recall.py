"""Memory recall: facts said in passing, asked back in other words (recall@1 and recall@3).

Run: ``python -m bench.memory_recall`` (about half a minute; ``--misses`` lists what was not
found, ``--embedder`` picks the hybrid run's embedder). One user, ``sam``, talks with a
bundled character through the real ``CharacterEngine`` and the scripted backend: the
``FACTS`` below, each an ordinary sentence, with two lines of small talk between every two
of them (a clock moves 90 minutes per turn, so the conversation spans about twelve days).
Then every fact is asked back with its paraphrased ``question`` through
``CharacterEngine.search_memory`` (what ``memory_search_request`` calls), top 3.

A hit counts when it is a memory of the turn the fact was said in *and* its text (or the
words it keeps) holds the fact's ``answer`` — the memory must carry what was asked for.
A question shares at most one content word with its fact (checked when the module loads:
stopwords aside, compared after stripping plural/verb endings), so plain word overlap
cannot answer it.

The facts and questions were written, and committed, before the memory code they measure
was changed; they are not tuned to its rules. Rows:

* offline — no embedder: FTS5/BM25 + recency + importance;
* hybrid — the same with an embedder; the fakes have no notion of meaning, so this row
  shows the mechanics (vectors stored, fused, nothing lost), not what a real model adds:
  ``fake-ollama`` is the tests' fake Ollama server (``/api/embed``, vectors from a hash of
  the text), ``trigram`` the tests' character-trigram embedder (spelling similarity);
* baseline column — the same run with the hits narrowed to rule-formed memories (kinds
  other than ``message``/``reply``), i.e. what was searchable before every sentence was kept.
  ``bench/README.md`` also records this script run against the commit before that change.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, machine_line, render_table
from runtime.settings import Settings
from schemas.loader import load_character
from worker.backends.base import Embedder
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.engine.results import TurnResult
from worker.memory.models import MemoryHit
from worker.memory.query import STOPWORDS

CHARACTER = "m-playful"
USER = "sam"
TURN_SECONDS = 90 * 60
START = 1_800_000_000.0
EPISODIC_KINDS = frozenset({"message", "reply"})


@dataclass(frozen=True, slots=True)
class Fact:
    """Something ``sam`` says, the question that asks it back, and the word the answer holds."""

    topic: str
    said: str
    question: str
    answer: str


FACTS: tuple[Fact, ...] = (
    # family
    Fact("family", "My sister Ophelia moved to Lisbon last spring.",
         "Which city does my sister live in now?", "Lisbon"),
    Fact("family", "My brother Tomas just became a firefighter.",
         "What does my brother do for a living?", "firefighter"),
    Fact("family", "Our daughter Mia started kindergarten in September.",
         "When did my little girl begin school?", "kindergarten"),
    Fact("family", "My grandmother turned ninety last week.",
         "How old is my grandma?", "ninety"),
    Fact("family", "My parents are celebrating their fortieth anniversary in June.",
         "When is mum and dad's wedding anniversary?", "June"),
    Fact("family", "My husband Dev works night shifts at the airport.",
         "Where is my spouse employed?", "airport"),
    Fact("family", "My cousin Leila is getting married in Marrakech.",
         "Where is Leila's wedding going to be?", "Marrakech"),
    Fact("family", "My son has been learning to play the violin.",
         "Which instrument is my boy practising?", "violin"),
    Fact("family", "My best friend Joao lives in Berlin now.",
         "Where is Joao based these days?", "Berlin"),
    # health
    Fact("health", "I'm allergic to peanuts.",
         "Is there any food I must avoid?", "peanuts"),
    Fact("health", "I broke my wrist skiing in February.",
         "How did I injure my arm?", "skiing"),
    Fact("health", "I've been getting migraines almost every week.",
         "What kind of headaches do I suffer from?", "migraines"),
    Fact("health", "The doctor told me my blood pressure is too high.",
         "What did the physician say about my health?", "pressure"),
    Fact("health", "I can't sleep more than four hours a night lately.",
         "How much rest am I getting?", "four"),
    Fact("health", "I stopped drinking coffee because it gave me heart palpitations.",
         "Why did I quit caffeine?", "palpitations"),
    Fact("health", "I'm having knee surgery on the 14th of March.",
         "When is my operation?", "March"),
    Fact("health", "I'm lactose intolerant, so no cheese for me.",
         "Which dairy products can't I have?", "cheese"),
    Fact("health", "I'm vegetarian, I haven't eaten meat in ten years.",
         "What is my diet like?", "vegetarian"),
    # plans
    Fact("plans", "I'm thinking of learning the guitar.",
         "Which instrument did I want to pick up?", "guitar"),
    Fact("plans", "Next summer we want to drive across Iceland in a camper van.",
         "Where are we going on holiday next year?", "Iceland"),
    Fact("plans", "I'm saving up to buy a house by the sea.",
         "What am I putting money aside for?", "house"),
    Fact("plans", "I signed up for a marathon in October.",
         "What race did I register for?", "marathon"),
    Fact("plans", "I plan to quit my job at the bank next year.",
         "Am I going to leave my work?", "bank"),
    Fact("plans", "I want to learn Japanese before our trip to Kyoto.",
         "Which language am I studying?", "Japanese"),
    Fact("plans", "We're throwing a surprise party for Ana on Saturday.",
         "What are we organising for Ana?", "party"),
    # likes
    Fact("likes", "I absolutely adore old Hitchcock films.",
         "Which movie director is my favourite?", "Hitchcock"),
    Fact("likes", "Nothing beats a bowl of ramen on a rainy day.",
         "What is my comfort food?", "ramen"),
    Fact("likes", "I could listen to Nina Simone all day.",
         "Which singer do I like most?", "Simone"),
    Fact("likes", "Gardening on Sunday mornings is my favourite way to relax.",
         "What hobby calms me down?", "Gardening"),
    Fact("likes", "Blue is the only colour I ever wear.",
         "What shade are my clothes?", "Blue"),
    Fact("likes", "I collect vintage postcards from flea markets.",
         "What do I gather as a pastime?", "postcards"),
    Fact("likes", "Chess is the one game I never get bored of.",
         "What board game do I enjoy?", "Chess"),
    Fact("likes", "I'm obsessed with sourdough baking these days.",
         "What have I been making in the kitchen?", "sourdough"),
    # places
    Fact("places", "I grew up in a small village near Porto.",
         "Where was my childhood home?", "Porto"),
    Fact("places", "We just moved into a flat on Rua Augusta.",
         "What street is my new apartment on?", "Augusta"),
    Fact("places", "I spent a year studying in Edinburgh.",
         "Which Scottish city did I live in as a student?", "Edinburgh"),
    Fact("places", "My favourite place in the world is a tiny beach in Crete.",
         "Where do I love going most?", "Crete"),
    Fact("places", "My office is right next to the central station.",
         "Where is my workplace located?", "station"),
    Fact("places", "My family is originally from Kerala.",
         "Where do my relatives come from?", "Kerala"),
    # work
    Fact("work", "I teach maths at a secondary school.",
         "What subject do I give lessons in?", "maths"),
    Fact("work", "I got promoted to team lead last month.",
         "Did I get a new position at work?", "lead"),
    Fact("work", "My boss keeps scheduling meetings at seven in the morning.",
         "What annoys me about my manager?", "meetings"),
    Fact("work", "I've been a nurse for twelve years.",
         "How long have I worked in healthcare?", "twelve"),
    Fact("work", "I'm starting a new job at a bakery on Monday.",
         "Where will I be working from next week?", "bakery"),
    Fact("work", "My colleague Priya sits beside me and hums all day.",
         "Who is the coworker that makes noise?", "Priya"),
    # pets
    Fact("pets", "Our dog Pepper passed away in January.",
         "What happened to our puppy?", "Pepper"),
    Fact("pets", "I have a grumpy old cat called Mustard.",
         "What's the name of my kitty?", "Mustard"),
    Fact("pets", "We adopted two guinea pigs for the kids.",
         "Which small animals did we get for the children?", "guinea"),
    Fact("pets", "My parrot can whistle the national anthem.",
         "What trick does my bird know?", "whistle"),
    Fact("pets", "The neighbours' rabbit keeps escaping into our garden.",
         "Whose bunny gets into my yard?", "neighbours"),
    # fears
    Fact("fears", "I'm terrified of flying.",
         "Am I scared of aeroplanes?", "flying"),
    Fact("fears", "Spiders make my skin crawl.",
         "Which creatures frighten me?", "Spiders"),
    Fact("fears", "I panic in lifts, so I always take the stairs.",
         "Am I claustrophobic in elevators?", "lifts"),
    Fact("fears", "Deep water has scared me since I nearly drowned as a kid.",
         "Why am I afraid of swimming?", "drowned"),
    Fact("fears", "Public speaking makes me feel sick with nerves.",
         "What am I anxious about doing in front of people?", "speaking"),
    # events with dates
    Fact("events", "My birthday is on the 3rd of August.",
         "When was I born?", "August"),
    Fact("events", "Our wedding was on the 12th of May 2018.",
         "When did I get married?", "2018"),
    Fact("events", "I have a dentist appointment on Thursday at nine.",
         "When am I seeing the dentist?", "Thursday"),
    Fact("events", "My driving test is on the 2nd of April.",
         "When is my exam for the licence?", "April"),
    Fact("events", "We're flying to Toronto on December 20th for Christmas.",
         "When do we leave for Canada?", "December"),
    Fact("events", "My grandfather died on New Year's Eve two years ago.",
         "When did my grandad pass?", "Eve"),
    Fact("events", "The concert we bought tickets for is on the 9th of July.",
         "What date is the gig?", "July"),
    Fact("events", "I graduated from university in 2015.",
         "What year did I finish my degree?", "2015"),
    # other things people mention
    Fact("things", "I drive a rusty green Volvo.",
         "What car do I have?", "Volvo"),
    Fact("things", "I speak Portuguese with my grandparents.",
         "Which language do I use with grandma and grandpa?", "Portuguese"),
    Fact("things", "Last Tuesday I lost my wallet on the tram.",
         "Where did I misplace my purse?", "tram"),
)

SMALL_TALK: tuple[str, ...] = (
    "Hi again!",
    "How's your day going?",
    "Haha, that's funny.",
    "The weather is grey again today.",
    "I had a sandwich for lunch.",
    "What have you been up to?",
    "Okay, makes sense.",
    "It's been a long week.",
    "Do you ever get bored?",
    "That's a good point.",
    "I'm a bit tired this evening.",
    "Tell me something interesting.",
    "Anyway, where were we?",
    "My phone battery is almost dead.",
    "I watched some TV last night.",
    "Nice, I like that.",
    "What do you think about rain?",
    "Sorry, I got distracted for a minute.",
    "The traffic was terrible this morning.",
    "Let's talk about something else.",
    "Do you have any plans for later?",
    "I just made a cup of tea.",
    "Yeah, I know what you mean.",
    "It's so quiet here right now.",
    "I should probably go to bed soon.",
    "Good morning!",
    "That reminds me of something.",
    "Hmm, I'm not sure about that.",
    "The train was late again.",
    "Thanks for listening.",
    "I cleaned the kitchen today.",
    "What's your favourite season?",
    "My friend says hello.",
)
SMALL_TALK_BETWEEN_FACTS = 2

_WORD = re.compile(r"[^\W_]+")
_ENDINGS = ("ies", "ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    """A crude stem, only for checking the overlap rule (so "lives" and "live" count as one)."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def content_stems(text: str) -> set[str]:
    """The content words of ``text`` (lower-cased, stopwords dropped), stemmed."""
    words = (w for w in _WORD.findall(text.lower().replace("'s", "")) if w not in STOPWORDS)
    return {_stem(w) for w in words}


def shared_content_words(fact: Fact) -> set[str]:
    return content_stems(fact.said) & content_stems(fact.question)


def _check_facts() -> None:
    too_close = {f.said: sorted(shared_content_words(f)) for f in FACTS
                 if len(shared_content_words(f)) > 1}
    if too_close:
        raise AssertionError(f"questions sharing more than one content word: {too_close}")
    missing = [f.said for f in FACTS if f.answer.lower() not in f.said.lower()]
    if missing:
        raise AssertionError(f"facts that do not hold their answer: {missing}")


_check_facts()


def conversation() -> list[tuple[str, Fact | None]]:
    """Every message ``sam`` sends, in order, with the fact it states (``None``: small talk)."""
    said: list[tuple[str, Fact | None]] = []
    chatter = 0
    for fact in FACTS:
        for _ in range(SMALL_TALK_BETWEEN_FACTS):
            said.append((SMALL_TALK[chatter % len(SMALL_TALK)], None))
            chatter += 1
        said.append((fact.said, fact))
    return said


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where each fact's answer ranked: 1-based rank in the top 3, or ``None``."""

    ranks: dict[str, int | None]
    rule_only_ranks: dict[str, int | None]
    memory_count: int

    def recall(self, k: int, *, rule_only: bool = False) -> float:
        ranks = self.rule_only_ranks if rule_only else self.ranks
        return sum(1 for r in ranks.values() if r is not None and r <= k) / len(ranks)


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _rank(hits: Sequence[MemoryHit], fact: Fact, turn_id: int) -> int | None:
    answer = fact.answer.lower()
    for position, hit in enumerate(hits, start=1):
        if hit.turn_id == turn_id and answer in f"{hit.text} {hit.source}".lower():
            return position
    return None


async def measure(embedder: Embedder | None = None) -> Outcome:
    """Say the whole conversation to a fresh character, then ask every question back."""
    character = load_character(CHARACTER, Settings().characters_dir).character
    clock = _Clock()
    with tempfile.TemporaryDirectory() as scratch:
        engine = CharacterEngine.open(character, data_dir=Path(scratch),
                                      backend=ScriptedBackend(), clock=clock, embedder=embedder)
        try:
            turn_of: dict[str, int] = {}
            for message, fact in conversation():
                async for event in engine.chat(message, user=USER):
                    if isinstance(event, TurnResult) and fact is not None:
                        turn_of[fact.said] = event.turn_id
                clock.now += TURN_SECONDS
            ranks: dict[str, int | None] = {}
            rule_only: dict[str, int | None] = {}
            for fact in FACTS:
                hits = await engine.search_memory(fact.question, 50)
                ranks[fact.said] = _rank(hits[:3], fact, turn_of[fact.said])
                rules = [h for h in hits if h.kind not in EPISODIC_KINDS]
                rule_only[fact.said] = _rank(rules[:3], fact, turn_of[fact.said])
            count = int(engine.character_info()["memory_count"])
        finally:
            engine.close()
    return Outcome(ranks=ranks, rule_only_ranks=rule_only, memory_count=count)


@asynccontextmanager
async def embedder_named(name: str) -> AsyncIterator[Embedder]:
    """``fake-ollama``: the tests' fake Ollama server through the real ``OllamaEmbedder``;
    ``trigram``: the tests' in-process character-trigram embedder."""
    if name == "trigram":
        from tests.memory.embedders import HashedTrigramEmbedder

        yield HashedTrigramEmbedder()
        return
    from tests.backends.fake_llm_servers import FakeOllamaServer
    from worker.backends.embeddings import OllamaEmbedder

    async with FakeOllamaServer(models=["nomic-embed-text:latest"], embedding_dim=64) as server:
        embedder = OllamaEmbedder(server.base_url, "nomic-embed-text")
        try:
            yield embedder
        finally:
            await embedder.aclose()


def rows(label: str, outcome: Outcome, *, goal: bool) -> list[Row]:
    at3 = outcome.recall(3)
    return [
        Row(f"recall@1, {label}", outcome.recall(1), outcome.recall(1, rule_only=True), "share"),
        Row(f"recall@3, {label}", at3, outcome.recall(3, rule_only=True), "share",
            "≥ 0.9 offline" if goal else "", at3 >= 0.9 if goal else None),
    ]


async def run(embedder: str = "fake-ollama") -> str:
    offline = await measure()
    async with embedder_named(embedder) as chosen:
        hybrid = await measure(chosen)
    table = render_table(
        f"Memory recall: {len(FACTS)} facts asked back in other words (top 3)",
        [*rows("offline", offline, goal=True), *rows(f"hybrid ({embedder})", hybrid, goal=False)],
    )
    return (table + f"\nbaseline = the same hits narrowed to rule-formed memories; "
            f"{offline.memory_count} memories after {len(conversation())} turns\n")


def _misses(outcome: Outcome) -> str:
    lines = [f"- [{f.topic}] {f.said}  ←  {f.question}"
             for f in FACTS if outcome.ranks[f.said] is None]
    return "\n".join(lines) or "(none)"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--embedder", choices=("fake-ollama", "trigram"), default="fake-ollama")
    parser.add_argument("--misses", action="store_true", help="list the facts not in the top 3")
    parser.add_argument("--offline-only", action="store_true")
    args = parser.parse_args(argv)

    async def go() -> None:
        offline = await measure()
        results = [("offline", offline)]
        if not args.offline_only:
            async with embedder_named(args.embedder) as chosen:
                results.append((f"hybrid ({args.embedder})", await measure(chosen)))
        table_rows = [row for label, outcome in results
                      for row in rows(label, outcome, goal=label == "offline")]
        print(render_table(f"Memory recall: {len(FACTS)} facts asked back in other words",
                           table_rows))
        print(f"{offline.memory_count} memories after {len(conversation())} turns; "
              + machine_line())
        for label, outcome in results:
            by_topic: dict[str, list[bool]] = {}
            for fact in FACTS:
                rank = outcome.ranks[fact.said]
                by_topic.setdefault(fact.topic, []).append(rank is not None)
            print(f"{label} recall@3 by topic: " + ", ".join(
                f"{topic} {sum(found)}/{len(found)}" for topic, found in by_topic.items()))
            if args.misses:
                print(f"{label} misses:\n{_misses(outcome)}")

    asyncio.run(go())


if __name__ == "__main__":
    main()
