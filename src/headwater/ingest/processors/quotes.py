"""Find the quoted CSV values that are never closed, before Arrow's parser swallows the rest of the file.

With values allowed to span lines, a quote opened and never closed makes the parser read everything
up to the end of the file as that one value: the rows after it vanish into it, silently. This scan
follows the quoting exactly as Arrow's parser does (a quote opens a value only at the start of a
field; ``""`` inside it is a quote; after the closing quote the field runs on, quotes included, to the
next delimiter or line end) and returns, for each quote left open at the end of the file, the offset
just past its line: the reader ends one parse there, reports that record as ``UnterminatedQuote``,
and starts a new parse for the lines after it.

A file without any quote is never scanned (the reader's pre-scan notices that for free); a file with
quotes is scanned by one regular expression per 8 MB chunk, so the cost grows with the file, not with
the number of values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

_CHUNK = 8 * 1024 * 1024
MAX_CUTS = 1_000

_FIELD_START, _MID_FIELD, _IN_QUOTES, _QUOTE_IN_QUOTES = range(4)


class TooManyUnterminatedQuotes(Exception):
    pass


def unterminated_quote_cuts(path: Path, delimiter: str) -> list[int]:
    """The offsets where a new parse must start, one per quote left open at the end of the file."""
    d = re.escape(delimiter.encode())
    fields = re.compile(
        rb'(?:(?>"[^"]*+(?:""[^"]*+)*+"[^'
        + d
        + rb"\r\n]*+|[^"
        + d
        + rb'\r\n"][^'
        + d
        + rb"\r\n]*+|)["
        + d
        + rb"\r\n])*+"
    )
    rest_of_field = re.compile(rb"[^" + d + rb"\r\n]*+")
    cuts: list[int] = []
    start = 0
    with path.open("rb") as handle:
        while (opened := _open_quote_at_end(handle, start, fields, rest_of_field)) is not None:
            start = _past_line_end(handle, opened)
            cuts.append(start)
            if len(cuts) > MAX_CUTS:
                raise TooManyUnterminatedQuotes(f"more than {MAX_CUTS} quoted values are never closed")
    return cuts


def _open_quote_at_end(
    handle: BinaryIO, start: int, fields: re.Pattern[bytes], rest_of_field: re.Pattern[bytes]
) -> int | None:
    """Scan from ``start`` (a line start) to the end: the offset of the quote still open there, if any."""
    handle.seek(start)
    state = _FIELD_START
    opened = -1
    base = start
    while chunk := handle.read(_CHUNK):
        position = 0
        size = len(chunk)
        while position < size:
            if state == _FIELD_START:
                match = fields.match(chunk, position)
                position = match.end() if match else position
                if position >= size:
                    break
                if chunk[position] == 0x22:  # an opening quote whose end is not in this chunk
                    opened = base + position
                    state, position = _IN_QUOTES, position + 1
                else:
                    state = _MID_FIELD
            elif state == _MID_FIELD:
                match = rest_of_field.match(chunk, position)
                position = match.end() if match else position
                if position < size:
                    state, position = _FIELD_START, position + 1
            elif state == _IN_QUOTES:
                quote = chunk.find(b'"', position)
                if quote < 0:
                    position = size
                elif quote + 1 == size:
                    state, position = _QUOTE_IN_QUOTES, size
                elif chunk[quote + 1] == 0x22:
                    position = quote + 2
                else:
                    state, position = _MID_FIELD, quote + 1
            else:  # _QUOTE_IN_QUOTES: the chunk before ended on a quote inside a quoted value
                if chunk[position] == 0x22:
                    state, position = _IN_QUOTES, position + 1
                else:
                    state = _MID_FIELD
        base += size
    return opened if state == _IN_QUOTES else None


def _past_line_end(handle: BinaryIO, offset: int) -> int:
    """The offset just past the first line end (``\\n``, ``\\r\\n`` or ``\\r``) after ``offset``."""
    handle.seek(offset)
    position = offset
    while chunk := handle.read(_CHUNK):
        ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if ends:
            end = min(ends)
            if chunk[end] == 0x0D:
                following = chunk[end + 1 : end + 2] or handle.read(1)
                return position + end + (2 if following == b"\n" else 1)
            return position + end + 1
        position += len(chunk)
    return position
