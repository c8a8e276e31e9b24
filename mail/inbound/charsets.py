"""Bytes of mail text to ``str``: the declared charset read as mailers mean it, else a guess.

Declared charsets are widened to the superset that the sending software really writes
(GB2312/GBK as GB18030, Shift_JIS as cp932, ISO-8859-1 as windows-1252 …), and ISO-2022-JP
is read with Microsoft's extensions (NEC's circled digits ①, Roman numerals Ⅱ), which no
Python ``iso2022_jp*`` codec decodes.

Undeclared (or wrongly declared) text is guessed: UTF-8 when valid, then the charsets the
same mail declares elsewhere (other parts, RFC 2047 words in the headers), then a choice
between charset-normalizer and the single-byte charsets mail is usually written in.  A
statistical detector on short text is mostly a wild guess, and on Latin-1 or Cyrillic text
it often reads CJK; so the candidates are scored by how much they look like words a person
wrote (:func:`_score`) and a plausible single-byte reading beats a CJK one.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Sequence

from charset_normalizer import from_bytes

SHORT = 200  # bytes; below this charset-normalizer's guess is not trusted over the scoring
WESTERN = ("cp1252", "latin-1", "cp1250")  # Central European too: Hungarian is a desk language
CYRILLIC = ("cp1251", "koi8_r")

# Declared name (as ``codecs.lookup`` spells it, or a mailer alias it does not know) →
# the codec that reads what such mail really holds.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "x-euc-cn": "gb18030",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",  # the WHATWG reading: 0x80-0x9f are Outlook's “quotes” and €
    "windows-874": "cp874",
}
_ISO2022_JP = (
    "iso2022_jp",
    "iso2022_jp_1",
    "iso2022_jp_2",
    "iso2022_jp_3",
    "iso2022_jp_ext",
    "iso2022_jp_2004",
)
_ASCII_INCOMPATIBLE = ("utf_16", "utf_32", "utf_7")  # never a guess for 8-bit bytes
_MULTIBYTE = ("gb", "big5", "cp932", "shift_jis", "euc", "cp949", "johab", "hz", "iso2022", "cp950")
_RFC2047_CHARSET = re.compile(rb"=\?([^?*\s]+)(?:\*[^?]*)?\?[bBqQ]\?")
_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\([BJI])")
_SAMPLE = 20_000  # characters of a text that are scored
_HIGH_BYTES = bytes(range(0x80, 0x100))
_WORD = re.compile(r"[^\W\d_]+")
# Punctuation and signs that real text holds; any other non-ASCII non-letter counts against.
_COMMON_SIGNS = set("\u00a0«»–—„“”‘’‚…€°§©®™×·•¿¡")
# Russian letter frequencies (percent): a Cyrillic reading in the wrong table (cp1251 read
# as KOI8-R or the reverse) gives letters of the same script, but rare ones.
_CYRILLIC_FREQ = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
        (
            *(10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62),
            *(2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32),
            *(0.26, 0.04, 0.04),
        ),
        strict=True,
    )
)


# The accented letters of the languages mail is written in with Latin single-byte charsets.
_LATIN_ALPHABETS = [
    set(letters)
    for letters in (
        "äöüß",  # German
        "àâæçéèêëîïôœùûüÿ",  # French
        "áéíóúñüª",  # Spanish
        "àèéìíîòóùú",  # Italian
        "áâãàçéêíóôõú",  # Portuguese
        "åäöæøéü",  # Nordic
        "ëïéèöüáó",  # Dutch, Catalan
        "áéíóöőúüű",  # Hungarian
        "ąćęłńóśźż",  # Polish
        "áčďéěíňóřšťúůýžäĺľô",  # Czech, Slovak
        "ăâîșțşţ",  # Romanian
        "čćđšž",  # Croatian, Slovene
    )
]


def codec_name(charset: str | None) -> str | None:
    """The Python codec that reads text declared as ``charset``, or ``None`` if unknown."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    try:
        name = codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a name with NUL or similar junk
        if name not in _SUPERSETS:
            return None
    return _SUPERSETS.get(name, name)


def decode_declared(data: bytes, charset: str) -> str | None:
    """``data`` in its declared ``charset`` (widened to its superset), or ``None`` if it fails."""
    name = codec_name(charset)
    if name is None:
        return None
    if name in _ISO2022_JP:
        return _decode_iso2022_jp(data)
    try:
        text = data.decode(name)
    except (LookupError, ValueError):
        if name != "cp1252":
            return None
        text = data.decode("latin-1")  # the five bytes windows-1252 leaves undefined
    return text


def _decode_iso2022_jp(data: bytes) -> str | None:
    """ISO-2022-JP with its extensions: the standard codecs, then the Microsoft reading."""
    for name in ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004"):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            pass
    return _decode_cp50221(data)


def _decode_cp50221(data: bytes) -> str | None:
    """ISO-2022-JP as Windows writes it (CP50220/50221): JIS X 0208 rows read through cp932.

    NEC's row 13 (①, Ⅰ, ㈱) and the IBM extensions sit in code points JIS X 0208 leaves
    empty; Python's ISO-2022-JP codecs refuse them, but each JIS pair has a Shift_JIS twin
    that cp932 decodes.  ``None`` for a designation this reading does not know.
    """
    out: list[str] = []
    mode = b"(B"
    position = 0
    for match in [*_JIS_ESCAPE.finditer(data), None]:
        end = match.start() if match else len(data)
        chunk = data[position:end]
        if mode in (b"$@", b"$B"):
            chunk = chunk.replace(b"\r", b"").replace(b"\n", b"")  # never inside a pair
            if len(chunk) % 2:
                return None
            sjis = bytearray()
            for first, second in zip(chunk[::2], chunk[1::2], strict=True):
                sjis += _jis_to_sjis(first, second)
            piece = bytes(sjis).decode("cp932", "replace")
        elif mode == b"(I":  # half-width katakana: the same bytes with the high bit set
            piece = bytes(b | 0x80 for b in chunk).decode("cp932", "replace")
        else:
            if not chunk.isascii():
                return None
            piece = chunk.decode("ascii")
        out.append(piece)
        if match:
            mode, position = match.group(1), match.end()
    text = "".join(out)
    return None if "\x1b" in text else text


def _jis_to_sjis(first: int, second: int) -> bytes:
    """The Shift_JIS bytes of the JIS X 0208 code point ``first``/``second``."""
    lead = ((first + 1) >> 1) + 0x70
    if lead > 0x9F:
        lead += 0x40
    if first % 2:
        trail = second + 0x1F
        if trail >= 0x7F:
            trail += 1
    else:
        trail = second + 0x7E
    return bytes((lead & 0xFF, trail & 0xFF))


def charsets_in_header(head: bytes) -> list[str]:
    """The charsets of the RFC 2047 encoded words in the header block ``head``, in order."""
    found: list[str] = []
    for match in _RFC2047_CHARSET.finditer(head):
        name = match.group(1).decode("ascii", "replace")
        if name.lower() not in (f.lower() for f in found):
            found.append(name)
    return found


def decode(data: bytes, declared: str | None, hints: Sequence[str] = ()) -> str:
    """Text from ``data``: the declared charset if it reads the bytes, else :func:`guess`."""
    if declared:
        text = decode_declared(data, declared)
        if text is not None:
            return text
    return guess(data, hints)[0]


def guess(data: bytes, hints: Iterable[str] = ()) -> tuple[str, str]:
    """``(text, codec)`` for bytes of unknown charset; ``hints`` are the mail's own charsets."""
    if data.isascii():
        if _JIS_ESCAPE.search(data) and b"\x1b$" in data:  # undeclared 7-bit ISO-2022-JP
            text = _decode_iso2022_jp(data)
            if text is not None:
                return text, "iso2022_jp"
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for hint in hints:
        name = codec_name(hint) or ""
        if not name or name.startswith(_ASCII_INCOMPATIBLE):
            continue
        text = decode_declared(data, hint)
        # A charset declared elsewhere in the mail is strong evidence, but latin-1 or GB18030
        # read almost any bytes: the reading must still look like text.
        if text is not None and _plausible(text, data):
            return text, name
    single = _best_single_byte(data)
    if single is not None and (len(data) < SHORT) and _plausible(single[0], data):
        return single[0], single[1]
    detected = from_bytes(data).best()
    if detected is not None:
        text, name = str(detected), detected.encoding
        multibyte = name.startswith(_MULTIBYTE)
        # A CJK guess for bytes that read as Western or Cyrillic words is the detector's
        # commonest mistake; a single-byte guess is taken only when it scores lower.
        plausible = single is not None and _plausible(single[0], data)
        if (
            single is not None
            and plausible
            and (multibyte or _score(single[0], data)[0] > _score(text, data)[0])
        ):
            return single[0], single[1]
        return text, name
    if single is not None:
        return single[0], single[1]
    return data.decode("latin-1"), "latin-1"


def _best_single_byte(data: bytes) -> tuple[str, str] | None:
    """The best-scoring reading of ``data`` in the Western and Cyrillic charsets (ties: first)."""
    best: tuple[str, str] | None = None
    best_score = float("-inf")
    for name in (*WESTERN, *CYRILLIC):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        score = _score(text, data)[0]
        if score > best_score:
            best, best_score = (text, name), score
    return best


def _plausible(text: str, data: bytes) -> bool:
    """Whether ``text`` (``data`` decoded) looks like words a person wrote."""
    score, good, total = _score(text, data)
    if total and good == total and score == 0:
        return True  # only common signs ("© VIAGRA ®"): nothing to score, nothing against
    return score > 0 and good >= 0.8 * total


def _script(char: str) -> str:
    """The script of a letter, East Asian scripts together (Japanese mixes three)."""
    if char.isascii():
        return "LATIN"
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "HALFWIDTH", "FULLWIDTH")):
        return "CJK"
    return name.split(" ", 1)[0]


def _cased_like_a_word(word: str) -> bool:
    """lower, UPPER or Capitalised (or no case at all, as CJK): not "рПИВЕТ"."""
    return (
        word.islower()
        or word.isupper()
        or word.istitle()
        or not any(c.isupper() or c.islower() for c in word)
    )


def _score(text: str, data: bytes) -> tuple[float, int, int]:
    """``(score, good, total)``: how much the non-ASCII characters of ``text`` look like text.

    ``good`` of the ``total`` non-ASCII characters sit in words of one script that are cased
    like words (a Latin word mostly of ASCII letters, as Western languages write); the score
    adds those (Cyrillic ones by letter frequency) and takes off for the others, for rare
    signs and controls, and for ASCII letters a multibyte reading swallowed as second bytes.
    """
    whole = text
    text = text[:_SAMPLE]  # a long text is judged by its beginning: the scoring is slow Python
    score = 0.0
    good = total = 0
    latin: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        high = sum(1 for c in word if not c.isascii())
        if not high:
            continue
        total += high
        scripts = {_script(c) for c in word}
        script = next(iter(scripts))
        ok = len(scripts) == 1 and _cased_like_a_word(word)
        if ok and script == "LATIN" and len(word) > 2 and 2 * high > len(word):
            ok = False  # "Ïðèâåò": Cyrillic or Greek bytes read as Latin-1
        if not ok:
            score -= 2 * high
            continue
        good += high
        if script == "CYRILLIC":
            score += sum(_CYRILLIC_FREQ.get(c.lower(), 0.5) / 4 for c in word)
        elif script == "LATIN":
            latin.extend(c.lower() for c in word if not c.isascii())
        else:
            score += high
    # Western and Central European readings of the same bytes are all Latin words ("è" or
    # "č"): the one whose accented letters one language writes together wins.
    if latin:
        fits = any(set(latin) <= letters for letters in _LATIN_ALPHABETS)
        score += len(latin) * (1 if fits else 0.5)
    signs, fine, count = _signs(text)
    score += signs
    good += fine
    total += count
    swallowed = len(data.translate(None, _HIGH_BYTES)) - len(whole.encode("ascii", "ignore"))
    score -= 2 * max(swallowed, 0) * len(text) / max(len(whole), 1)
    return score, good, total


def _signs(text: str) -> tuple[float, int, int]:
    """``(score, good, total)`` of the non-ASCII characters of ``text`` that are no letters."""
    score = 0.0
    good = total = 0
    for char in text:
        if char.isascii() or char.isalpha():
            continue
        total += 1
        if char in _COMMON_SIGNS or unicodedata.category(char).startswith(("Z", "Pd", "Pi", "Pf")):
            good += 1
        elif unicodedata.category(char).startswith("C"):
            score -= 3  # controls, unassigned, private use: no reading of real text
        else:
            score -= 1
    return score, good, total
