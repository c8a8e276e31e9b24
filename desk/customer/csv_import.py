"""CSV import of customer users: upload, preview, import with a per-row report.

The upload is kept on the server (:class:`CustomerImport`, with its SHA-256) so what is
imported is exactly what was previewed; the client only names the import's id.  Reading never
raises for bad input: a file that cannot be read at all (too big, binary, not decodable, no
e-mail column) is a :class:`ValidationError` on the ``file`` field, and a bad row is only a
line in the report.  Valid rows are imported, invalid ones reported, in the caller's one
transaction: every row is checked before anything is written (against the file itself and
the database), so a bad row cannot make the flush fail.  The import writes one audit entry
with the counts.  The admin page and ``ticketflow customer import FILE`` call these functions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import charset_normalizer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor, actor_label
from desk.audit import service as audit
from desk.customer.admin import LIMITS, valid_email
from desk.customer.models import LANGUAGES, CustomerCompany, CustomerImport, CustomerUser
from desk.permission.service import require_admin

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
# One field of a customer is a name or an address; a longer one is a broken file.
MAX_FIELD = 1_000
PREVIEW_ROWS = 10
ENCODINGS = ("auto", "utf-8", "windows-1252", "windows-1251", "windows-1250")
DELIMITERS = {"auto": "", "comma": ",", "semicolon": ";", "tab": "\t"}
FIELDS = ("login", "email", "first_name", "last_name", "company_id", "company", "language")
# Header names (lower case, without spaces, dashes, dots and underscores) → field.
ALIASES = {
    "login": ("login", "username", "user", "userlogin", "customerlogin", "benutzer", "benutzername", "логин"),
    "email": ("email", "mail", "emailaddress", "emailadresse", "address", "почта", "электроннаяпочта"),
    "first_name": ("firstname", "first", "givenname", "forename", "vorname", "имя", "keresztnév", "utónév"),
    "last_name": ("lastname", "last", "surname", "familyname", "nachname", "фамилия", "vezetéknév"),
    "company_id": ("companyid", "customerid", "companycustomerid", "firmaid", "firmennummer", "cégazonosító"),
    "company": ("company", "companyname", "organisation", "organization", "firma", "компания", "cég"),
    "language": ("language", "lang", "locale", "sprache", "язык", "nyelv"),
}
_HEADER_JUNK = re.compile(r"[\s_\-.]+")
# Control characters no customer's name or address holds; tab, CR and LF are CSV's own.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowError:
    """Why one line was not imported."""

    line: int
    code: str  # missing_field, bad_email, bad_login, duplicate_login, duplicate_email,
    # login_exists, email_exists, unknown_language, unknown_company, too_long
    field: str
    value: str = ""
    other_line: int | None = None

    @property
    def message(self) -> str:
        """The reason in English (the CLI's wording; the page translates the code)."""
        texts = {
            "missing_field": f"missing required field {self.field}",
            "bad_email": f"bad e-mail address {self.value!r}",
            "bad_login": f"a login is one word, not {self.value!r}",
            "duplicate_login": f"duplicate login {self.value!r} (also on line {self.other_line})",
            "duplicate_email": f"duplicate e-mail address {self.value!r} (also on line {self.other_line})",
            "login_exists": f"a customer with login {self.value!r} exists already",
            "email_exists": f"a customer with e-mail address {self.value!r} exists already",
            "unknown_language": f"unknown language {self.value!r} (one of {', '.join(LANGUAGES)})",
            "unknown_company": f"unknown company {self.value!r}",
            "too_long": f"{self.field} is longer than {LIMITS.get(self.field, MAX_FIELD)} characters",
        }
        return texts.get(self.code, self.code)


@dataclass(frozen=True)
class ParsedFile:
    """A decoded CSV file: how it was read, its columns and its data rows with their lines."""

    encoding: str
    delimiter: str
    header: list[str]
    # Column index → field (columns that map to no field are absent).
    mapping: dict[int, str]
    rows: list[tuple[int, list[str]]]

    @property
    def ignored_columns(self) -> list[str]:
        """The header names that map to no field."""
        return [name for index, name in enumerate(self.header) if index not in self.mapping]


@dataclass
class ImportPlan:
    """What an import would do (the preview) or did: rows to create, rows refused."""

    customers: list[dict[str, object]] = field(default_factory=list)
    new_companies: dict[str, str] = field(default_factory=dict)  # customer id → name
    errors: list[RowError] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------


def _file_error(message: str) -> ValidationError:
    return ValidationError("the file cannot be imported", errors={"file": [message]})


def _decode(data: bytes, encoding: str) -> tuple[str, str]:
    if encoding not in ENCODINGS:
        raise ValidationError(
            N_("invalid encoding"),
            errors={"encoding": [FieldMessage(N_("one of %(choices)s"), choices=", ".join(ENCODINGS))]},
        )
    if b"\x00" in data:
        raise _file_error("the file contains NUL bytes: it is not a text CSV file (UTF-16 or binary?)")
    if encoding == "auto":
        if data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            try:
                return data.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                encoding = _legacy_encoding(data)
    elif encoding == "utf-8":
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = encoding.removesuffix("-sig")
        raise _file_error(f"the file is not valid {name} (byte {exc.start + 1})") from None
    return text, encoding.removesuffix("-sig")


def _legacy_encoding(data: bytes) -> str:
    """Windows-1251 (Cyrillic) or Windows-1252 (Western) for text that is not UTF-8."""
    best = charset_normalizer.from_bytes(data[:65536], cp_isolation=["cp1251", "cp1252"]).best()
    if best is not None and best.encoding == "cp1251":
        return "windows-1251"
    if best is not None and best.encoding == "cp1252":
        return "windows-1252"
    # Undecided: Cyrillic text has high bytes in runs (whole words), Western text now and then.
    high = sum(1 for b in data if b >= 0xC0)
    return "windows-1251" if high > len(data) // 8 else "windows-1252"


def _normal_header(name: str) -> str:
    return _HEADER_JUNK.sub("", name.strip().lower())


def detect_mapping(header: Sequence[str]) -> dict[int, str]:
    """Column index → field, by the header's names (the first column naming a field wins)."""
    lookup = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    mapping: dict[int, str] = {}
    for index, raw in enumerate(header):
        target = lookup.get(_normal_header(raw))
        if target and target not in mapping.values():
            mapping[index] = target
    return mapping


def _delimiter(first_line: str, choice: str) -> str:
    if choice not in DELIMITERS:
        raise ValidationError(
            N_("invalid delimiter"),
            errors={"delimiter": [FieldMessage(N_("one of %(choices)s"), choices=", ".join(DELIMITERS))]},
        )
    if DELIMITERS[choice]:
        return DELIMITERS[choice]
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def parse(data: bytes, *, encoding: str = "auto", delimiter: str = "auto") -> ParsedFile:
    """Decode and split a CSV file; :class:`ValidationError` (field ``file``) if it cannot be read."""
    if not data.strip():
        raise _file_error("the file is empty")
    if len(data) > MAX_BYTES:
        raise _file_error(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text, used = _decode(data, encoding)
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise _file_error(f"line {line} holds a control character: this is not a text CSV file")
    first_line = text.split("\n", 1)[0]
    sep = _delimiter(first_line, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for values in reader:
            # csv counts physical lines and a quoted field may span several: the row starts
            # on the line after the one the previous row ended on.
            start, last_line = last_line + 1, reader.line_num
            if len(values) > 100 or any(len(value) > MAX_FIELD for value in values):
                raise _file_error(
                    f"line {reader.line_num} is too long (at most 100 fields of {MAX_FIELD} characters)"
                )
            if header is None:
                header = [value.strip() for value in values]
                continue
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise _file_error(f"the file has more than {MAX_ROWS} rows; split it")
            rows.append((start, values))
    except csv.Error as exc:
        raise _file_error(f"line {reader.line_num} cannot be read as CSV: {exc}") from None
    if not header or not any(header):
        raise _file_error("the first line must name the columns")
    mapping = detect_mapping(header)
    if "email" not in mapping.values():
        raise _file_error(
            "no column for the e-mail address: the first line must name the columns "
            "(login, email, first name, last name, company id, company, language)"
        )
    return ParsedFile(encoding=used, delimiter=sep, header=header, mapping=mapping, rows=rows)


# --- checking -------------------------------------------------------------------------


def _records(parsed: ParsedFile) -> Iterator[tuple[int, dict[str, str]]]:
    for line, values in parsed.rows:
        record = dict.fromkeys(FIELDS, "")
        for index, name in parsed.mapping.items():
            if index < len(values):
                record[name] = values[index].strip()
        yield line, record


def _existing(session: Session, column: object, values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        if column == "login":
            found.update(session.scalars(select(CustomerUser.login).where(CustomerUser.login.in_(chunk))))
        else:
            lowered = func.lower(CustomerUser.email)
            found.update(session.scalars(select(lowered).where(lowered.in_(chunk))))
    return found


def plan(session: Session, parsed: ParsedFile, *, create_companies: bool) -> ImportPlan:
    """Check every row against the file and the database; nothing is written."""
    records = list(_records(parsed))
    for _line, record in records:
        record["email"] = record["email"].lower()
        record["login"] = record["login"] or record["email"]
        record["language"] = record["language"].lower() or "en"
    logins = _existing(session, "login", sorted({r["login"] for _l, r in records if r["login"]}))
    emails = _existing(session, "email", sorted({r["email"] for _l, r in records if r["email"]}))
    companies = {c.customer_id: c for c in session.scalars(select(CustomerCompany))}
    by_name = {c.name.lower(): c for c in companies.values()}
    result = ImportPlan()
    seen_logins: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for line, record in records:
        error = _row_error(
            line, record, seen_logins=seen_logins, seen_emails=seen_emails, logins=logins, emails=emails
        )
        company_key: str | None = None
        if error is None and (record["company_id"] or record["company"]):
            company_key, error = _company_of(
                line, record, companies=companies, by_name=by_name, result=result, create=create_companies
            )
        if error is not None:
            result.errors.append(error)
            continue
        seen_logins[record["login"]] = line
        seen_emails[record["email"]] = line
        result.customers.append(
            {
                "line": line,
                "login": record["login"],
                "email": record["email"],
                "first_name": record["first_name"],
                "last_name": record["last_name"],
                "language": record["language"],
                "company": company_key,
            }
        )
    return result


def _row_error(
    line: int,
    record: dict[str, str],
    *,
    seen_logins: dict[str, int],
    seen_emails: dict[str, int],
    logins: set[str],
    emails: set[str],
) -> RowError | None:
    email, login = record["email"], record["login"]
    if not email:
        return RowError(line, "missing_field", "email")
    for name in ("login", "email", "first_name", "last_name"):
        if len(record[name]) > LIMITS[name]:
            return RowError(line, "too_long", name, record[name][:40])
    if not valid_email(email):
        return RowError(line, "bad_email", "email", email)
    if any(c.isspace() for c in login):
        return RowError(line, "bad_login", "login", login)
    if record["language"] not in LANGUAGES:
        return RowError(line, "unknown_language", "language", record["language"])
    if login in seen_logins:
        return RowError(line, "duplicate_login", "login", login, seen_logins[login])
    if email in seen_emails:
        return RowError(line, "duplicate_email", "email", email, seen_emails[email])
    if login in logins:
        return RowError(line, "login_exists", "login", login)
    if email in emails:
        return RowError(line, "email_exists", "email", email)
    return None


def _company_of(
    line: int,
    record: dict[str, str],
    *,
    companies: dict[str, CustomerCompany],
    by_name: dict[str, CustomerCompany],
    result: ImportPlan,
    create: bool,
) -> tuple[str | None, RowError | None]:
    key, name = record["company_id"], record["company"]
    if key and key in companies:
        return key, None
    if not key and name.lower() in by_name:
        return by_name[name.lower()].customer_id, None
    key = key or name
    fits = len(key) <= LIMITS["customer_id"] and len(name) <= LIMITS["name"]
    if key in result.new_companies or (create and fits):
        result.new_companies.setdefault(key, name or key)
        return key, None
    return None, RowError(line, "unknown_company", "company", key)


# --- the stored upload ----------------------------------------------------------------


def upload(
    session: Session,
    *,
    actor: Actor,
    data: bytes,
    file_name: str = "",
    encoding: str = "auto",
    delimiter: str = "auto",
) -> CustomerImport:
    """Keep an uploaded CSV file for its preview; refuses a file that cannot be read at all."""
    require_admin(session, actor)
    parse(data, encoding=encoding, delimiter=delimiter)
    stored = CustomerImport(
        created_by=actor_label(actor),
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        encoding=encoding,
        delimiter=delimiter,
        status="uploaded",
    )
    session.add(stored)
    session.flush()
    return stored


def get_import(session: Session, *, actor: Actor, import_id: int) -> CustomerImport:
    """An upload (before or after its import)."""
    require_admin(session, actor)
    found = session.get(CustomerImport, import_id) if 0 < import_id < 2**31 else None
    if found is None:
        raise NotFound("no such import")
    return found


@dataclass(frozen=True)
class Preview:
    """What the preview page shows: how the file was read, its first rows, what would happen."""

    parsed: ParsedFile
    plan: ImportPlan

    @property
    def first_rows(self) -> list[tuple[int, list[str]]]:
        """The first data rows as they are in the file."""
        return self.parsed.rows[:PREVIEW_ROWS]


def preview(
    session: Session, *, actor: Actor, stored: CustomerImport, create_companies: bool = False
) -> Preview:
    """Read the stored upload again and check it, writing nothing."""
    require_admin(session, actor)
    if stored.status != "uploaded":
        raise Conflict("this file was imported already")
    parsed = parse(stored.data, encoding=stored.encoding, delimiter=stored.delimiter)
    return Preview(parsed=parsed, plan=plan(session, parsed, create_companies=create_companies))


def run(
    session: Session, *, actor: Actor, stored: CustomerImport, create_companies: bool = False
) -> CustomerImport:
    """Import the valid rows, report the others, record one audit entry with the counts."""
    require_admin(session, actor)
    if stored.status != "uploaded":
        raise Conflict("this file was imported already")
    parsed = parse(stored.data, encoding=stored.encoding, delimiter=stored.delimiter)
    result = plan(session, parsed, create_companies=create_companies)
    companies = {c.customer_id: c for c in session.scalars(select(CustomerCompany))}
    for key, name in result.new_companies.items():
        companies[key] = CustomerCompany(customer_id=key, name=name, valid=True)
        session.add(companies[key])
    session.add_all(
        CustomerUser(
            login=row["login"],
            email=row["email"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            language=row["language"],
            company=companies[str(row["company"])] if row["company"] else None,
            sees_company_tickets=True,
            valid=True,
        )
        for row in result.customers
    )
    stored.status = "imported"
    stored.imported_at = utcnow()
    stored.imported_count = len(result.customers)
    stored.rejected_count = len(result.errors)
    stored.companies_created = len(result.new_companies)
    stored.report = json.dumps([asdict(error) for error in result.errors], ensure_ascii=False)
    # The customers now live in their own rows; the file (personal data) is not kept.
    stored.data = b""
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_import",
        object_id=stored.id,
        object_label=stored.file_name or stored.sha256[:12],
        action="import",
        new={
            "imported": stored.imported_count,
            "rejected": stored.rejected_count,
            "companies_created": stored.companies_created,
            "sha256": stored.sha256,
        },
    )
    return stored


def report_of(stored: CustomerImport) -> list[RowError]:
    """The refused rows of an import that ran."""
    try:
        rows = json.loads(stored.report or "[]")
    except ValueError:
        return []
    return [RowError(**row) for row in rows if isinstance(row, dict)]
