"""The web console: server-rendered pages over the same core the three APIs use."""

from headwater.console.app import create_app

__all__ = ["create_app"]
