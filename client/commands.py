"""What a line typed at the chat prompt means: a message, a slash command, or a mistake.

Pure: ``parse_line`` maps text to a value, ``MultilineInput`` folds ``\"\"\"``-delimited
lines into one message, ``parse_setting`` and ``parse_turn`` read the arguments of ``/set``
and ``/why``. The REPL and the tests share them; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from protocol.generation import MAX_REPLY_TOKENS, GenerationSettings

CommandName = Literal[
    "help", "status", "vitals", "mood", "goals", "memory", "memories", "remember", "forget",
    "save", "load", "snapshots",
    "reset", "undo", "regen", "keep", "alternatives", "pick", "greeting", "why", "set", "show",
    "prompt",
    "export", "characters", "switch", "clear", "quit",
]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: CommandName
    usage: str
    summary: str
    argument: Literal["none", "optional", "required"] = "none"


COMMANDS: Final[tuple[CommandSpec, ...]] = (
    CommandSpec("help", "/help", "list the commands"),
    CommandSpec("status", "/status", "character summary, vitals, turn count"),
    CommandSpec("vitals", "/vitals", "the six levels with baselines and changes"),
    CommandSpec("mood", "/mood", "current mood and its intensity"),
    CommandSpec("goals", "/goals", "the character's active goals"),
    CommandSpec("memory", "/memory QUERY", "search the character's memories", "required"),
    CommandSpec("memories", "/memories [--user U] [--kind K]",
                "every memory with its id, kind, importance and source (only U's with --user, "
                "only kind K with --kind fact,preference,…)",
                "optional"),
    CommandSpec("remember", "/remember TEXT",
                "make the character remember TEXT about you (no undo removes it)", "required"),
    CommandSpec("forget", "/forget ID|QUERY",
                "forget memory ID, or the memories matching QUERY (shows them, asks first)",
                "required"),
    CommandSpec("prompt", "/prompt [TEXT]",
                "the prompt your last turn sent the model; with TEXT, the one TEXT would send"
                " (a dry run: nothing is sent)", "optional"),
    CommandSpec("save", "/save [NAME]", "save a snapshot (a timestamped name if none)",
                "optional"),
    CommandSpec("load", "/load NAME", "restore a snapshot", "required"),
    CommandSpec("snapshots", "/snapshots", "list saved snapshots"),
    CommandSpec("reset", "/reset [--wipe-memories]",
                "reset state; memories are kept unless --wipe-memories", "optional"),
    CommandSpec("undo", "/undo", "remove your last turn"),
    CommandSpec("regen", "/regen", "replace the last reply with a new one"),
    CommandSpec("keep", "/keep", "save a reply the server cut off, as it is (marked incomplete)"),
    CommandSpec("alternatives", "/alternatives", "the replies kept for the last turn"),
    CommandSpec("pick", "/pick N", "make reply N of /alternatives the current one", "required"),
    CommandSpec("greeting", "/greeting N",
                "open the conversation with the card's greeting N instead (0: its first "
                "message, 1…: its alternate greetings)", "required"),
    CommandSpec("why", "/why [N]", "why turn N (default: the newest) went as it did",
                "optional"),
    CommandSpec("set", "/set NAME VALUE",
                "this session's temperature, top_p, max_tokens or model (VALUE default: "
                "the character's)", "required"),
    CommandSpec("show", "/show", "this session's settings and those the last turn ran with"),
    CommandSpec("export", "/export [FILE]", "export the full state as JSON (to FILE or screen)",
                "optional"),
    CommandSpec("characters", "/characters", "list the characters"),
    CommandSpec("switch", "/switch ID", "talk to another character", "required"),
    CommandSpec("clear", "/clear", "clear the screen"),
    CommandSpec("quit", "/quit", "leave (Ctrl+D works too)"),
)

_SPECS: Final[dict[str, CommandSpec]] = {spec.name: spec for spec in COMMANDS}
_ALIASES: Final[dict[str, CommandName]] = {
    "exit": "quit", "q": "quit", "regenerate": "regen", "alts": "alternatives",
    "h": "help", "?": "help",
}
MULTILINE_FENCE: Final = '"""'
WIPE_MEMORIES_FLAG: Final = "--wipe-memories"


@dataclass(frozen=True, slots=True)
class Say:
    """Text for the character."""

    text: str


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command; ``argument`` is the rest of the line, stripped (``None`` if empty)."""

    name: CommandName
    argument: str | None = None

    @property
    def wipe_memories(self) -> bool:
        return self.name == "reset" and self.argument == WIPE_MEMORIES_FLAG


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line that looks like a command but is not one; ``message`` says how to fix it."""

    message: str


Parsed = Say | Command | Invalid | None


def parse_line(line: str) -> Parsed:
    """``None`` for a blank line; ``//text`` sends ``/text`` literally."""
    stripped = line.strip()
    if not stripped:
        return None
    if stripped.startswith("//"):
        return Say(stripped[1:])
    if not stripped.startswith("/"):
        return Say(stripped)
    word, _, rest = stripped[1:].partition(" ")
    key = word.lower()
    name = _ALIASES.get(key, key)
    spec = _SPECS.get(name)
    if spec is None:
        return Invalid(f"Unknown command /{word}; /help lists the commands (// sends a '/').")
    argument = rest.strip() or None
    if spec.argument == "required" and argument is None:
        return Invalid(f"Usage: {spec.usage}")
    if spec.argument == "none" and argument is not None:
        return Invalid(f"/{spec.name} takes no argument. Usage: {spec.usage}")
    if spec.name == "reset" and argument not in (None, WIPE_MEMORIES_FLAG):
        return Invalid(f"Usage: {spec.usage}")
    return Command(spec.name, argument)


class MultilineInput:
    """Folds a ``\"\"\"``-fenced block into one line of input.

    A line starting with ``\"\"\"`` opens a block (text after the fence is its first line);
    the block closes on a line ending with ``\"\"\"``. ``feed`` returns the completed input, or
    ``None`` while a block is open. A single line with both fences (``\"\"\"hi\"\"\"``) is a
    one-line block.
    """

    def __init__(self) -> None:
        self._lines: list[str] | None = None

    @property
    def open(self) -> bool:
        return self._lines is not None

    def feed(self, line: str) -> str | None:
        if self._lines is None:
            if not line.lstrip().startswith(MULTILINE_FENCE):
                return line
            body = line.lstrip()[len(MULTILINE_FENCE):]
            if body.rstrip().endswith(MULTILINE_FENCE):
                return body.rstrip()[: -len(MULTILINE_FENCE)]
            self._lines = [body] if body else []
            return None
        if line.rstrip().endswith(MULTILINE_FENCE):
            self._lines.append(line.rstrip()[: -len(MULTILINE_FENCE)])
            text = "\n".join(self._lines).strip("\n")
            self._lines = None
            return text
        self._lines.append(line)
        return None

    def abandon(self) -> None:
        """Drop a half-typed block (Ctrl+C at the continuation prompt)."""
        self._lines = None


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """A setting ``/set`` changes: how its value is read and what it must be, in words."""

    read: type[float] | type[int] | type[str]
    expects: str


SETTINGS: Final[dict[str, SettingSpec]] = {
    "temperature": SettingSpec(float, "a number from 0 to 2"),
    "top_p": SettingSpec(float, "a number from 0 to 1"),
    "max_tokens": SettingSpec(int, f"a whole number from 1 to {MAX_REPLY_TOKENS}"),
    "model": SettingSpec(str, "a model name without spaces"),
}
"""What ``/set`` knows, in ``/show``'s order (the fields of ``GenerationSettings``)."""
_SETTING_ALIASES: Final[dict[str, str]] = {"num_predict": "max_tokens"}  # Ollama's name
_DEFAULT_WORDS: Final = frozenset({"default", "none", "unset"})
SET_USAGE: Final = ("Usage: /set NAME VALUE — NAME is temperature, top_p, max_tokens or model;"
                    " VALUE 'default' gives it back to the character")


@dataclass(frozen=True, slots=True)
class SetOption:
    """``/set NAME VALUE``: ``value`` ``None`` gives the setting back to the character."""

    name: str
    value: float | int | str | None


def parse_setting(argument: str) -> SetOption | Invalid:
    """The argument of ``/set``: ``NAME VALUE`` (``ollama run``'s ``parameter NAME VALUE``
    too), checked against the range ``chat_request.options`` accepts."""
    words = argument.split()
    if words and words[0].lower() == "parameter":
        words = words[1:]
    if len(words) != 2:
        return Invalid(SET_USAGE)
    name = _SETTING_ALIASES.get(words[0].lower(), words[0].lower())
    raw = words[1]
    spec = SETTINGS.get(name)
    if spec is None:
        return Invalid(f"/set knows {', '.join(SETTINGS)}; not {words[0]!r}")
    if raw.lower() in _DEFAULT_WORDS:
        return SetOption(name, None)
    try:
        value = spec.read(raw)
        msgspec.convert({name: value}, GenerationSettings)
    except (ValueError, msgspec.ValidationError):
        return Invalid(f"/set {name}: expected {spec.expects}, got {raw!r}")
    return SetOption(name, value)


def parse_turn(argument: str | None) -> int | Invalid | None:
    """The argument of ``/why``: a turn number (1 or more), or ``None`` for the newest."""
    if argument is None:
        return None
    text = argument.strip()
    if not text.isdigit() or int(text) < 1:
        return Invalid("Usage: /why [N] — N is a turn number (1 is the first turn)")
    return int(text)


MEMORIES_USAGE: Final = ("Usage: /memories [--user U] [--kind K[,K…]] — U is the user whose "
                         "memories to list, K a kind (fact, preference, promise, question, "
                         "emotion, summary; message and reply: what was said, word for word)")


@dataclass(frozen=True, slots=True)
class MemoriesFilter:
    """What ``/memories`` lists: about ``user`` (everyone: ``None``), of ``kinds``
    (every kind: ``None``)."""

    user: str | None = None
    kinds: tuple[str, ...] | None = None


def parse_memories_filter(argument: str | None) -> MemoriesFilter | Invalid:
    """The argument of ``/memories``: ``--user U`` and ``--kind K[,K…]`` (``--opt=V`` too),
    either, both or neither. The kinds are the server's to check."""
    words = (argument or "").split()
    options: dict[str, str] = {}
    while words:
        word = words.pop(0)
        name, equals, value = word.partition("=")
        if not equals:
            value = words.pop(0) if words else ""
        if name not in ("--user", "--kind") or not value or name in options:
            return Invalid(MEMORIES_USAGE)
        options[name] = value
    kinds = options.get("--kind")
    parsed_kinds = tuple(k for k in kinds.split(",") if k) if kinds is not None else None
    if parsed_kinds == ():
        return Invalid(MEMORIES_USAGE)
    return MemoriesFilter(user=options.get("--user"), kinds=parsed_kinds)


def parse_forget(argument: str) -> int | str:
    """The argument of ``/forget``: a memory id (digits, ``#`` allowed before them), else a
    query whose matching memories are to go."""
    text = argument.strip()
    digits = text.removeprefix("#")
    return int(digits) if digits.isdigit() and int(digits) > 0 else text


CONFIRM_WORDS: Final = frozenset({"y", "yes"})


def help_lines() -> list[tuple[str, str]]:
    """``(usage, summary)`` for every command, in menu order."""
    return [(spec.usage, spec.summary) for spec in COMMANDS]
