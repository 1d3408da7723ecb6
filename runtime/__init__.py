"""The bottom layer: what every greenroom process shares.

Settings (one root of slices), process death, log records and the one structlog processor
chain, private directories, the platform's mechanisms and normal web names. Imports nothing
of greenroom's; ``protocol/``, ``schemas/``, ``worker/``, ``client/`` and ``supervisor/`` build
on it.
"""
