"""Operator tokens over HTTP: create, list, revoke, whoami (roles are decided in auth/roles.py)."""
