"""Placeholder app; replaced by the integration dialect's implementation."""

from __future__ import annotations

from fastapi import FastAPI

from headwater.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    return FastAPI(title="headwater integration API")
