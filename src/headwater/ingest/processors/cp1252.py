"""The ``headwater-cp1252`` codec: Windows-1252, with the five bytes it leaves undefined read as Latin-1.

Excel on Windows saves CSV in Windows-1252 (``€`` is byte 0x80), so a file that is not UTF-8 is read
as that. Python's ``cp1252`` refuses 0x81, 0x8D, 0x8F, 0x90 and 0x9D; read as Latin-1 they become the
matching control characters, so no byte ever makes a file unreadable. Arrow's CSV reader decodes a
non-UTF-8 file through the Python codec named in its options, hence a registered codec; it is a
charmap, decoded in C.
"""

from __future__ import annotations

import codecs
from typing import Any

NAME = "headwater-cp1252"

_DECODING = "".join(bytes([byte]).decode("cp1252", "ignore") or chr(byte) for byte in range(256))
_ENCODING = codecs.charmap_build(_DECODING)


def _decode(data: Any, errors: str = "strict") -> tuple[str, int]:
    return codecs.charmap_decode(data, errors, _DECODING)


def _encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    return codecs.charmap_encode(text, errors, _ENCODING)


class _IncrementalDecoder(codecs.IncrementalDecoder):
    def decode(self, input: Any, final: bool = False) -> str:
        return codecs.charmap_decode(input, self.errors, _DECODING)[0]


class _IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, input: str, final: bool = False) -> bytes:
        return codecs.charmap_encode(input, self.errors, _ENCODING)[0]


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != NAME:
        return None
    return codecs.CodecInfo(
        _encode,
        _decode,
        incrementalencoder=_IncrementalEncoder,
        incrementaldecoder=_IncrementalDecoder,
        name=NAME,
    )


codecs.register(_search)
