"""Real-world mail over SMTP: every file of ``shared/corpus/mail`` becomes a ticket or a failure.

The corpus (OTOBO's PostMaster samples, Request Tracker's gateway mails and CPython's own
MIME test messages) is read where it lies, beside the checkout.  Each file is sent as it is
to our SMTP receiver; each must end as a ticket or as a visible failure with its bytes kept:
none crashes the receiver, none is lost, identical files are stored once.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import make_sessionmaker, session_scope
from desk.article.models import Article, Attachment
from desk.blob import service as blobs
from desk.history.models import History
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.smtp_receiver import make_controller
from tests.conftest import IN_CI
from tests.mail.conftest import Relay, RelayBehaviour, free_port

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mail"

# The hard cases named in the corpus README.
HARD_CASES = [
    "otobo/PostMaster/PostMaster-Test12.box",
    "otobo/EmailParser/PostMaster-Test12.box",
    "rt/outlook-rfc822",
    *(f"cpython/msg_{n}.txt" for n in (15, 17, 25, 31, 39, 41, 42)),
    "otobo/EmailParser/PostMaster-Test22.box",
]


def _as_sent(data: bytes) -> bytes:
    """``data`` as an MTA sends it: SMTP lines end in CRLF (aiosmtpd reads nothing else)."""
    data = re.sub(rb"\r\n|\n|\r(?!\n)", b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@dataclass
class CorpusRun:
    """The corpus after it went through our receiver and the pipeline."""

    files: list[Path]
    factory: sessionmaker[Session]
    refused: dict[str, str]

    def raw(self, session: Session, name: str) -> RawMail:
        sha = hashlib.sha256(_as_sent((CORPUS / name).read_bytes())).hexdigest()
        raw = session.scalar(select(RawMail).where(RawMail.blob_sha256 == sha))
        assert raw is not None, f"{name} was not stored byte for byte"
        return raw

    def first_article(self, session: Session, name: str) -> Article:
        raw = self.raw(session, name)
        assert raw.status == "processed", f"{name}: {raw.status} {raw.error}"
        article = session.scalar(select(Article).where(Article.raw_mail_id == raw.id))
        assert article is not None, f"{name} has no article"
        return article


@pytest.fixture(scope="module")
def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        message = f"the mail corpus is missing: {CORPUS}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def corpus_run(corpus_files: list[Path], mail_database: str) -> Iterator[CorpusRun]:
    """Send every corpus file to our receiver once, and wait until all were processed."""
    relay = Relay(port=free_port(), behaviour=RelayBehaviour())
    relay.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TICKETFLOW_DATABASE_URL", mail_database)
        patch.setenv("TICKETFLOW_SMTP_URL", relay.url)
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()
        backend = jobs.InProcessBackend()
        jobs.set_backend(backend)
        receiver = make_controller("127.0.0.1", free_port())
        receiver.start()
        refused: dict[str, str] = {}
        try:
            with smtplib.SMTP(receiver.hostname, receiver.port, timeout=60) as client:
                for path in corpus_files:
                    name = str(path.relative_to(CORPUS))
                    try:
                        # smtplib sends bytes as they are; like every MTA, end lines with CRLF.
                        data = _as_sent(path.read_bytes())
                        client.sendmail("corpus@sender.example", ["support@helpdesk.example"], data)
                    except smtplib.SMTPException as exc:
                        refused[name] = repr(exc)
            backend.join()
            yield CorpusRun(corpus_files, make_sessionmaker(db.get_engine()), refused)
        finally:
            receiver.stop()
            relay.stop()
            backend.join()
            jobs.set_backend(None)
            config.get_settings.cache_clear()
            db.get_engine.cache_clear()


def check_every_distinct_file_is_stored_once_and_becomes_a_ticket_or_a_visible_failure(
    corpus_run: CorpusRun,
) -> None:
    distinct = {hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus_run.files}
    assert corpus_run.refused == {}
    with session_scope(corpus_run.factory) as session:
        raws = session.scalars(select(RawMail)).all()
        assert len(raws) == len(distinct)
        stored = {raw.blob_sha256 for raw in raws}
        for path in corpus_run.files:
            assert hashlib.sha256(_as_sent(path.read_bytes())).hexdigest() in stored, path
        unfinished = {raw.id: (raw.status, raw.error) for raw in raws if raw.status == "received"}
        assert unfinished == {}
        for raw in raws:
            if raw.status == "failed":
                assert raw.error, f"raw mail {raw.id} failed without a reason"
            else:
                assert raw.ticket_id is not None
                assert session.get(Ticket, raw.ticket_id) is not None
            assert blobs.read(session, sha256=raw.blob_sha256)  # the bytes are kept
        failed = {raw.id: raw.error for raw in raws if raw.status == "failed"}
        assert failed == {}, "mails of the corpus failed (the ticket would be missing)"


def check_the_known_hard_cases_become_tickets(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        outcomes = {name: corpus_run.raw(session, name) for name in HARD_CASES}
        assert {
            name: (raw.status, raw.error) for name, raw in outcomes.items() if raw.ticket_id is None
        } == {}


def _attachment_names(session: Session, article: Article) -> list[str]:
    return list(session.scalars(select(Attachment.filename).where(Attachment.article_id == article.id)))


def check_koi8_r_subjects_and_file_names_are_decoded(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        article = corpus_run.first_article(session, "otobo/PostMaster/PostMaster-Test13.box")
        assert article.subject == "Заявка на генерацию 402 240108 (3)"
        assert "Заявка на генерацию 402 240108 (3).doc" in _attachment_names(session, article)


def check_iso_8859_15_subjects_and_senders_are_decoded(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        article = corpus_run.first_article(session, "rt/8859-15-message-series/msg1")
        assert article.subject == "test äöüßÄÖÜß€"
        article = corpus_run.first_article(session, "otobo/sample_mails/test-email-7-euro-iso-8859-15.box")
        assert article.subject == "Show me your €!"
        article = corpus_run.first_article(session, "otobo/PostMaster/PostMaster-Test4.box")
        # Windows-1252 and ISO-8859-15 encoded words in one From header.
        assert article.from_addr == "Hans BÄKO Schönland <me@bogen.net>"
        assert "Сергей Углицких" in article.subject
        assert "使って" in article.subject


def check_iso_2022_jp_and_rfc_2231_file_names_are_decoded(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        article = corpus_run.first_article(session, "rt/rfc2231-attachment-filename-continuations")
        assert _attachment_names(session, article) == ["新しいテキスト ドキュメント.txt"]
        assert article.subject == "Client ? Japanese Attachment Name issue"
        # PostMaster-Test12: the modern parser raises on its ISO-2022-JP file name; the other
        # names (Cyrillic, Japanese, Chinese, Korean) and the sender still come through.
        article = corpus_run.first_article(session, "otobo/PostMaster/PostMaster-Test12.box")
        names = _attachment_names(session, article)
        assert "Обяснительная.jpg" in names
        assert "國科會50科學之旅活動計畫徵求書(r_final).doc" in names
        assert "2차 보도자료.hwp" in names
        assert any(name.startswith("報告書") for name in names)
        assert article.from_addr == "Сапожников Борис <me@example.com>"
        assert article.subject == "test äöüß"


def check_other_charsets_and_raw_8bit_headers_are_decoded(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        assert corpus_run.first_article(session, "rt/new-ticket-from-gb18030").subject == "测试"
        utf7 = corpus_run.first_article(session, "otobo/EmailParser/UTF-7.box")
        assert utf7.subject.startswith("Microsoft Forefront Protection for SharePoint")
        # An unencoded ISO-8859-1 sender name, read with the charset of the body.
        article = corpus_run.first_article(session, "rt/new-ticket-from-iso-8859-1")
        assert article.from_addr == "Wilhelmsen Håvard <hw@nordkapp.net>"


def check_attached_mails_are_kept_as_eml_files(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        article = corpus_run.first_article(session, "rt/outlook-rfc822")
        # Named after its own subject, as mail clients save it.
        assert _attachment_names(session, article) == ["Updates to our terms of use.eml"]
        assert "Check out the attached file" in article.body_text
        assert "Content-Type" not in article.body_text


def check_multipart_mail_without_a_usable_boundary_keeps_its_text(corpus_run: CorpusRun) -> None:
    with session_scope(corpus_run.factory) as session:
        assert corpus_run.first_article(session, "cpython/msg_41.txt").body_text == "Blah blah blah"
        assert "message 2" in corpus_run.first_article(session, "cpython/msg_31.txt").body_text


def check_different_mails_under_one_message_id_are_all_kept(corpus_run: CorpusRun) -> None:
    """Broken mailers reuse Message-IDs: OTOBO's Disposition samples share one."""
    with session_scope(corpus_run.factory) as session:
        names = [f"otobo/PostMaster/Disposition{n}.box" for n in (1, 2, 3, 4)]
        raws = [corpus_run.raw(session, name) for name in names]
        assert len({raw.message_id for raw in raws}) == 1
        assert len({raw.ticket_id for raw in raws}) == 4
        for name in names:
            corpus_run.first_article(session, name)


def check_a_copy_differing_only_in_other_headers_is_not_added_twice(corpus_run: CorpusRun) -> None:
    """The same mail (Message-ID, body, sender, subject …) arriving another way."""
    with session_scope(corpus_run.factory) as session:
        first = corpus_run.raw(session, "otobo/EmailParser/PostMaster-Test5.box")
        copy = corpus_run.raw(session, "otobo/PostMaster/PostMaster-Test5.box")
        assert first.id != copy.id
        assert (copy.status, copy.ticket_id) == ("processed", first.ticket_id)
        assert session.scalar(select(Article.id).where(Article.raw_mail_id == copy.id)) is None
        notes = session.scalars(
            select(History.comment).where(
                History.ticket_id == first.ticket_id, History.new_value == f"raw mail {copy.id}"
            )
        ).all()
        assert notes
        assert "the same mail arrived again" in notes[0]


CHECKS = [
    check_every_distinct_file_is_stored_once_and_becomes_a_ticket_or_a_visible_failure,
    check_the_known_hard_cases_become_tickets,
    check_koi8_r_subjects_and_file_names_are_decoded,
    check_iso_8859_15_subjects_and_senders_are_decoded,
    check_iso_2022_jp_and_rfc_2231_file_names_are_decoded,
    check_other_charsets_and_raw_8bit_headers_are_decoded,
    check_attached_mails_are_kept_as_eml_files,
    check_multipart_mail_without_a_usable_boundary_keeps_its_text,
    check_different_mails_under_one_message_id_are_all_kept,
    check_a_copy_differing_only_in_other_headers_is_not_added_twice,
]


def test_the_corpus_over_smtp(corpus_run):
    """One test, so that the corpus is sent once (an xdist worker per test would resend it)."""
    problems = []
    for check in CHECKS:
        try:
            check(corpus_run)
        except AssertionError as exc:
            problems.append(f"{check.__name__}: {exc}")
    assert not problems, "\n\n".join(problems)
