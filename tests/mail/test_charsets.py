"""Text in every charset mailers write, decoded as the sender meant it (issue 10, deliverable 5).

Each mail is built here byte by byte, as the sending software writes it, or taken from the
corpus beside the checkout; each test asserts the subject or body a person would read.
Declared GB2312/GBK is read as GB18030, ISO-2022-JP with Microsoft's (NEC's) characters is
read, and undeclared text is decoded with the mail's own charsets first, then a guess that
prefers Western and Cyrillic words to a CJK reading of the same bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from mail.inbound.parse import parse_mail
from tests.mail.conftest import Relay, send, ticket_of_raw

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mail"


def _mail(headers: bytes, body: bytes) -> bytes:
    """A mail from raw header lines (CRLF-terminated) and raw body bytes."""
    return (
        b"From: Kunde <kunde@kunde.example>\r\n"
        b"To: support@helpdesk.example\r\n"
        b"Message-ID: <charsets@kunde.example>\r\n" + headers + b"\r\n" + body
    )


def _text_part(charset: bytes | None, body: bytes) -> bytes:
    """One text/plain part; ``charset`` ``None`` writes no charset parameter at all."""
    parameter = b"; charset=" + charset if charset else b""
    return b"Content-Type: text/plain" + parameter + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body


# --- raw 8-bit headers without a charset ------------------------------------------------


def test_a_raw_koi8_r_subject_is_read_as_russian() -> None:
    subject = "Счёт за октябрь не пришёл".encode("koi8-r")
    parsed = parse_mail(_mail(b"Subject: " + subject + b"\r\n", b"see subject\r\n"))
    assert parsed.subject == "Счёт за октябрь не пришёл"


def test_a_raw_windows_1251_subject_is_not_read_in_the_bodys_latin_1() -> None:
    # The body's declared charset reads any byte, but as Latin words it makes no sense.
    subject = "Принтер не печатает".encode("cp1251")
    raw = _mail(
        b"Subject: " + subject + b"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n",
        b"Bitte um R\xfcckruf.\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "Принтер не печатает"
    assert parsed.body_text == "Bitte um Rückruf."


def test_a_raw_latin_1_subject_is_not_read_as_cjk() -> None:
    subject = "Köszönöm, üdvözlettel".encode("latin-1")
    parsed = parse_mail(_mail(b"Subject: " + subject + b"\r\n", b"ok\r\n"))
    assert parsed.subject == "Köszönöm, üdvözlettel"


# --- undeclared bodies ------------------------------------------------------------------


def test_a_short_undeclared_windows_1251_body_is_read_as_cyrillic() -> None:
    parsed = parse_mail(_mail(b"Subject: hi\r\n", "Привет, как дела?".encode("cp1251")))
    assert parsed.body_text == "Привет, как дела?"


def test_a_short_undeclared_koi8_r_body_is_told_from_windows_1251() -> None:
    parsed = parse_mail(_mail(b"Subject: hi\r\n", "Заявка на ремонт".encode("koi8-r")))
    assert parsed.body_text == "Заявка на ремонт"


def test_a_short_undeclared_gb2312_body_is_read_as_chinese() -> None:
    body = "您好，我的打印机坏了，请帮忙看看。谢谢！".encode("gb2312")
    parsed = parse_mail(_mail(b"Subject: hi\r\n", body))
    assert parsed.body_text == "您好，我的打印机坏了，请帮忙看看。谢谢！"


def test_an_undeclared_latin_1_body_keeps_its_accents() -> None:
    # charset-normalizer alone reads this as windows-1250: "problčme", "ŕ jour".
    text = (
        "Bonjour Madame, le problème persiste après la mise à jour du logiciel. Merci de "
        "vérifier la configuration de votre côté et de me répondre rapidement. Je reste à "
        "votre disposition pour toute question supplémentaire. Cordialement, Hélène Lefèvre, société Générale"
    )
    parsed = parse_mail(_mail(b"Subject: hi\r\n", text.encode("latin-1")))
    assert parsed.body_text == text


def test_an_undeclared_part_is_read_in_the_charset_its_sibling_declares() -> None:
    raw = _mail(
        b"Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n",
        b"--B\r\n"
        + _text_part(b"koi8-r", "Добрый день.".encode("koi8-r"))
        + b"\r\n--B\r\n"
        + _text_part(None, "Всё ещё ждём ответа".encode("koi8-r"))
        + b"\r\n--B--\r\n",
    )
    assert parse_mail(raw).body_text == "Добрый день.\n\nВсё ещё ждём ответа"


def test_an_undeclared_body_is_read_in_the_charset_of_the_subjects_encoded_word() -> None:
    subject = b"=?windows-1251?B?" + base64.b64encode("Счёт".encode("cp1251")) + b"?="
    parsed = parse_mail(_mail(b"Subject: " + subject + b"\r\n", "ёжик".encode("cp1251")))
    assert parsed.subject == "Счёт"
    assert parsed.body_text == "ёжик"


# --- declared charsets read as their supersets ------------------------------------------


def test_a_gb2312_body_is_read_as_gb18030() -> None:
    # 镕 is GBK and € is GB18030: mailers label both "gb2312".
    body = "朱镕基 价格 100 €".encode("gb18030")
    parsed = parse_mail(_mail(b"Subject: hi\r\nContent-Type: text/plain; charset=gb2312\r\n", body))
    assert parsed.body_text == "朱镕基 价格 100 €"


def test_a_gb2312_encoded_word_is_read_as_gb18030() -> None:
    subject = b"=?gb2312?B?" + base64.b64encode("打印机 €".encode("gb18030")) + b"?="
    assert parse_mail(_mail(b"Subject: " + subject + b"\r\n", b"x\r\n")).subject == "打印机 €"


def test_iso_2022_jp_with_nec_characters_is_read() -> None:
    # ① and Ⅱ are NEC row 13: no iso2022_jp* codec of Python decodes them.
    body = b"\x1b$B<j=g-!$H-6$r;2>H\x1b(B\r\n"
    headers = b"Subject: hi\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
    assert parse_mail(_mail(headers, body)).body_text == "手順①とⅡを参照"


def test_an_iso_2022_jp_encoded_word_with_nec_characters_is_read() -> None:
    subject = b"=?ISO-2022-JP?B?" + base64.b64encode(b"\x1b$BJs9p=q-!\x1b(B") + b"?="
    assert parse_mail(_mail(b"Subject: " + subject + b"\r\n", b"x\r\n")).subject == "報告書①"


def test_declared_utf_7_is_read_and_a_lone_surrogate_is_stored_as_a_replacement() -> None:
    # UTF-7 can encode half a surrogate pair, which PostgreSQL cannot store.
    headers = b"Subject: =?utf-7?Q?Gr+APwA3w-e?=\r\nContent-Type: text/plain; charset=utf-7\r\n"
    parsed = parse_mail(_mail(headers, b"Gr+APwA3w-e +2D0- ok\r\n"))
    assert parsed.subject == "Grüße"
    assert parsed.body_text == "Grüße \ufffd ok"


# --- the corpus -------------------------------------------------------------------------

# Mails of the corpus in the charsets above, with what a person reads in them.
CORPUS_SUBJECTS = {
    "rt/new-ticket-from-gb18030": "测试",
    "otobo/PostMaster/PostMaster-Test13.box": "Заявка на генерацию 402 240108 (3)",
    "otobo/EmailParser/PostMaster-Test13.box": "Заявка на генерацию 402 240108 (3)",
    "otobo/PostMaster/PostMaster-Test4.box": (
        'utf8: 使って / ISO-8859-1: Priorität" / cp-1251: Сергей Углицких'
    ),
    "otobo/EmailParser/UTF-7.box": (
        "Microsoft Forefront Protection for SharePoint successfully updated the Command scan engine"
        " on server XXX"
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS_SUBJECTS))
def test_corpus_subjects_in_legacy_charsets(name: str) -> None:
    assert parse_mail((CORPUS / name).read_bytes()).subject == CORPUS_SUBJECTS[name]


def test_corpus_undeclared_latin_1_body() -> None:
    # No Content-Type at all; charset-normalizer alone says windows-1257 ("rįpido").
    parsed = parse_mail((CORPUS / "otobo/PostMaster/PostMaster-Test11.box").read_bytes())
    assert "... pc va demasiado rápido ..." in parsed.body_text


def test_corpus_gb18030_body() -> None:
    parsed = parse_mail((CORPUS / "rt/new-ticket-from-gb18030").read_bytes())
    assert parsed.body_text == "测试"


def test_corpus_iso_2022_jp_file_name_with_an_nec_character() -> None:
    parsed = parse_mail((CORPUS / "otobo/PostMaster/PostMaster-Test12.box").read_bytes())
    names = [attachment.filename for attachment in parsed.attachments]
    assert "報告書①..txt" in names
    assert "Сообщение.jpg" in names  # koi8-r
    assert "2차 보도자료.hwp" in names  # EUC-KR


# --- end to end -------------------------------------------------------------------------


def test_the_acknowledgement_echoes_a_raw_koi8_r_subject_readably(
    mail_env: sessionmaker[Session], receiver: Any, relay: Relay, drain: Callable[[], None]
) -> None:
    subject = "Не работает принтер"
    raw = (
        b"From: Ivan Petrov <ivan@kunde.example>\r\n"
        b"To: support@helpdesk.example\r\n"
        b"Subject: " + subject.encode("koi8-r") + b"\r\n"
        b"Message-ID: <koi8-ack@kunde.example>\r\n"
        b"\r\n"
        b"see subject\r\n"
    )
    send(receiver, raw, envelope_from="ivan@kunde.example", to=["support@helpdesk.example"])
    drain()

    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, "<koi8-ack@kunde.example>")
        assert ticket is not None
        assert ticket.title == subject
    [ack] = [m for m in relay.messages() if "ivan@kunde.example" in str(m["To"])]
    assert subject in str(ack["Subject"])
