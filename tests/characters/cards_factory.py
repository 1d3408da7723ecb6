"""Character Cards built by the tests themselves (V2 PNG, V3 JSON), rich in every field."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

LOREBOOK: dict[str, Any] = {
    "name": "Harbour lore",
    "description": "Places and people of the harbour",
    "scan_depth": 4,
    "token_budget": 512,
    "recursive_scanning": False,
    "extensions": {"tool_specific": {"colour": "#123456"}},
    "entries": [
        {"keys": ["lighthouse"], "content": "The lighthouse has been dark since {{char}} arrived.",
         "extensions": {}, "enabled": True, "insertion_order": 10, "case_sensitive": None,
         "name": "lighthouse", "priority": 5, "id": 1, "comment": "",
         "selective": False, "secondary_keys": [], "constant": False, "position": None},
    ],
}


def v2_card() -> dict[str, Any]:
    return {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Captain Mirela Voss",
            "description": "{{char}} is a retired smuggler who now runs the harbour café.\n"
                           "She knows everyone's debts.",
            "personality": "wry, protective, unsentimental",
            "scenario": "{{user}} walks into the café during a storm.",
            "first_mes": "*Wipes the counter.* You look like trouble, {{user}}. Coffee?",
            "mes_example": "<START>\n{{user}}: Any work?\n{{char}}: Depends who's asking.",
            "creator_notes": "Best with slow-burn mystery.",
            "system_prompt": "Stay in character as {{char}}; never narrate for {{user}}.",
            "post_history_instructions": "Keep replies under 120 words.",
            "alternate_greetings": ["*Doesn't look up.* We're closed.", "Storm's early."],
            "character_book": LOREBOOK,
            "tags": ["noir", "harbour", "café"],
            "creator": "greenroom tests",
            "character_version": "1.3",
            "extensions": {
                "talkativeness": "0.5",
                "fav": False,
                "world": "harbour",
                "depth_prompt": {"prompt": "{{char}} hides a ledger.", "depth": 4,
                                 "role": "system"},
                "some_other_tool": {"nested": [1, 2, {"deep": None}]},
            },
        },
    }


def v3_card() -> dict[str, Any]:
    card = v2_card()
    card["spec"] = "chara_card_v3"
    card["spec_version"] = "3.0"
    data = card["data"]
    data["name"] = "Mirela (V3)"
    data["nickname"] = "Mira"
    data["group_only_greetings"] = ["*Nods at the whole table.* Sit. All of you."]
    data["assets"] = [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]
    data["creator_notes_multilingual"] = {"fr": "Idéal pour un mystère lent."}
    data["source"] = ["https://example.invalid/mirela"]
    data["creation_date"] = 1735689600
    data["modification_date"] = 1738368000
    data["x_future_field"] = {"kept": True}
    return card


def card_text(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card).encode("utf-8")).decode("ascii")


def write_png(path: Path, chunks: dict[str, str]) -> Path:
    """A real 4×4 PNG with the given tEXt chunks."""
    info = PngInfo()
    for keyword, text in chunks.items():
        info.add_text(keyword, text)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 120, 40)).save(buffer, format="PNG", pnginfo=info)
    path.write_bytes(buffer.getvalue())
    return path


def write_json(path: Path, card: dict[str, Any]) -> Path:
    path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return path
