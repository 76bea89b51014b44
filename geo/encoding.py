"""Text encoding of Shapefile attributes (.dbf), from the .cpg or by detection.

District GIS offices deliver GBK-encoded DBFs, often without the ``.cpg`` that
says so, and GDAL then decodes them as Latin-1 (mojibake). We read the raw
DBF bytes ourselves: UTF-8 is tried first because valid UTF-8 Chinese text is
almost never valid-looking GBK by accident in the other direction, while GBK
bytes are rarely valid UTF-8.

Examples
--------
>>> detect_encoding("网格".encode("gbk"))
'gbk'
>>> detect_encoding("网格".encode("utf-8"))
'utf-8'
>>> detect_encoding(b"plain ascii")
'utf-8'
"""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

__all__ = ["cpg_to_codec", "dbf_text_bytes", "decode_error", "detect_encoding"]

# .cpg contents seen in the wild -> Python codec names GDAL/iconv also accept
_CPG_NAMES = {
    "utf8": "utf-8",
    "65001": "utf-8",
    "gbk": "gbk",
    "936": "gbk",
    "cp936": "gbk",
    "ansi936": "gbk",
    "gb2312": "gbk",  # GBK is a superset; GB2312 labels usually hide GBK text
    "gb18030": "gb18030",
    "54936": "gb18030",
    "big5": "big5",
    "950": "big5",
    "88591": "latin-1",
    "iso88591": "latin-1",
    "latin1": "latin-1",
    "1252": "cp1252",
    "ansi1252": "cp1252",
}

# Encodings tried in order when nothing says which one the file uses.
CANDIDATES = ("utf-8", "gbk", "gb18030")


def cpg_to_codec(text: str) -> str | None:
    """Map the contents of a ``.cpg`` file to a codec name, ``None`` if unknown.

    Examples
    --------
    >>> cpg_to_codec("GBK\\n"), cpg_to_codec("UTF-8"), cpg_to_codec("936")
    ('gbk', 'utf-8', 'gbk')
    >>> cpg_to_codec("nonsense") is None
    True
    """
    key = "".join(ch for ch in text.strip().lower() if ch.isalnum())
    if key in _CPG_NAMES:
        return _CPG_NAMES[key]
    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        return None


def dbf_text_bytes(dbf: Path) -> bytes:
    """Field-name and record bytes of a DBF file (where encoded text lives).

    Examples
    --------
    >>> dbf_text_bytes(Path("/nonexistent.dbf"))
    b''
    """
    try:
        data = dbf.read_bytes()
    except OSError:
        return b""
    if len(data) < 32:
        return b""
    header_len = struct.unpack("<H", data[8:10])[0]
    # field descriptors start at 32; names are 11-byte NUL-padded fields
    names = b" ".join(data[pos : pos + 11].rstrip(b"\0") for pos in range(32, header_len - 1, 32))
    return names + b" " + data[header_len:]


def decode_error(data: bytes, encoding: str) -> str | None:
    """Why ``data`` is not valid ``encoding`` (``None`` if it decodes).

    Examples
    --------
    >>> decode_error("网格".encode("gbk"), "utf-8")
    'byte 0xcd at offset 0 is not valid utf-8'
    >>> decode_error(b"abc", "utf-8") is None
    True
    """
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid {encoding}"
    return None


def detect_encoding(data: bytes) -> str | None:
    """First candidate encoding that decodes ``data`` strictly, else ``None``."""
    for enc in CANDIDATES:
        if decode_error(data, enc) is None:
            return enc
    return None
