"""The one log stream: ``sink`` writes every process's records, ``record_filter`` chooses
what ``greenroom logs`` shows."""
