"""Over-the-air firmware updates (CONTRACT §4.4): images, staged releases, device status."""
