"""Telemetry: where a reading enters (`POST /v1/telemetry`), is validated, committed by the
group-commit writer, stored in time partitions, and read back by operators."""
