"""Errors to answers as data: each dialect keeps one table from exception class to answer.

The answer for an error is the entry of the first class along its MRO that the table has, so the most
specific entry wins whatever order the table is written in, and a new subclass falls back to its
parent's answer without anyone reordering a chain of ``isinstance`` checks. A table that has
``Exception`` answers everything; one that does not leaves the rest to its caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from starlette.responses import Response

# An entry takes the error (of its class or a subclass) and makes the dialect's answer.
Answer = Callable[[Any], Response]
# What an entry is: ``Answer``, or a callable that takes more than the error (the request too).
Entry = TypeVar("Entry", bound=Callable[..., Response])


class ErrorTable(Generic[Entry]):
    def __init__(self, entries: Mapping[type[BaseException], Entry]) -> None:
        self.entries = dict(entries)
        self._resolved: dict[type[BaseException], Entry | None] = {}

    def resolve(self, kind: type[BaseException]) -> Entry | None:
        """The entry for errors of ``kind``: its own, else its nearest ancestor's; None if none."""
        try:
            return self._resolved[kind]
        except KeyError:
            owner = self.owner(kind)
            found = self._resolved[kind] = None if owner is None else self.entries[owner]
            return found

    def owner(self, kind: type[BaseException]) -> type[BaseException] | None:
        """The class whose entry answers errors of ``kind``."""
        return next((c for c in kind.__mro__ if c in self.entries), None)

    def answer(self, exc: BaseException) -> Response | None:
        """The answer to ``exc``, for a table whose entries take only the error."""
        entry = self.resolve(type(exc))
        return None if entry is None else entry(exc)


__all__ = ["Answer", "Entry", "ErrorTable"]
