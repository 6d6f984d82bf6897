"""The operator dashboard: server-rendered pages at `/`, backed by the operator API."""
