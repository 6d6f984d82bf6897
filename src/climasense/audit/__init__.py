"""The audit trail: one append-only entry per operator change (CONTRACT §9).

Other domains call `record_audit(conn, actor, action, target_type, target_id, details)` on the
connection of their change, inside its transaction, so there is no change without its entry
and no entry without its change.
"""

from climasense.audit.repository import AuditEntry, JsonObject
from climasense.audit.service import LOCAL_CLI, Actor, SystemActor, list_entries, record_audit

__all__ = [
    "LOCAL_CLI",
    "Actor",
    "AuditEntry",
    "JsonObject",
    "SystemActor",
    "list_entries",
    "record_audit",
]
