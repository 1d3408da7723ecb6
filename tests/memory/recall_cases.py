"""Facts said in passing and questions that ask them back in other words: the tests' own set.

Separate from ``bench/memory_recall.py`` (different facts, different words) and written
before the search code they check was changed, so the paraphrase tables are not fitted to
them. Each question shares at most one content word with its fact; ``answer`` is a word the
memory that answers it must hold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecallCase:
    said: str
    question: str
    answer: str


RECALL_CASES: tuple[RecallCase, ...] = (
    RecallCase("My aunt Rosa runs a small bookshop in Seville.",
               "What kind of shop does my aunt own?", "bookshop"),
    RecallCase("My nephew was born in November.",
               "When is the little boy's birthday?", "November"),
    RecallCase("I sprained my ankle playing football.",
               "How did I hurt my foot?", "football"),
    RecallCase("I take insulin twice a day for my diabetes.",
               "What medication am I on?", "insulin"),
    RecallCase("I'm going to Rome for my fiftieth birthday.",
               "Where will I celebrate turning fifty?", "Rome"),
    RecallCase("I'd love to open a cafe one day.",
               "What is my dream business?", "cafe"),
    RecallCase("Sushi is what I order every Friday.",
               "What's my favourite dish?", "Sushi"),
    RecallCase("I've always loved the paintings of Frida Kahlo.",
               "Which artist do I admire?", "Kahlo"),
    RecallCase("We live in a cottage outside Galway.",
               "Where is our house?", "Galway"),
    RecallCase("I work as an electrician for the city council.",
               "What is my trade?", "electrician"),
    RecallCase("My manager Ines wants me to move to the Paris office.",
               "Where might my boss send me?", "Paris"),
    RecallCase("My goldfish Bubbles is five years old.",
               "How old is my fish?", "five"),
    RecallCase("Our hamster escaped last night.",
               "What happened to the pet rodent?", "hamster"),
    RecallCase("I'm frightened of thunderstorms.",
               "What weather scares me?", "thunderstorms"),
    RecallCase("Hospitals make me nervous since my accident.",
               "Why do I feel uneasy about clinics?", "accident"),
    RecallCase("My exam results come out on the 21st of August.",
               "When do I find out my grades?", "August"),
    RecallCase("My mother's surgery went well on Tuesday.",
               "How did mum's operation go?", "surgery"),
    RecallCase("I play the drums in a punk band.",
               "Which instrument do I perform with?", "drums"),
    RecallCase("I run five kilometres before breakfast.",
               "What exercise do I do in the morning?", "kilometres"),
    RecallCase("My girlfriend Chloe is a vet.",
               "What's my partner's job?", "vet"),
    RecallCase("I hate mushrooms.",
               "Which vegetable do I refuse to eat?", "mushrooms"),
    RecallCase("Our twins start university in the autumn.",
               "When do the kids go to college?", "autumn"),
    RecallCase("I lost my keys at the gym yesterday.",
               "Where did I misplace my house keys?", "gym"),
    RecallCase("My grandpa fought in the navy.",
               "Was my grandfather a sailor?", "navy"),
)

SMALL_TALK: tuple[str, ...] = (
    "Hello!", "How are you today?", "Ha, nice one.", "It's raining again.",
    "What are you reading?", "Fair enough.", "I'm home now.", "Busy day, honestly.",
)
