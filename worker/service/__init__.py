"""A worker's service: protocol requests in, engine calls, protocol replies out.

``character_service.CharacterService`` is the entry point (``worker.main`` and local mode's
``client.in_process_channel`` drive it). Its parts: ``request_answers`` (which engine call
answers which request), ``turn_replies`` (a turn's deltas, events and final answer),
``chat_response`` (a committed turn's result as the protocol's typed groups),
``turn_progress`` (generation status and keepalives of a running turn), ``exports`` (streamed
and whole exports), ``failures`` (exceptions and unsendable answers as stable error codes),
``events`` (the ``turn_event``/``vitals_event`` a request causes).
"""
