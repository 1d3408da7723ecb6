"""Card PNGs as SillyTavern writes them: the picture, then ``tEXt`` chunks before ``IEND``.

SillyTavern (``src/character-card-parser.js``) removes every ``chara`` and ``ccv3`` text
chunk of the picture and adds ``chara`` (the V2 card) and ``ccv3`` (the V3 card), each
base64 of the card's UTF-8 JSON, just before ``IEND``. ``png_with_cards`` does the same to
the bytes of any PNG, leaving every other chunk as it was; a picture in another format is
converted to PNG with Pillow first (``as_png``), and ``default_picture`` draws one when
none is given.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import io
import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from schemas.cards import PNG_SIGNATURE, CardImportError

CARD_KEYWORDS = frozenset({"chara", "ccv3"})
DEFAULT_PICTURE_SIZE = (400, 600)  # SillyTavern's avatar shape (2:3)


def card_chunk_text(card: Mapping[str, Any]) -> str:
    """The text of a card chunk: base64 of the card's JSON in UTF-8."""
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii")


def png_with_cards(png: bytes, chunks: Mapping[str, str]) -> bytes:
    """``png`` without its ``chara``/``ccv3`` text chunks, with ``chunks`` (keyword → text,
    in order) added as ``tEXt`` chunks right before ``IEND``. Raises
    ``CardImportError("card-png-corrupt")`` when ``png`` is not a well-formed PNG."""
    kept = [chunk for chunk in _chunks(png) if not _is_card_chunk(chunk)]
    end = next((i for i, (kind, _) in enumerate(kept) if kind == b"IEND"), None)
    if end is None:
        raise CardImportError("card-png-corrupt", "the picture is a PNG without an IEND chunk")
    added = [(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1"))
             for keyword, text in chunks.items()]
    ordered = kept[:end] + added + kept[end:]
    return PNG_SIGNATURE + b"".join(_encoded(kind, body) for kind, body in ordered)


def as_png(picture: bytes, source: str) -> bytes:
    """``picture`` as PNG bytes: unchanged when it is a PNG, converted (Pillow) otherwise.
    Raises ``CardImportError("card-png-corrupt")`` for bytes that are no picture."""
    if picture.startswith(PNG_SIGNATURE):
        return picture
    try:
        with Image.open(io.BytesIO(picture)) as image:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CardImportError(
            "card-png-corrupt", f"{source}: not a picture Pillow can read ({exc}); give a "
                                "PNG, JPEG or WebP file with --png",
        ) from exc
    return buffer.getvalue()


def default_picture(name: str) -> bytes:
    """A plain 400×600 PNG for ``name``: a colour of its own (from the name's SHA-256) and
    its initials, so exported characters can be told apart in SillyTavern's list."""
    hue = hashlib.sha256(name.encode("utf-8")).digest()[0] / 255
    red, green, blue = (round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.45, 0.45))
    image = Image.new("RGB", DEFAULT_PICTURE_SIZE, (red, green, blue))
    words = [word for word in name.split() if word[0].isalnum()]
    initials = "".join(word[0] for word in words[:2]).upper() or "?"
    centre = (DEFAULT_PICTURE_SIZE[0] // 2, DEFAULT_PICTURE_SIZE[1] // 2)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=160)
    except TypeError:  # Pillow 10.0: only the small bitmap font, which has no anchors
        draw.text(centre, initials, fill=(255, 255, 255))
    else:
        draw.text(centre, initials, fill=(255, 255, 255), anchor="mm", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise CardImportError("card-png-corrupt", "the picture is not a PNG")
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise CardImportError("card-png-corrupt", "the picture's PNG chunks are truncated")
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        body = png[offset + 8:offset + 8 + length]
        if len(body) != length:
            raise CardImportError("card-png-corrupt", "the picture's PNG chunks are truncated")
        yield kind, body
        offset += 12 + length


def _is_card_chunk(chunk: tuple[bytes, bytes]) -> bool:
    kind, body = chunk
    keyword = body.split(b"\0", 1)[0].decode("latin-1").lower()
    return kind == b"tEXt" and keyword in CARD_KEYWORDS


def _encoded(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
