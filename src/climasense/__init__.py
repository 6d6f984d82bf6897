"""ClimaSense: backend for fleets of environmental IoT devices."""

__version__ = "0.1.0"
__all__ = ["__version__"]
