"""Bulk jobs: a command or a settings change sent to the devices a selector matched."""
