"""docs/protocol.md cannot drift: its example frames decode, it names every message, and its
error-code table is the one in the code."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from protocol import declaration
from protocol.declaration import Handling
from protocol.errors import ERROR_CODE_MEANINGS, ErrorCode, ProtocolError
from protocol.json_codec import decode_client_message, decode_server_message
from protocol.pipe import FromWorker, ToWorker
from protocol.unions import ClientMessage, ServerMessage, message_type_of
from tests.support.paths import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```json\n(.*?)\n```", DOC, flags=re.DOTALL)


def _decode_either(frame: str) -> object:
    try:
        return decode_client_message(frame)
    except ProtocolError as error:
        if error.code is not ErrorCode.UNKNOWN_MESSAGE_TYPE:
            raise
    return decode_server_message(frame)


@pytest.mark.parametrize("frame", EXAMPLES)
def test_every_example_frame_in_the_docs_decodes(frame: str) -> None:
    _decode_either(frame)


def test_every_message_type_has_an_example_frame() -> None:
    decoded_types = {type(_decode_either(frame)) for frame in EXAMPLES}
    undocumented = set(get_args(ClientMessage)) | set(get_args(ServerMessage))
    undocumented -= decoded_types
    assert not undocumented, sorted(cls.__name__ for cls in undocumented)


def test_every_pipe_frame_kind_is_documented() -> None:
    for cls in (*get_args(ToWorker), *get_args(FromWorker)):
        assert f"| `{cls.__struct_config__.tag}` |" in DOC, cls.__name__


def test_the_error_code_table_is_the_one_in_the_code() -> None:
    table = DOC.split("<!-- error-codes:start -->\n")[1].split("<!-- error-codes:end -->")[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.*) \|$", table, flags=re.MULTILINE)
    assert rows == [(code.value, meaning) for code, meaning in ERROR_CODE_MEANINGS.items()]
    assert {code for code, _ in rows} == {code.value for code in ErrorCode}


def test_every_client_message_type_is_named_in_a_heading() -> None:
    headings = "\n".join(line for line in DOC.splitlines() if line.startswith("#"))
    for cls in get_args(ClientMessage):
        assert f"`{message_type_of(cls)}`" in headings, cls.__name__


def test_the_adding_a_message_section_names_every_declaration_and_handling() -> None:
    section = DOC.split("\n## Adding a message\n")[1].split("\n## ")[0]
    for decorator in ("request", "response", "stream_frame", "event", "failure", "to_worker",
                      "from_worker"):
        assert f"`@{decorator}" in section, decorator
        assert callable(getattr(declaration, decorator))
    for handling in Handling:
        assert f"`{handling.name}`" in section, handling
