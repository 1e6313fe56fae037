"""Whether a text can be stored as it is on every database headwater runs on."""

from __future__ import annotations


def storable(text: str, max_length: int | None = None) -> bool:
    """At most ``max_length`` characters (when given), no NUL (PostgreSQL refuses it in text) and no
    lone surrogate (it has no UTF-8 form)."""
    if (max_length is not None and len(text) > max_length) or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
