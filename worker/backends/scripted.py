"""The ``scripted`` backend: offline, deterministic, in-character replies without a model.

This is the engine for **development, tests and demos**: it lets everything run on a fresh
machine with no LLM server, and makes every conversation reproducible. It is not a language
model and does not pretend to understand. It *reads* the message with a few small tables of
patterns — who the user says they are ("I'm Sam", "my name is Sam"), what they say about
themselves ("I love jazz", "I work as a nurse", "I live in Porto"), what they ask (how the
character is, who they are, their opinion of something, advice, anything else) and, failing
that, the message's most salient phrase — and answers that, in the character's voice:

* an opening chosen by intent (greeting, farewell, thanks, apology, hostile, joke, compliment,
  question, small talk) in the character's register (formal or casual), addressing the user by
  name when a name is known (``ReplyContext.user_name`` unless it is a placeholder such as
  ``"user"``, a name the message gives, or a "…'s name is Sam." memory) and never as "user";
* a reaction to what the user said, with their words reflected back, pronouns flipped
  ("my band" → "your band"), linked to the character's own interests and specialty;
* an answer to a question drawn from the character's card (mood, occupation, location,
  interests, specialty, core values), honest about what lies outside the specialty;
* a matched memory retold to the user in the second person ("I remember you love jazz.");
* the mood shown through wording — an interjection, sharper or softer punctuation, a stage
  direction when the mood is strong — rather than announced;
* the character's humour style on jokes, and now and then one of their quirks: a quoted
  catch-phrase spoken, emojis used, or an action shown as a stage direction.

Deterministic by construction: choices are made by plain arithmetic on the turn index, the
message length and the requested ``variant``, never by ``random`` or ``hash()``, so a reply is
the same in every process whatever ``PYTHONHASHSEED`` is. A regenerate asks for the next
variant, which moves every choice one step on: consecutive variants always open differently
(each intent has three openings per register, so variants ``n`` and ``n + 3`` may read alike).
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Final

from schemas.model import Character
from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationRequest,
    ReplyContext,
    TextDelta,
)

_TOKEN_RE: Final = re.compile(r"\S+\s*")
_WORD_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SENTENCE_RE: Final = re.compile(r"[^.!?]+[.!?]*")
_PHRASE_TOKEN_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]")

# Words that never make a topic: function words, fillers, greetings, chatty verbs.
_STOPWORD_TEXT: Final = (
    "the a an and or but if of to in on at for with about from into is are was were be been "
    "am do does did have has had what why how who where when which can could would should "
    "will you your yours me my mine we our us they them their it its this that these those "
    "there here just really very so too also not no yes hey hello hi hiya howdy please thanks "
    "thank tell know think like want get got some any much many more most i i'm you're it's "
    "don't ok okay oh well lol haha yeah yep nope good great nice bye goodbye sorry anything "
    "something everything today tonight now then one ever never always maybe say said"
)
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())
# Placeholders a client sends when nobody gave a name: never used as a name.
_PLACEHOLDER_NAMES: Final = frozenset(("", "user", "guest", "anonymous", "anon", "you", "me"))
# Capitalised words that follow "I'm" without being a name.
_NOT_NAME_TEXT: Final = (
    "i not so just really very here back sorry fine good okay ok home done ready new "
    "english british american french german spanish italian portuguese irish scottish"
)
_NOT_NAMES: Final = frozenset(_NOT_NAME_TEXT.split())
_TITLES: Final = frozenset(("dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "sir",
                            "lady", "lord", "prof", "prof.", "professor", "captain"))

_NAME_RE: Final = re.compile(
    r"\b(?:(?i:my name is|my name's|call me|i'm called|i am called)\s+(?P<any>[A-Za-z][\w'-]*)"
    r"|(?i:i'm|i am)\s+(?P<cap>[A-Z][a-z'-]+))"
)
_MEMORY_NAME_RE: Final = re.compile(r"^\S+'s name is (?P<name>[A-Za-z][\w'-]*)", re.IGNORECASE)

# ---------------------------------------------------------------------------- user statements
# One whitespace character before the conjunction, not ``\s+``: the lookahead runs at every
# character of a captured phrase, and ``\s+`` there rescans a run of spaces each time
# (8,000 spaces took 17 s). A longer run just ends the phrase at its last space.
_CLAUSE_END: Final = r"(?=\s(?:and|but|because|so|though|while)\b|[.,!?;:]|$)"


@dataclass(frozen=True, slots=True)
class Statement:
    """Something the user said about themselves: ``kind`` names the rule, ``what`` is the
    object in the character's point of view ("my band" → "your band"), ``verb`` the user's
    verb where the reply repeats it."""

    kind: str
    what: str
    verb: str = ""


_STATEMENT_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(f"(?:{pattern})" + r"\s+(?P<what>[^.,!?;:]+?)" + _CLAUSE_END,
                      re.IGNORECASE))
    for kind, pattern in (
        ("feel", r"\bi(?:'m| am| feel)(?: so| really| a bit| kind of| pretty| very)?(?=\s+(?:"
                 r"tired|exhausted|sad|down|lonely|stressed|anxious|nervous|bored|sick|"
                 r"happy|excited|great|thrilled|proud|worried|scared|angry|upset)\b)"),
        ("hate", r"\bi (?:really |just |absolutely )?(?:hate|loathe|can't stand|cannot stand|"
                 r"dislike|don't like|do not like)"),
        ("love", r"\bi (?:really |just |absolutely |totally )?(?:love|adore|enjoy|like|"
                 r"am into|'m into)|\bi(?:'m| am) (?:a (?:big |huge )?fan of|into)"),
        ("work", r"\bi work (?:as|at|in|for|on)"),
        ("study", r"\bi(?:'m| am)? (?:study|studying|learning)"),
        ("place", r"\bi (?:live in|grew up in|moved to)|\bi(?:'m| am) from"),
        ("did", r"\bi (?:just |finally |recently )?(?P<verb>got|bought|made|finished|started|"
                r"watched|read|saw|visited|built|cooked|baked|wrote|played|lost|won|passed|"
                r"failed|adopted|met)"),
        ("want", r"\bi (?:really )?(?:want|need|wish|hope|plan)(?: to)?"),
        ("identity", r"\bi(?:'m| am) (?:an?)(?!\s+(?:bit|little|lot|big|huge|fan)\b)"),
    )
)
_PRONOUN_FLIPS: Final = {
    "i": "you", "i'm": "you're", "i've": "you've", "i'll": "you'll", "i'd": "you'd",
    "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are",
    "you": "me", "your": "my", "yours": "mine", "yourself": "myself", "you're": "I'm",
}
_PRONOUN_RE: Final = re.compile(
    r"\b(?:i'm|i've|i'll|i'd|i|me|my|mine|myself|am|you're|yourself|yours|your|you)\b",
    re.IGNORECASE)
_OBJECT_PRONOUNS: Final = frozenset(("it", "that", "this", "them", "you", "me", "him", "her",
                                     "doing", "to", "being"))
_MAX_TOPIC_WORDS: Final = 6


def _flip(text: str) -> str:
    """The user's words from the character's side: my → your, you → me (best effort)."""
    return _PRONOUN_RE.sub(lambda m: _PRONOUN_FLIPS[m.group(0).lower()], text)


def _statement(message: str) -> Statement | None:
    """The first thing the user says about themselves, by the rule order above."""
    for kind, pattern in _STATEMENT_RULES:
        for match in pattern.finditer(message):
            words = match.group("what").split()[:_MAX_TOPIC_WORDS]
            if not words or (len(words) == 1 and words[0].lower() in _OBJECT_PRONOUNS):
                continue
            verb = match.groupdict().get("verb") or ""
            return Statement(kind, _flip(" ".join(words)), verb.lower())
    return None


def _salient(sentence: str, ignore: frozenset[str]) -> str | None:
    """The sentence's most telling phrase: the last three words of the longest (in letters)
    run of consecutive content words, the later of equals (questions end on their object)."""
    skip = _STOPWORDS | ignore
    runs: list[list[str]] = [[]]
    for token in _PHRASE_TOKEN_RE.findall(sentence):
        if token[0].isalpha() and len(token) > 2 and token.lower() not in skip:
            runs[-1].append(token)
        else:
            runs.append([])
    best = ""
    for run in runs:
        phrase = " ".join(run[-3:])
        if phrase and len(phrase) >= len(best):
            best = phrase
    return best or None


# ------------------------------------------------------------------------------ questions
_QUESTION_KINDS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("how_are_you", r"\bhow(?: are|'re|'s) (?:you|it going|things|life)\b|\bhow do you feel"
                        r"\b(?! about)|\bwhat'?s up\b"),
        ("identity", r"\bwho are you\b|\bwhat'?s your name\b|\babout yourself\b"),
        ("job", r"\bwhat do you do\b|\byour (?:job|work)\b|\bfor a living\b"),
        ("origin", r"\bwhere (?:are you from|do you live|did you grow up)\b"),
        ("memory", r"\b(?:do|did) you remember\b|\bremember (?:me|my|when|what)\b"),
        ("favourite", r"\byour fav(?:ou)?rite (?P<what>[\w' -]+?)" + _CLAUSE_END),
        ("opinion", r"\b(?:do you (?:like|love|enjoy)|what do you think (?:of|about)|how do you"
                    r" feel about|your (?:opinion|take) on)\s+(?P<what>[^.,!?;:]+?)"
                    + _CLAUSE_END),
        ("advice", r"\b(?:tips?|tricks?|advice|suggestions?|recommend)\b|\bhow (?:do|can|should)"
                   r" i\b|\bwhat should i\b"),
    )
)


@dataclass(frozen=True, slots=True)
class Question:
    kind: str
    topic: str | None


def _question(message: str, ignore: frozenset[str]) -> Question | None:
    """The last question in the message (the one the user is waiting on), classified."""
    asked = [s.strip() for s in _SENTENCE_RE.findall(message) if s.strip().endswith("?")]
    if not asked:
        return None
    sentence = asked[-1]
    for kind, pattern in _QUESTION_KINDS:
        match = pattern.search(sentence)
        if match:
            what = match.groupdict().get("what")
            return Question(kind, _flip(what.strip()) if what else _salient(sentence, ignore))
    return Question("general", _salient(sentence, ignore))


# ------------------------------------------------------------------------------- the tables
# (casual, formal) openings by intent; {n} is ", Sam" or nothing, {me} the character's name
# (in full on the first turn, as an introduction; the short name after that).
_OPENINGS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "greeting": (("Hey{n}! I'm {me}.", "Oh, hi{n}! {me} here.", "Hey{n} — {me}. Good to see you."),
                 ("Good day{n}. I am {me}.", "Hello{n}; {me}, at your service.",
                  "Welcome{n}. I'm {me}; it is good to see you.")),
    "farewell": (("Take care{n}!", "See you around{n}.", "Bye for now{n} — come back soon."),
                 ("Goodbye{n}, and take care.", "Until next time{n}.",
                  "It was a pleasure{n}. Goodbye for now.")),
    "thanks": (("Any time{n}!", "Ah, don't mention it.", "Happy to help{n}."),
               ("You are most welcome{n}.", "It was my pleasure.", "Glad to be of use{n}.")),
    "apology": (("Hey, it's fine{n}. Really.", "Water under the bridge.",
                 "Apology accepted — we're good."),
                ("Apology accepted{n}.", "Thank you for saying so. It is forgotten.",
                 "No harm done{n}.")),
    "hostile": (("Whoa{n}. That was harsh.", "Ouch. Okay.", "Hey — no need for that."),
                ("That was uncalled for{n}.", "I don't appreciate that tone.",
                 "I beg your pardon?")),
    "joke": (("Ha! Good one{n}.", "Okay, that got me.", "Ha — you're funny{n}."),
             ("Ha. Very good{n}.", "That is genuinely funny.", "You've made me laugh{n}.")),
    "compliment": (("Aw, stop it{n}.", "That's really kind of you{n}.", "You're making me blush."),
                   ("That is very kind of you{n}.", "How gracious of you.",
                    "Thank you{n}; that means a good deal.")),
    "question": (("Ooh, good question{n}.", "Hmm, let me think.", "Okay{n}, here's my take."),
                 ("A fair question{n}.", "Let me consider that.", "An interesting question.")),
    "smalltalk": (("Mm-hm{n}.", "I hear you{n}.", "Oh yeah?"),
                  ("Indeed{n}.", "I see.", "Go on{n}; I'm listening.")),
}
# After hostility: (casual, formal) by whether the character is agreeable.
_HOSTILE_FOLLOW_UP: Final = {
    True: ("Rough day? We can start over.", "Shall we start again?"),
    False: ("Try that again, nicer this time.", "I will continue when you can be civil."),
}

_TOPIC_LINES: Final[dict[str, tuple[str, ...]]] = {
    "love": ("{What}? Now that's a good thing to love.", "Ah, {what} — I can see why.",
             "{What}! What got you hooked?"),
    "hate": ("{What}? Fair — everyone's allowed a few of those.",
             "Not a fan of {what}, then. Noted.", "What is it about {what} that gets to you?"),
    "work": ("{What} — that's real work.", "Working {what}? I'd love to hear what a day's like.",
             "{What}. Bet you've got stories."),
    "study": ("{What}? That takes stamina.", "Studying {what} — how's it going?",
              "{What}! What pulled you towards it?"),
    "place": ("{What}! What's it like there?", "Ah, {what}. I've heard good things.",
              "{What} — do you like it there?"),
    "did": ("You {verb} {what}? How did it go?", "Wait — you {verb} {what}? Tell me everything.",
            "{What}, huh. How do you feel about it?"),
    "want": ("{What} — then let's see if we can get you there.", "Why {what}, if you don't mind"
             " me asking?", "{What}. What's stopping you?"),
    "identity": ("{What} — that's you, then?", "Ah, {what}. I'd like to hear more about that.",
                 "{What}! I wouldn't have guessed."),
    "salient": ("{What} — tell me more.", "Mm, {what}. Go on.", "{What}, you say?"),
    # The same, when the message was unkind without being hostile enough to be called so.
    "salient_sore": ("{What}? Ouch.", "{What} — that stings a little.", "Hm. {What}, is it?"),
}
_SORE_VALENCE: Final = -0.4
_FEELINGS_LOW: Final = frozenset(("tired", "exhausted", "sad", "down", "lonely", "stressed",
                                  "anxious", "nervous", "bored", "sick", "worried", "scared",
                                  "angry", "upset"))
_FEEL_LINES: Final = {
    True: ("I'm sorry you're {what}.", "{What}? Come here, sit for a minute.",
           "That's hard. What's making you {what}?"),
    False: ("{What}! That's lovely to hear.", "Look at you, {what}!", "Good — you deserve it."),
}
# A topic the character knows: their specialty or interests came up.
_SHARED_LINES: Final = ("Now you're speaking my language — {shared}.",
                        "That's close to my heart: {shared}.", "Ha, {shared}? That's my world.")
_OWN_TASTE_LINES: Final = ("Me? Give me {interest} any day.",
                           "For me it's {interest}, every time.",
                           "My own weakness is {interest}.")
# A greeting with nothing else in it gets a question back: (casual, formal).
_GREETING_FOLLOW_UPS: Final = (("What's new?", "What brings you by?", "How's your day going?"),
                               ("What brings you here?", "How may I help?",
                                "How has your day been?"))

_HOW_ARE_YOU: Final[dict[str, str]] = {
    "happy": "Doing great, honestly.", "excited": "Buzzing. Genuinely buzzing.",
    "content": "Good. Quietly good.", "calm": "Steady. Unhurried.",
    "neutral": "Not bad at all.", "anxious": "A bit jittery, if I'm honest.",
    "stressed": "Stretched thin, but holding.", "sad": "I've had brighter days.",
    "irritated": "Could be better. Don't ask.", "tired": "Running on fumes.",
}
_ANSWERS: Final[dict[str, tuple[str, ...]]] = {
    "identity": ("I'm {full}{occupation_clause}.", "{full}. {occupation_sentence}"),
    "job": ("By trade? {Occupation}.", "{Occupation}, for my sins."),
    "origin": ("Home is {location}.", "{location}, these days."),
    "favourite_shared": ("My favourite {what}? Hard to beat {shared}.",
                         "Favourite {what}… I'd have to say {shared}."),
    "favourite_other": ("Favourite {what}? I'm more of a {interest} sort, honestly.",
                        "{What}? I think about {interest} more, to be fair."),
    "advice": ("My advice, for what it's worth: put {value} first and the rest follows.",
               "Here's what {domain_years} taught me: {value} before cleverness.",
               "Start small, keep {value} in sight, and practise more than feels necessary."),
    "advice_shared": ("That's my territory — {domain_years}. Put {value} first; the rest follows.",
                      "Ah, {shared}: I know it well. Start small and keep {value} in sight."),
    "opinion_shared": ("{What}? Love it — it's close to {shared}.",
                       "Honestly? {What} is half my life."),
    "opinion_open": ("{What}? I'm curious about it — more curious than expert.",
                     "I like the idea of {what}, though I'd want to know it better."),
    "opinion_closed": ("{What}? Not really my thing, to be honest.",
                       "{What}… I'll pass, but I see the appeal."),
    "general_shared": ("Now that's my territory — {domain_years}.",
                       "That one I can help with; it's right in {domain}."),
    "general_other": ("{What}? That's outside {domain}, so I'd only be guessing.",
                      "Honest answer: I'm no authority on {what}. What made you wonder?",
                      "{What} — I'd rather ask than pretend. What do you think?"),
    "memory_yes": ("Of course I remember.", "How could I forget?"),
    "memory_no": ("Hmm, remind me?", "I'm not sure I do — tell me again?"),
}
_MEMORY_LINES: Final = ("I remember {memory}.", "You told me {memory}, didn't you?",
                        "If memory serves, {memory}.")


@dataclass(frozen=True, slots=True)
class MoodTone:
    """How a mood colours the wording: leading interjections (one shown from intensity
    0.35), the end mark it prefers for the opening ("" keeps the opening's own), and a
    stage direction shown when intensity >= 0.6."""

    leads: tuple[str, ...]
    end: str
    aside: str


_MOOD_TONES: Final[dict[str, MoodTone]] = {
    "happy": MoodTone(("Oh!", "Well!"), "!", "*grins*"),
    "excited": MoodTone(("Ooh!", "Oh wow!"), "!", "*practically bouncing*"),
    "content": MoodTone(("Mm.", "Ah, nice."), "", "*settles back, smiling*"),
    "calm": MoodTone(("Ah.", "Mm."), ".", "*takes an unhurried breath*"),
    "neutral": MoodTone((), "", ""),
    "anxious": MoodTone(("Um…", "Oh — um."), "", "*fidgets with a sleeve*"),
    "stressed": MoodTone(("Right. Okay.", "Sorry — right."), ".", "*rubs the bridge of the nose*"),
    "sad": MoodTone(("Oh.", "Mm."), ".", "*smiles, a little thinly*"),
    "irritated": MoodTone(("Hm.", "Right."), ".", "*exhales sharply*"),
    "tired": MoodTone(("Mm…", "Ah…"), ".", "*stifles a yawn*"),
}
# Openings that already start with one get no mood interjection ("Oh! Oh, hi").
_INTERJECTIONS: Final = frozenset(("oh", "ah", "ha", "ooh", "hmm", "mm-hm", "aw", "whoa",
                                   "ouch", "hey"))
_POSITIVE_MOODS: Final = frozenset(("happy", "excited", "content"))
_MOOD_LEAD_FROM: Final = 0.35
_MOOD_ASIDE_FROM: Final = 0.6

# Humour style keywords → a line for the joke intent (all matches are candidates).
_HUMOUR_LINES: Final = (
    ("pun", "I'd top it, but my best pun is still in development."),
    ("callback", "Filing that away for later — callbacks are the whole game."),
    ("dramatic", "Ladies and gentlemen — a new champion of comedy!"),
    ("deadpan", "I am laughing. Internally. Extensively."),
    ("dry", "That was very nearly funny. High praise."),
    ("sarcas", "Oh, stop. My sides. They've never been so split."),
    ("self", "Funnier than anything I've said all week, anyway."),
    ("absurd", "That joke deserves a small parade. With a goose."),
    ("paradox", "The joke that is told is not the joke. Still funny."),
    ("understatement", "Mildly amusing. Which, from me, is a standing ovation."),
)
_DEFAULT_HUMOUR_LINE: Final = "Give me a minute; I'll think of one to top it."
_FORMAL_WORDS: Final = ("formal", "high", "proper", "polite", "polished", "professional")
_TERSE_WORDS: Final = ("terse", "concise", "short", "sparse", "measured")
# A quoted phrase in a quirk is something the character says. Single quotes may hold
# apostrophes between letters ('I don't know yet') but not start or end at one (relative's).
_THE_USER_RE: Final = re.compile(r"\bthe user(?:'s)?", re.IGNORECASE)
_QUOTE_RE: Final = re.compile(
    r"[\"“](?P<double>[^\"”]{4,})[\"”]"
    r"|(?<![A-Za-z])['‘](?P<single>(?:[^'’]|(?<=[A-Za-z])['’](?=[A-Za-z])){4,}?)['’](?![A-Za-z])")
# A stage direction keeps the action and drops its condition ("… whenever he feels awkward").
_CONDITION_RE: Final = re.compile(r"(?:[,;]|\s+(?:whenever|when|if|while|before|especially)\b).*$",
                                  re.IGNORECASE)


# ------------------------------------------------------------------------------ the voice
def _pick(options: Sequence[str], seed: int, slot: int = 0) -> str:
    """One of ``options`` by arithmetic only; ``slot`` staggers independent choices."""
    return options[(seed + slot) % len(options)]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_formal(character: Character) -> bool:
    formality = (character.communication_style.formality_level or "").lower()
    return any(word in formality for word in _FORMAL_WORDS)


def _is_terse(character: Character) -> bool:
    pattern = (character.communication_style.verbal_pattern or "").lower()
    return any(word in pattern for word in _TERSE_WORDS)


def _short_name(character: Character) -> str:
    """What the character calls themselves: a quoted nickname, the card's nickname, or the
    first name that is not a title ("Dr. Nadia Rahimi" → "Nadia")."""
    quoted = re.search(r"[\"“](?P<nick>[^\"”]+)[\"”]", character.name)
    if quoted:
        return quoted.group("nick")
    if character.roleplay.nickname:
        return character.roleplay.nickname
    words = [w for w in character.name.split() if w.lower() not in _TITLES]
    return words[0] if words else character.name


def _name_words(character: Character) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD_RE.findall(character.name))


def _name_given_in(message: str) -> str:
    """The name the user gives in ``message`` ("my name is sam", "I'm Sam"), or ""."""
    for match in _NAME_RE.finditer(message):
        name = match.group("any") or match.group("cap")
        if name and name.lower() not in _NOT_NAMES and name.lower() not in _STOPWORDS:
            return _cap(name)
    return ""


def _user_name(context: ReplyContext) -> str:
    """The name to address the user by, or "" when none is known: the latest name the user
    gave (this message, then their earlier ones), the session's user name unless it is a
    placeholder such as "user", or a "…'s name is X." memory."""
    for message in (context.user_message, *reversed(context.earlier_user_messages)):
        given = _name_given_in(message)
        if given:
            return given
    if context.user_name.strip().lower() not in _PLACEHOLDER_NAMES:
        return context.user_name.strip()
    for snippet in context.memory_snippets:
        remembered = _MEMORY_NAME_RE.match(snippet)
        if remembered:
            return _cap(remembered.group("name"))
    return ""


def _shared(character: Character, text: str) -> str | None:
    """The character's interest or specialty that ``text`` touches (a shared word of 4+
    letters, or a plural/singular of one), else None."""
    words = {w.lower().rstrip("s") for w in _WORD_RE.findall(text) if len(w) >= 4}
    candidates = [*character.demographics.interests, *character.specialty.subdomain_knowledge]
    if character.specialty.domain:
        candidates.append(character.specialty.domain)
    for candidate in candidates:
        own = {w.lower().rstrip("s") for w in _WORD_RE.findall(candidate) if len(w) >= 4}
        if words & own:
            return candidate
    return None


def _domain_years(character: Character) -> str:
    specialty = character.specialty
    domain = specialty.domain or "my line of work"
    if specialty.experience_years:
        return f"{specialty.experience_years:g} years of {domain}"
    return domain


def _top_value(character: Character, seed: int) -> str:
    values = sorted(character.personality.core_values, key=lambda v: -v.priority)
    if not values:
        return "honesty"
    return _pick([v.value for v in values[:2]], seed, 3)


def _quirk(character: Character, mood: str, seed: int) -> str:
    """One quirk shown, not told: a quoted phrase is spoken, an emoji quirk uses its own
    emojis (only in a good mood), anything else becomes a stage direction."""
    quirks = [*character.communication_style.quirks, *character.personality.quirks]
    if not quirks:
        return ""
    quirk = _pick(quirks, seed // 2, 1)  # callers show a quirk on even seeds only
    if "emoji" in quirk.lower():
        own = "".join(ch for ch in quirk if unicodedata.category(ch) == "So")
        return (own or "🙂") if mood in _POSITIVE_MOODS else ""
    quoted = _QUOTE_RE.search(quirk)
    if quoted:
        line = _cap((quoted.group("double") or quoted.group("single")).strip().rstrip(":"))
        return line if line[-1] in ".!?…*" else line + "."
    action = _CONDITION_RE.sub("", quirk).strip().rstrip(".")
    # Cards say "the user"; in the scene that is the person being spoken to.
    action = _THE_USER_RE.sub(lambda m: "your" if m.group(0).endswith("'s") else "you", action)
    return f"*{action[:1].lower()}{action[1:]}*"


def _humour(character: Character, seed: int) -> str:
    style = (character.communication_style.humor_style or "").lower()
    lines = [line for key, line in _HUMOUR_LINES if key in style]
    return _pick(lines, seed, 2) if lines else _DEFAULT_HUMOUR_LINE


# ------------------------------------------------------------------------------- the parts
def _opening(context: ReplyContext, formal: bool, name: str, seed: int) -> str:
    casual_lines, formal_lines = _OPENINGS.get(context.intent, _OPENINGS["smalltalk"])
    line = _pick(formal_lines if formal else casual_lines, seed).format(
        n=f", {name}" if name else "",
        me=context.character.name if context.turn_index == 1 else _short_name(context.character))
    tone = _MOOD_TONES.get(context.mood, _MOOD_TONES["neutral"])
    if context.intent == "hostile" or context.valence <= _SORE_VALENCE:
        return line  # no cheerful colouring after unkindness: it would read as not hearing it
    if tone.end and line[-1] in ".!" and line[-1] != tone.end:
        line = line[:-1] + tone.end
    first_word = line.split()[0].strip(",.!?—").lower()
    if (tone.leads and context.mood_intensity >= _MOOD_LEAD_FROM
            and first_word not in _INTERJECTIONS):
        line = f"{_pick(tone.leads, seed // 3, 10)} {line}"
    return line


def _reaction(character: Character, statement: Statement, seed: int) -> list[str]:
    """A reaction to what the user said about themselves, then (unless the character is
    terse) how it touches the character's own specialty or tastes."""
    what = statement.what
    # Each template is formatted once: the user's words are inserted, never parsed as a
    # template, so braces in a message are just text.
    if statement.kind == "feel":
        template = _pick(_FEEL_LINES[what.split()[0].lower() in _FEELINGS_LOW], seed, 4)
    else:
        template = _pick(_TOPIC_LINES[statement.kind], seed, 4)
    lines = [template.format(what=what, What=_cap(what), verb=statement.verb or "got")]
    shared = _shared(character, what)
    if _is_terse(character):
        pass  # a terse character reacts and stops
    elif shared:
        lines.append(_pick(_SHARED_LINES, seed, 5).format(shared=shared))
    elif statement.kind in ("love", "hate") and character.demographics.interests:
        interest = _pick(character.demographics.interests, seed, 5)
        lines.append(_pick(_OWN_TASTE_LINES, seed, 6).format(interest=interest))
    return lines


def _answer(context: ReplyContext, question: Question, seed: int) -> str:
    character = context.character
    kind, what = question.kind, question.topic or "that"
    if kind == "how_are_you":
        return _HOW_ARE_YOU.get(context.mood, _HOW_ARE_YOU["neutral"]) + " And you?"
    occupation = character.demographics.occupation or ""
    interests = character.demographics.interests
    if kind == "memory":
        kind = "memory_yes" if context.memory_snippets else "memory_no"
    elif kind == "identity" or (kind == "job" and not occupation):
        kind = "identity"
    elif kind == "origin" and not character.demographics.location:
        kind = "general"
    elif kind == "favourite" and not interests:
        kind = "opinion"
    shared_interest = _shared(character, what)
    interest = shared_interest or (_pick(interests, seed, 8) if interests else "")
    if kind == "advice" and shared_interest:
        kind = "advice_shared"
    if kind in ("opinion", "general", "favourite"):
        if shared_interest:
            kind += "_shared"
        elif kind == "favourite":
            kind += "_other"
        elif kind == "opinion":
            kind += "_open" if character.personality.big_five.openness >= 0.5 else "_closed"
        else:
            kind += "_other"
    occupation_text = occupation[:1].lower() + occupation[1:]
    return _pick(_ANSWERS[kind], seed, 7).format(
        full=character.name, what=what, What=_cap(what),
        occupation_clause=f", {occupation_text}" if occupation else "",
        occupation_sentence=f"{_cap(occupation)}." if occupation else "",
        Occupation=_cap(occupation), location=character.demographics.location or "",
        interest=interest,
        value=_top_value(character, seed), domain=character.specialty.domain or "my line of work",
        domain_years=_domain_years(character), shared=shared_interest or "",
    )


_THIRD_TO_SECOND: Final = (
    (re.compile(r"^(?:is|was)\b"), lambda m: "are" if m.group(0) == "is" else "were"),
    (re.compile(r"^has\b"), lambda m: "have"),
    (re.compile(r"^does\b"), lambda m: "do"),
    (re.compile(r"^said they will\b"), lambda m: "said you'd"),
    (re.compile(r"^(\w+)ies\b"), lambda m: m.group(1) + "y"),
    (re.compile(r"^(\w+(?:sh|ch|x|z|ss|o))es\b"), lambda m: m.group(1)),
    (re.compile(r"^(\w+[^s'])s\b"), lambda m: m.group(1)),
)
_THEIR_RE: Final = re.compile(r"\b(?:their|they|them|themselves)\b")
_THEIR: Final = {"their": "your", "they": "you", "them": "you", "themselves": "yourself"}


def _as_told_to_user(snippet: str, subjects: Sequence[str]) -> str | None:
    """A memory about the user retold to them: "Sam's dog is called Biscuit." → "your dog is
    called Biscuit"; None when it is not about one of ``subjects``."""
    text = snippet.strip().rstrip(".")
    for subject in subjects:
        if not subject or not text.lower().startswith(subject.lower()):
            continue
        rest = text[len(subject):]
        if rest.startswith("'s "):
            told = "your " + rest[3:]
        elif rest.startswith(" "):
            predicate = rest[1:]
            for pattern, replace in _THIRD_TO_SECOND:
                if pattern.match(predicate):
                    predicate = pattern.sub(replace, predicate, count=1)
                    break
            told = "you " + predicate
        else:
            continue
        return _THEIR_RE.sub(lambda m: _THEIR[m.group(0)], told)
    return None


def _memory_line(context: ReplyContext, name: str, seed: int) -> str:
    """The first matched memory that is not just the user's name, told naturally."""
    subjects = [s for s in (context.user_name.strip(), name, "User") if s]
    for snippet in context.memory_snippets:
        if _MEMORY_NAME_RE.match(snippet) or '"' in snippet:
            # The name is used to address the user instead; quoting memories (a feeling with
            # the user's words, a promise) read as an echo rather than a recollection.
            continue
        told = _as_told_to_user(snippet, subjects)
        if told is None:
            return f"That reminds me — {snippet.strip().rstrip('.')}."
        return _pick(_MEMORY_LINES, seed, 9).format(memory=told)
    return ""


def compose_reply(context: ReplyContext) -> str:
    """The scripted reply for ``context``: pure and deterministic (see the module docstring
    for what it reads and how it answers)."""
    character = context.character
    # The variant shifts the seed, so a regenerate picks the next opening (and the rest).
    seed = context.turn_index + len(context.user_message) + context.variant
    formal = _is_formal(character)
    name = _user_name(context)
    ignore = _name_words(character) | {name.lower()}
    message = context.user_message
    intent = context.intent

    statement = _statement(message) if intent != "hostile" else None
    question = _question(message, ignore) if intent not in ("hostile", "farewell") else None

    parts = [_opening(context, formal, name, seed)]
    if question is not None and question.kind == "how_are_you" and intent == "question":
        parts = []  # "How are you?" is answered straight, not called a good question
    first_message = character.roleplay.first_message
    # The card's first message is the first answer to a first greeting; a regenerate of it
    # (variant > 0) falls back to the openings so that it reads differently.
    if intent == "greeting" and context.turn_index == 1 and first_message and context.variant == 0:
        parts = [first_message.replace("{{char}}", character.name)
                 .replace("{{user}}", name or "friend")]

    if statement is not None:
        parts.extend(_reaction(character, statement, seed))
    if question is not None:
        parts.append(_answer(context, question, seed))
    if statement is None and question is None and intent == "greeting" and len(parts) == 1:
        parts.append(_pick(_GREETING_FOLLOW_UPS[1 if formal else 0], seed, 4))
    if statement is None and question is None and intent == "smalltalk":
        topic = _salient(message, ignore)
        if topic:
            lines = _TOPIC_LINES["salient_sore" if context.valence <= _SORE_VALENCE else "salient"]
            parts.append(_pick(lines, seed, 4).format(
                what=topic, What=_cap(topic)))

    memory = _memory_line(context, name, seed)
    if memory:
        parts.append(memory)
    if intent == "hostile":
        agreeable = character.personality.big_five.agreeableness >= 0.6
        parts.append(_HOSTILE_FOLLOW_UP[agreeable][1 if formal else 0])
    if intent == "joke":
        parts.append(_humour(character, seed))

    # One stage direction at most: on alternate turns a quirk, otherwise a strong mood shows.
    tone = _MOOD_TONES.get(context.mood, _MOOD_TONES["neutral"])
    quirk = (_quirk(character, context.mood, seed) if seed % 2 == 0 and intent != "hostile"
             else "")
    strong = tone.aside and context.mood_intensity >= _MOOD_ASIDE_FROM
    parts.append(quirk or (tone.aside if strong else ""))
    return " ".join(part for part in parts if part)


def _fallback_reply(messages: Sequence[ChatMessage]) -> str:
    last = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return f"You said: {last}" if last else "I'm listening."


class ScriptedBackend:
    """The offline backend. ``word_delay_s`` spaces the streamed words (0: no delay, but
    each word still yields to the event loop, so a reply can be cancelled mid-stream)."""

    name = "scripted"

    def __init__(self, *, word_delay_s: float = 0.0) -> None:
        if word_delay_s < 0:
            raise ValueError(f"word_delay_s must be >= 0, got {word_delay_s!r}")
        self.word_delay_s = word_delay_s

    async def check(self) -> None:
        """Always available: there is no server."""

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        started = time.perf_counter()
        # Composing reads the whole message (linear, but long for a long one): in a thread,
        # so the worker's event loop keeps answering meanwhile.
        reply = (await asyncio.to_thread(compose_reply, request.context)
                 if request.context is not None else _fallback_reply(request.messages))
        tokens = _TOKEN_RE.findall(reply)
        finish: str = "stop"
        limit = request.options.max_tokens
        if limit is not None and len(tokens) > limit:
            tokens, finish = tokens[:limit], "length"
        for token in tokens:
            await asyncio.sleep(self.word_delay_s)
            yield TextDelta(token)
        duration = time.perf_counter() - started
        yield GenerationDone(
            backend=self.name,
            model="scripted",
            finish_reason="length" if finish == "length" else "stop",
            prompt_tokens=sum(len(m.content) // 4 + 4 for m in request.messages),
            completion_tokens=len(tokens),
            duration_s=duration,
            tokens_per_s=len(tokens) / duration if duration > 0 else None,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
