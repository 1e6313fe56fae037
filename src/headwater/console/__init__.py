"""The web console: server-rendered pages over the same core the three APIs use."""

from headwater.console.app import create_app

UPLOAD_PATH = "/console/upload"  # takes file bodies up to the upload limit, not the body limit

__all__ = ["UPLOAD_PATH", "create_app"]
