"""Zigbee hubs: the sensors a hub pairs, registered with their pre-provisioned keys (§4.5)."""
