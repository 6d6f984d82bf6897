"""The background worker: periodic jobs (expiry, offline detection, partitions, …) and
long-running loops (alert evaluation, webhook delivery), in `serve` or `climasense worker`."""
