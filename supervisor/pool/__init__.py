"""The worker pool: one supervised worker process per character, forked by the fork server.

``api`` is the contract the gateway sees; ``worker_pool`` implements it over
``supervised_worker`` (the restart loop), ``worker_process`` (one running process),
``lifecycle`` (its state table), ``restart_policy``, ``liveness``, ``crash_report`` and the fork
servers (``fork_servers``: the newest and the replaced ones; ``zygote``, ``zygote_client``,
``control_frames``, ``fork_hazards``). What code a fork server holds and what failed loading
it: ``code_fingerprint``, ``preload_report``; how staleness is worded: ``staleness``.
"""
