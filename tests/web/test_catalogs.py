"""The catalogs: every text a person reads is extracted, and translated into de, ru and hu.

The extraction is the one of ``make translations`` (``babel.cfg``, the Makefile's keywords):
templates, Python messages of every package (``_``, ``N_``, ``lazy_gettext``, ``ngettext``),
the shipped task forms and the names in the shipped BPMN processes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from core import i18n

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("de", "ru", "hu")


def _makefile_keywords() -> list[str]:
    """The ``-k`` options of the Makefile's ``translations`` target: the same extraction."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if "pybabel extract" in x)
    return re.findall(r"-k \S+", line)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    template = tmp_path_factory.mktemp("pot") / "messages.pot"
    keywords = [part for option in _makefile_keywords() for part in option.split()]
    pybabel = str(Path(sys.executable).parent / "pybabel")
    subprocess.run(
        [pybabel, "-q", "extract", "-F", "babel.cfg", *keywords, "-o", str(template), "."],
        cwd=ROOT,
        check=True,
    )
    with template.open("rb") as handle:
        return read_po(handle)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_the_extraction_covers_templates_python_forms_mails_and_bpmn_names(extracted):
    where = {_key(m.id): {path for path, _line in m.locations} for m in extracted if m.id}
    assert len(where) > 500
    # A template, a server error, a field message, a form title, an enum title, a help text,
    # a task name, an agent mail, a state and a history label.
    expected = {
        "Open tasks": "web/templates/",
        "ticket %(number)s is locked by %(holder)s": "desk/ticket/service.py",
        "this field is required": "engine/forms.py",
        "Target queue": "bpmn/forms/triage.schema.json",
        "Move it to another queue": "bpmn/forms/triage.schema.json",
        "Decide what happens with this new ticket: close it, ask the customer for missing data, "
        "move it to the queue that works on it, or work on it here.": "bpmn/forms/triage.schema.json",
        "Work": "bpmn/ticket_handling.bpmn",
        "[Escalation] %(title)s": "flows/escalation.py",
        "Weekly statistics %(start)s – %(end)s": "reports/weekly.py",
        "closed successful": "web/labels.py",
        "State changed": "web/labels.py",
    }
    for msgid, path in expected.items():
        assert msgid in where, msgid
        assert any(found.startswith(path) for found in where[msgid]), (msgid, where[msgid])
    # Identifiers only the engine reads are no texts.
    assert "customer_replied" not in where  # a <bpmn:message>
    assert "authorization_approved" not in where  # a called process's output
    assert "ask_customer" not in where  # a choice's value (const), not its title


def test_every_text_has_a_translation_in_de_ru_and_hu(extracted):
    """No English fallback: each msgid (each plural form) is translated and not fuzzy.

    Fails until the translation pass has filled the catalogs (``make translations`` merges
    new msgids in; the translators fill them).
    """
    wanted = {_key(m.id): m.id for m in extracted if m.id}
    missing: dict[str, list[str]] = {}
    for code in TRANSLATED:
        path = ROOT / "web" / "translations" / code / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=code)
        done = set()
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if strings and all(s and s.strip() for s in strings):
                done.add(_key(message.id))
        left = sorted(set(wanted) - done)
        if left:
            missing[code] = left
    assert missing == {}, {code: f"{len(ids)} untranslated, e.g. {ids[:5]}" for code, ids in missing.items()}


def test_the_form_extractor_finds_titles_descriptions_and_choice_titles():
    path = ROOT / "bpmn" / "forms" / "triage.schema.json"
    with path.open("rb") as handle:
        texts = [text for _line, _fn, text, _comments in i18n.extract_form_schema(handle, [], [], {})]
    assert texts[0] == "Triage"
    assert "Decision" in texts
    assert "Ask the customer for missing data and wait" in texts
    assert "Remind me after (days)" in texts
    assert any(t.startswith("The queue to move the ticket to") for t in texts)
    # Values and per-language variants are not texts to translate.
    assert "ask_customer" not in texts


def test_the_form_extractor_reads_enum_titles_and_skips_language_variants():
    schema = {
        "title": "Pick",
        "title@de": "Wählen",
        "properties": {
            "title": {"title": "Heading", "type": "string"},
            "size": {
                "title": "Size",
                "enum": ["s", "m"],
                "x-enum-titles": ["Small", "Medium"],
                "default": "m",
            },
        },
    }
    assert list(i18n.form_texts(schema)) == ["Pick", "Heading", "Size", "Small", "Medium"]


def test_the_bpmn_extractor_finds_task_and_process_names_but_no_message_names():
    path = ROOT / "bpmn" / "ticket_handling.bpmn"
    with path.open("rb") as handle:
        names = [text for _line, _fn, text, _comments in i18n.extract_bpmn_names(handle, [], [], {})]
    assert "Ticket handling" in names  # the process and its pool
    assert "Triage" in names
    assert "Work" in names
    assert "customer_replied" not in names  # a <bpmn:message>, read only by the engine


def test_messages_that_name_something_are_extracted_with_placeholders(extracted):
    """Errors naming a queue, an address, a step or a file are msgids with named placeholders
    (``core.errors.FieldMessage``), not f-strings the catalog can never hold."""
    where = {_key(m.id): {path for path, _line in m.locations} for m in extracted if m.id}
    expected = {
        "%(queue)s is not active": "desk/ticket/service.py",
        "%(address)s is a customer's address": "desk/article/recipients.py",
        "%(login)s has no owner right on %(queue)s": "desk/ticket/service.py",
        "state %(state)s needs a pending-until time": "desk/ticket/service.py",
        "step %(step)r: %(reason)s": "engine/runtime.py",
        "the process cannot be deployed: %(problems)s": "engine/errors.py",
        "%(where)s: form %(file)r is not supplied": "engine/parser.py",
        "processes call themselves: %(cycle)s": "engine/parser.py",
        "there is no agent with the login %(login)r": "processes/operators.py",
        "a priority is 1 to 5, not %(priority)r": "processes/operators.py",
        "%(state)s is not a closed state": "flows/state.py",
        "at most %(num)s at once": "flows/bulk.py",
        "time accounting is off for this queue": "desk/time_accounting/service.py",
        "Every figure is also attached to this mail as an Excel workbook (%(file)s).": "reports/weekly.py",
    }
    for msgid, path in expected.items():
        assert msgid in where, msgid
        assert any(found.startswith(path) for found in where[msgid]), (msgid, where[msgid])
    flagged = {_key(m.id) for m in extracted if m.id and "python-format" in m.flags}
    assert "%(queue)s is not active" in flagged  # translators are told about the placeholder
