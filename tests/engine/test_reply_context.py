"""What the engine puts in the ``ReplyContext`` an offline backend answers from."""

from tests.engine.characters import character
from tests.engine.conftest import OpenEngine, chat


async def test_the_engine_passes_the_users_earlier_messages_so_a_name_sticks(
        open_engine: OpenEngine) -> None:
    engine = open_engine(character(name="Pip"))
    await chat(engine, "Hi! I'm Sam and I love jazz.")
    await chat(engine, "Hello there", user="someone_else")  # another user's name is not ours
    later = await chat(engine, "Hello again!")
    assert "Sam" in later.response_text
    other = await chat(engine, "Hello again!", user="someone_else")
    assert "Sam" not in other.response_text
