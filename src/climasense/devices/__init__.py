"""Devices: provisioning, inventory, key revocation and rotation (operator side)."""
