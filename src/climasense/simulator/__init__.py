"""`climasense simulate`: virtual devices, hubs and Zigbee sensors that use the device API the
way real ones do, so the whole system can be watched working in the first five minutes."""
