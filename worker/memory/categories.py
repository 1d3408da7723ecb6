"""What things are: the small category table that memory indexing uses (data).

People ask about a thing by what it is ("which *instrument* does my son play?") and say it by
its name ("he's learning the *violin*"). Each category has one name and everyday members; a
memory that mentions a member is indexed under the category's name too
(``worker.memory.index_terms``), so the question's word finds it. Other words for a category
("dish", "meal" for food) are related terms of its name (``worker.memory.related_terms``):
one name per category, so a question that uses several of them counts the category once.
Members are single words, base forms (the indexer looks them up by lemma too); a word may be
in several categories. The table is general and literal, kept as data so it can be read,
reviewed and extended in one place.
"""

from __future__ import annotations

Category = tuple[str, frozenset[str]]
"""(the category's name, its members)."""

CATEGORY_GROUPS: tuple[Category, ...] = (
    ("instrument", frozenset({
        "guitar", "violin", "piano", "drum", "drums", "cello", "flute", "trumpet", "saxophone",
        "sax", "clarinet", "harp", "ukulele", "bass", "keyboard", "harmonica", "accordion",
        "banjo", "viola", "trombone", "oboe", "organ", "mandolin", "synthesizer", "tuba",
    })),
    ("food", frozenset({
        "pizza", "pasta", "ramen", "sushi", "curry", "soup", "salad", "burger", "sandwich",
        "bread", "sourdough", "cake", "chocolate", "cheese", "rice", "noodle", "steak",
        "chicken", "taco", "dumpling", "pancake", "peanut", "nut", "egg", "meat", "fruit",
        "vegetable", "tofu", "pie", "cookie", "biscuit", "yoghurt", "yogurt", "butter",
        "beef", "pork", "lamb", "seafood", "shellfish", "prawn", "shrimp", "strawberry",
        "apple", "banana", "garlic", "onion", "mushroom", "potato", "tomato", "paella",
        "lasagne", "lasagna", "risotto", "kebab", "falafel", "hummus", "omelette", "porridge",
        "cereal", "gluten", "wheat", "dessert", "icecream", "crisps", "chips", "fries",
    })),
    ("vegetable", frozenset({
        "mushroom", "carrot", "broccoli", "spinach", "potato", "tomato", "onion", "garlic",
        "lettuce", "cabbage", "pea", "bean", "courgette", "zucchini", "aubergine",
        "eggplant", "cucumber", "cauliflower", "kale", "celery", "leek", "sprout", "beetroot",
    })),
    ("drink", frozenset({
        "coffee", "tea", "beer", "wine", "juice", "milk", "whisky", "whiskey", "cocktail",
        "soda", "cola", "espresso", "latte", "cappuccino", "lemonade", "vodka", "gin", "rum",
        "cider", "smoothie",
    })),
    ("caffeine", frozenset({
        "coffee", "espresso", "latte", "cappuccino", "tea", "cola",
    })),
    ("dairy", frozenset({
        "milk", "cheese", "butter", "yoghurt", "yogurt", "cream", "lactose", "icecream",
    })),
    ("diet", frozenset({
        "vegetarian", "vegan", "pescatarian", "gluten", "keto", "halal", "kosher", "lactose",
    })),
    ("language", frozenset({
        "english", "french", "spanish", "german", "italian", "portuguese", "japanese",
        "chinese", "mandarin", "cantonese", "korean", "arabic", "russian", "hindi", "dutch",
        "swedish", "norwegian", "danish", "finnish", "greek", "turkish", "polish", "hebrew",
        "latin", "welsh", "gaelic", "urdu", "bengali", "swahili", "vietnamese", "thai",
        "persian", "farsi", "ukrainian", "czech", "hungarian", "romanian", "catalan",
    })),
    ("sport", frozenset({
        "football", "soccer", "tennis", "basketball", "rugby", "cricket", "golf", "swim",
        "swimming", "run", "running", "cycle", "cycling", "hockey", "volleyball", "baseball",
        "boxing", "yoga", "pilates", "ski", "skiing", "surf", "surfing", "climb", "climbing",
        "marathon", "jog", "jogging", "hike", "hiking", "badminton", "squash", "rowing",
        "karate", "judo", "gym", "workout", "skate", "skating", "triathlon", "walk",
    })),
    ("hobby", frozenset({
        "gardening", "knitting", "painting", "drawing", "photography", "reading", "chess",
        "cooking", "baking", "fishing", "hiking", "camping", "collecting", "collect",
        "pottery", "sewing", "woodworking", "birdwatching", "gaming", "dancing", "singing",
        "writing", "crochet", "origami", "puzzle", "embroidery", "calligraphy", "quilting",
    })),
    ("game", frozenset({
        "chess", "poker", "scrabble", "monopoly", "sudoku", "crossword", "bridge", "cards",
        "backgammon", "checkers", "draughts", "darts", "snooker", "pool",
    })),
    ("pet", frozenset({
        "dog", "cat", "puppy", "kitten", "rabbit", "bunny", "hamster", "parrot", "bird",
        "fish", "goldfish", "horse", "pony", "snake", "spider", "mouse", "rat", "guinea",
        "tortoise", "turtle", "lizard", "ferret", "budgie", "canary", "gerbil", "chinchilla",
        "iguana", "gecko", "frog",
    })),
    ("animal", frozenset({
        "dog", "cat", "puppy", "kitten", "rabbit", "bunny", "hamster", "parrot", "bird",
        "fish", "goldfish", "horse", "pony", "snake", "spider", "mouse", "rat", "guinea",
        "tortoise", "turtle", "lizard", "ferret", "budgie", "canary", "gerbil", "frog",
        "cow", "sheep", "pig", "duck", "goat", "chicken", "fox", "deer", "bear", "wolf",
        "bee", "wasp", "ant", "moth", "mosquito", "cockroach", "beetle", "insect", "bug",
        "shark", "whale", "bat", "pigeon", "owl", "crow", "squirrel", "worm", "jellyfish",
        "crab", "scorpion", "lion", "tiger", "elephant", "monkey",
    })),
    ("rodent", frozenset({
        "hamster", "mouse", "rat", "guinea", "gerbil", "squirrel", "chinchilla",
    })),
    ("bird", frozenset({
        "parrot", "budgie", "canary", "pigeon", "owl", "crow", "duck", "chicken", "cockatiel",
        "seagull", "robin", "sparrow",
    })),
    ("fish", frozenset({"goldfish", "guppy", "carp", "koi", "salmon", "trout", "tuna"})),
    ("vehicle", frozenset({
        "car", "van", "truck", "lorry", "bike", "bicycle", "motorbike", "motorcycle",
        "scooter", "campervan", "jeep", "suv", "hatchback", "convertible",
    })),
    ("transport", frozenset({
        "bus", "tram", "train", "metro", "subway", "tube", "taxi", "ferry", "plane", "flight",
    })),
    ("colour", frozenset({
        "red", "blue", "green", "yellow", "black", "white", "purple", "pink", "orange",
        "brown", "grey", "gray", "gold", "silver", "turquoise", "violet", "beige", "maroon",
    })),
    ("weather", frozenset({
        "rain", "snow", "storm", "thunderstorm", "thunder", "lightning", "wind", "fog",
        "sunshine", "heat", "hail", "hurricane", "tornado", "drizzle", "frost", "heatwave",
    })),
    ("medicine", frozenset({
        "insulin", "aspirin", "ibuprofen", "paracetamol", "antibiotic", "pill", "inhaler",
        "antidepressant", "tablet", "prescription", "painkiller", "vaccine", "steroid",
        "chemotherapy", "statin",
    })),
    ("illness", frozenset({
        "diabetes", "asthma", "migraine", "cancer", "flu", "allergy", "depression", "anxiety",
        "arthritis", "insomnia", "covid", "eczema", "pressure", "cholesterol", "epilepsy",
        "adhd", "autism", "dementia", "infection", "fever", "cough", "palpitation",
    })),
    ("injury", frozenset({
        "sprain", "fracture", "bruise", "strain", "concussion", "broke", "dislocate",
    })),
    ("job", frozenset({
        "nurse", "doctor", "teacher", "engineer", "electrician", "plumber", "firefighter",
        "lawyer", "accountant", "chef", "cook", "vet", "dentist", "pilot", "driver",
        "farmer", "builder", "programmer", "developer", "designer", "architect",
        "journalist", "writer", "artist", "musician", "police", "policeman", "officer",
        "soldier", "scientist", "cleaner", "waiter", "waitress", "baker", "carpenter",
        "mechanic", "pharmacist", "librarian", "cashier", "receptionist", "paramedic",
        "midwife", "surgeon", "therapist", "sailor", "professor", "lecturer", "translator",
        "hairdresser", "barista", "butcher", "postman", "secretary", "banker", "consultant",
        "manager",
    })),
    ("healthcare", frozenset({
        "nurse", "doctor", "hospital", "clinic", "surgeon", "paramedic", "midwife",
        "pharmacist", "dentist", "gp", "therapist", "physician", "ward",
    })),
    ("business", frozenset({
        "cafe", "restaurant", "bakery", "bookshop", "bookstore", "shop", "store", "bar",
        "pub", "salon", "boutique", "company", "startup", "firm", "bistro", "deli",
        "florist", "gallery", "hotel",
    })),
    ("subject", frozenset({
        "maths", "math", "mathematics", "physics", "chemistry", "biology", "history",
        "geography", "english", "art", "music", "science", "literature", "economics",
        "philosophy", "psychology", "law", "medicine", "french", "spanish", "german",
    })),
    ("home", frozenset({
        "house", "flat", "apartment", "cottage", "bungalow", "studio", "farmhouse", "cabin",
        "villa", "condo",
    })),
    ("place", frozenset({
        "village", "city", "town", "street", "station", "office", "beach", "airport", "park",
        "library", "museum", "market", "school", "hospital", "church", "island", "country",
        "mountain", "lake", "river", "coast", "neighbourhood", "suburb", "countryside",
    })),
    ("art", frozenset({
        "painting", "painter", "sculpture", "sculptor", "drawing", "gallery", "portrait",
        "artist", "mural",
    })),
    ("event", frozenset({
        "party", "wedding", "birthday", "anniversary", "festival", "concert", "gig",
        "graduation", "funeral", "christening", "reunion",
    })),
    ("family", frozenset({
        "mother", "father", "mum", "mom", "dad", "sister", "brother", "son", "daughter",
        "aunt", "uncle", "cousin", "nephew", "niece", "grandmother", "grandfather", "grandma",
        "grandpa", "grandparent", "husband", "wife", "parent", "sibling", "twin",
        "stepmother", "stepfather", "granddaughter", "grandson",
    })),
)


def _index(groups: tuple[Category, ...]) -> dict[str, tuple[str, ...]]:
    names_of: dict[str, list[str]] = {}
    for name, members in groups:
        for member in members:
            known = names_of.setdefault(member, [])
            if name not in known and name != member:
                known.append(name)
    return {member: tuple(names) for member, names in names_of.items()}


CATEGORY_NAMES: dict[str, tuple[str, ...]] = _index(CATEGORY_GROUPS)
"""Member → the names of every category it belongs to (never itself)."""
