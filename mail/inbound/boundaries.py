"""Nested multiparts that reuse their parent's boundary, made unambiguous before parsing.

Some mailers (Outlook Express for the Mac, old exmh) give a nested ``multipart/alternative``
the very boundary of the multipart around it.  Read strictly that is ambiguous, and the
``email`` package then drops every part after the inner one's closing delimiter without a
word.  Mail programs read it the only useful way: the inner multipart ends at the first
closing delimiter, then the outer one goes on.  :func:`unique_nested` rewrites the inner
boundary (in its header and its delimiter lines) to a fresh one so the parser reads it so
too.  Mail without such a reuse comes back byte for byte; the stored raw mail is never
changed, only the bytes the MIME walk reads.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]*)"|([^;\s\r\n]+))', re.IGNORECASE)
_CONTENT_TYPE = re.compile(rb"^content-type\s*:", re.IGNORECASE)


def _split_lines(raw: bytes) -> list[bytes]:
    return raw.splitlines(keepends=True)


def _ending(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")) :]


def _boundary_of(block: list[bytes]) -> bytes | None:
    """The boundary a part's header block declares for a multipart, if any."""
    fields: list[bytes] = []
    for line in block:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line.strip())
    for field in fields:
        if _CONTENT_TYPE.match(field) and b"multipart" in field.lower():
            found = _BOUNDARY.search(field)
            if found:
                value = found.group(1) if found.group(1) is not None else found.group(2)
                return value or None
    return None


def unique_nested(raw: bytes, warnings: list[str] | None = None) -> bytes:
    """``raw`` with every nested multipart that reuses an enclosing boundary given its own."""
    lines = _split_lines(raw)
    out: list[bytes] = []
    # (boundary as written, boundary written out) for each open multipart, outermost first.
    stack: list[tuple[bytes, bytes]] = []
    renamed = 0
    header: list[bytes] | None = []  # collecting a header block (the mail's, first)
    for line in lines:
        if header is not None:
            if line.strip():
                header.append(line)
                continue
            declared = _boundary_of(header)
            if declared is not None:
                effective = declared
                if any(declared == written for written, _out in stack):
                    renamed += 1
                    effective = declared + b"=_tf" + str(renamed).encode()
                    header = [h.replace(declared, effective) for h in header]
                stack.append((declared, effective))
            out.extend(header)
            out.append(line)
            header = None
            continue
        bare = line.rstrip(b"\r\n").rstrip(b" \t")
        handled = False
        # The innermost open multipart whose delimiter this is (a delimiter of an outer one
        # also ends every multipart inside it).
        for depth in range(len(stack) - 1, -1, -1):
            written, effective = stack[depth]
            if bare == b"--" + written + b"--":
                del stack[depth:]
                out.append(b"--" + effective + b"--" + _ending(line))
                handled = True
                break
            if bare == b"--" + written:
                del stack[depth + 1 :]
                out.append(b"--" + effective + _ending(line))
                header = []
                handled = True
                break
        if not handled:
            out.append(line)
    if header:
        out.extend(header)
    if not renamed:
        return raw
    if warnings is not None:
        warnings.append(f"{renamed} nested multipart(s) reused an enclosing boundary; read as their own")
    return b"".join(out)
