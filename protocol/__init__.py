"""greenroom's wire protocol: every message that crosses a WebSocket or a worker pipe.

One definition per message (a msgspec Struct with its declaration above it, see
``declaration``; the unions and tables are derived in ``unions``), two codecs over them:
JSON text for clients (``json_codec``) and length-prefixed msgpack for the worker pipes
(``frame_codec``). The seed-era messages are a compatibility contract; see
``docs/protocol.md``.
"""
