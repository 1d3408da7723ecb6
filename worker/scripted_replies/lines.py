"""The phrase tables: every line a scripted reply is made of, by what it answers.

Templates are filled with ``str.format`` once, with the user's words as values (never parsed
as a template, so braces in a message are just text): ``{what}`` is the user's topic in the
character's point of view, ``{What}`` the same capitalised.
"""

from __future__ import annotations

from typing import Final

# (casual, formal) openings by intent; {n} is ", Sam" or nothing, {me} the character's name
# (in full on the first turn, as an introduction; the short name after that).
OPENINGS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
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
HOSTILE_FOLLOW_UP: Final = {
    True: ("Rough day? We can start over.", "Shall we start again?"),
    False: ("Try that again, nicer this time.", "I will continue when you can be civil."),
}

TOPIC_LINES: Final[dict[str, tuple[str, ...]]] = {
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
FEELINGS_LOW: Final = frozenset(("tired", "exhausted", "sad", "down", "lonely", "stressed",
                                 "anxious", "nervous", "bored", "sick", "worried", "scared",
                                 "angry", "upset"))
FEEL_LINES: Final = {
    True: ("I'm sorry you're {what}.", "{What}? Come here, sit for a minute.",
           "That's hard. What's making you {what}?"),
    False: ("{What}! That's lovely to hear.", "Look at you, {what}!", "Good — you deserve it."),
}
# A topic the character knows: their specialty or interests came up.
SHARED_LINES: Final = ("Now you're speaking my language — {shared}.",
                       "That's close to my heart: {shared}.", "Ha, {shared}? That's my world.")
OWN_TASTE_LINES: Final = ("Me? Give me {interest} any day.",
                          "For me it's {interest}, every time.",
                          "My own weakness is {interest}.")
# A greeting with nothing else in it gets a question back: (casual, formal).
GREETING_FOLLOW_UPS: Final = (("What's new?", "What brings you by?", "How's your day going?"),
                              ("What brings you here?", "How may I help?",
                               "How has your day been?"))

HOW_ARE_YOU: Final[dict[str, str]] = {
    "happy": "Doing great, honestly.", "excited": "Buzzing. Genuinely buzzing.",
    "content": "Good. Quietly good.", "calm": "Steady. Unhurried.",
    "neutral": "Not bad at all.", "anxious": "A bit jittery, if I'm honest.",
    "stressed": "Stretched thin, but holding.", "sad": "I've had brighter days.",
    "irritated": "Could be better. Don't ask.", "tired": "Running on fumes.",
}
ANSWERS: Final[dict[str, tuple[str, ...]]] = {
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
MEMORY_LINES: Final = ("I remember {memory}.", "You told me {memory}, didn't you?",
                       "If memory serves, {memory}.")

# Humour style keywords → a line for the joke intent (all matches are candidates).
HUMOUR_LINES: Final = (
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
DEFAULT_HUMOUR_LINE: Final = "Give me a minute; I'll think of one to top it."
