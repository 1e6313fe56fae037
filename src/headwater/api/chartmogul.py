"""Placeholder router; replaced by the dialect's implementation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
