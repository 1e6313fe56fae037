"""headwater: a self-hosted data-source hub."""

__version__ = "0.1.0"
