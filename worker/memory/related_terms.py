"""The small paraphrase table that query expansion uses.

Each group lists words people use interchangeably when they talk about one thing ("what is
my dog *called*" / "my dog's *name*"). A query word found in a group brings in the group's
other words. Groups are deliberately small and literal: a word in several groups brings in
all of them. The table is data so it can be read, reviewed and extended in one place; FTS5's
porter stemmer covers regular inflections (live/lives/living) and the lemmatizer irregular
ones (grew/grow), so mostly base forms are listed. What a thing *is* (violin → instrument)
is the other table, ``worker.memory.categories``, applied to the memories instead.
"""

from __future__ import annotations

RELATED_TERM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"name", "named", "called", "call", "nickname"}),
    frozenset({"live", "home", "city", "town", "village", "from", "reside", "moved", "address",
               "place", "based", "located", "settled", "relocated", "hometown"}),
    frozenset({"work", "job", "occupation", "career", "profession", "employed", "works",
               "employer", "workplace", "office", "trade"}),
    frozenset({"like", "love", "enjoy", "favourite", "favorite", "adore", "fan", "prefer",
               "fond", "keen", "admire"}),
    frozenset({"hate", "dislike", "detest", "loathe", "stand", "refuse"}),
    # "dog" and "cat" are not each other's paraphrase: what they are (pet, animal) is a
    # category (worker.memory.categories), indexed with the memory.
    frozenset({"dog", "puppy", "pup", "doggy"}),
    frozenset({"cat", "kitten", "kitty"}),
    frozenset({"rabbit", "bunny"}),
    frozenset({"birthday", "born", "birth", "age", "old"}),
    frozenset({"mother", "mom", "mum", "mama", "mummy", "parent"}),
    frozenset({"father", "dad", "papa", "daddy", "parent"}),
    frozenset({"parents", "mum", "dad", "mom", "folks"}),
    frozenset({"family", "relatives", "relative", "parents", "folks", "kin"}),
    frozenset({"grandmother", "grandma", "granny", "nan", "nana", "gran", "grandparents"}),
    frozenset({"grandfather", "grandpa", "grandad", "granddad", "gramps", "grandparents"}),
    frozenset({"sister", "brother", "sibling"}),
    frozenset({"wife", "husband", "partner", "spouse", "girlfriend", "boyfriend", "married",
               "fiance", "fiancee"}),
    frozenset({"wedding", "married", "marry", "marriage", "wed"}),
    frozenset({"child", "children", "kid", "son", "daughter", "twins"}),
    frozenset({"son", "boy"}),
    frozenset({"daughter", "girl"}),
    frozenset({"friend", "buddy", "pal", "mate"}),
    frozenset({"boss", "manager", "supervisor"}),
    frozenset({"colleague", "coworker", "workmate", "teammate"}),
    frozenset({"promote", "promoted", "promotion", "position", "role"}),
    frozenset({"teach", "teacher", "lesson", "lessons", "class", "tutor", "lecture"}),
    frozenset({"study", "studying", "student", "learn", "learning"}),
    frozenset({"school", "university", "college", "uni", "degree", "graduate", "graduated",
               "kindergarten", "nursery", "campus"}),
    frozenset({"exam", "test", "quiz"}),
    frozenset({"grades", "results", "marks", "score"}),
    frozenset({"food", "eat", "meal", "dish", "diet", "cuisine", "snack"}),
    frozenset({"cook", "cooking", "bake", "baking", "kitchen", "recipe"}),
    frozenset({"music", "song", "band", "listen", "singer", "sing", "album", "musician"}),
    frozenset({"concert", "gig"}),
    frozenset({"play", "perform"}),
    frozenset({"film", "movie", "cinema", "director"}),
    frozenset({"book", "read", "novel", "author"}),
    frozenset({"art", "artist", "painting", "painter", "paint", "gallery"}),
    frozenset({"sad", "upset", "unhappy", "down", "depressed", "cry"}),
    frozenset({"happy", "glad", "excited", "thrilled", "joy"}),
    frozenset({"angry", "mad", "furious", "annoyed", "annoy", "irritate", "bother",
               "frustrate"}),
    frozenset({"scared", "afraid", "fear", "worried", "anxious", "nervous", "terrified",
               "frightened", "frighten", "scare", "panic", "phobia", "nerves", "uneasy",
               "dread", "claustrophobic"}),
    frozenset({"relax", "calm", "unwind", "chill", "peaceful"}),
    frozenset({"promise", "promised", "remind", "remember", "forget"}),
    frozenset({"ask", "asked", "question", "wonder", "wondered"}),
    frozenset({"doctor", "physician", "gp", "medic"}),
    frozenset({"hospital", "clinic"}),
    frozenset({"surgery", "operation", "procedure"}),
    frozenset({"medicine", "medication", "pill", "pills", "tablet", "prescription", "meds"}),
    frozenset({"ill", "sick", "illness", "disease", "unwell", "condition"}),
    frozenset({"healthcare", "medical", "health"}),
    frozenset({"hurt", "injure", "injury", "injured", "broke", "sprain", "sprained",
               "fracture", "fractured", "pain"}),
    frozenset({"headache", "migraine"}),
    frozenset({"sleep", "rest", "insomnia", "nap", "asleep"}),
    frozenset({"allergic", "allergy", "intolerant", "intolerance", "avoid"}),
    frozenset({"arm", "wrist", "elbow", "hand", "shoulder"}),
    frozenset({"leg", "knee", "ankle", "foot", "feet", "hip", "toe"}),
    frozenset({"quit", "stop", "stopped", "resign", "leave"}),
    frozenset({"start", "begin", "started", "began"}),
    frozenset({"money", "save", "saving", "savings", "afford", "budget", "cash"}),
    frozenset({"register", "sign", "signed", "enrol", "enroll", "join", "entered"}),
    frozenset({"race", "marathon", "run", "running", "jog", "triathlon"}),
    frozenset({"exercise", "workout", "training", "gym", "fitness", "sport"}),
    frozenset({"holiday", "vacation", "trip", "travel", "journey", "tour", "getaway"}),
    frozenset({"plan", "want", "hope", "intend", "thinking", "planning", "wish"}),
    frozenset({"dream", "someday", "hope", "wish", "ambition"}),
    frozenset({"collect", "collection", "collector", "gather"}),
    frozenset({"hobby", "pastime", "interest"}),
    frozenset({"colour", "color", "shade"}),
    frozenset({"clothes", "wear", "clothing", "dress", "outfit", "wardrobe"}),
    frozenset({"garden", "yard", "backyard", "lawn"}),
    frozenset({"house", "home", "flat", "apartment", "cottage", "bungalow"}),
    frozenset({"street", "road", "avenue", "lane"}),
    frozenset({"die", "died", "dead", "death", "passed", "pass", "funeral"}),
    frozenset({"lose", "lost", "misplace", "misplaced", "missing"}),
    frozenset({"wallet", "purse"}),
    frozenset({"lift", "lifts", "elevator"}),
    frozenset({"plane", "aeroplane", "airplane", "flight", "fly", "flying", "airport"}),
    frozenset({"leave", "depart", "departure", "flight", "fly", "flying"}),
    frozenset({"swim", "swimming", "pool", "water", "drown", "drowned"}),
    frozenset({"speaking", "speech", "presentation", "public"}),
    frozenset({"car", "drive", "driving", "vehicle", "licence", "license"}),
    frozenset({"party", "celebrate", "celebration", "organise", "organize", "throw",
               "host"}),
    frozenset({"celebrate", "birthday", "anniversary"}),
    frozenset({"navy", "sailor", "naval", "ship"}),
    frozenset({"army", "soldier", "military"}),
    frozenset({"animal", "creature", "beast"}),
    frozenset({"drink", "beverage"}),
    frozenset({"business", "shop", "store", "company"}),
    frozenset({"event", "occasion"}),
)


def _index(groups: tuple[frozenset[str], ...]) -> dict[str, frozenset[str]]:
    related: dict[str, set[str]] = {}
    for group in groups:
        for word in group:
            related.setdefault(word, set()).update(group - {word})
    return {word: frozenset(others) for word, others in related.items()}


RELATED_TERMS: dict[str, frozenset[str]] = _index(RELATED_TERM_GROUPS)
"""Word → the other words of every group it belongs to (never itself)."""
