"""Loading a registry export (CSV, one row per dose) into beneficiaries and doses.

An import (import_rows) reads the file once to check and write it, and once more to confirm
that it did not change meanwhile, all inside one transaction:

1. A worker thread reads the file and checks every row (RowParser, then the rules that tie
   a beneficiary's rows together) and hands the checked rows over in batches of whole
   beneficiaries, about BATCH_ROWS rows each.
2. The calling thread writes each batch as it comes (RegistryWriter; on PostgreSQL,
   PostgresWriter writes by COPY straight into the registry's tables). Checking one batch
   overlaps with the database taking the one before.
3. If any row was bad, nothing is kept: the transaction is rolled back and ImportRejected
   lists the first MAX_LISTED_ERRORS bad lines with their number and reason. (The writes
   made before the first bad line was found are undone, not avoided.)
4. The file is read again and compared with what was checked, a chunk of rows at a time by
   hash; a file that changed imports nothing.

A beneficiary's rows must be consecutive, as a registry export sorted by reference id lists
them. The reference id and line of each beneficiary's first row go into a temporary table as
the batches are written, and the ids that start twice are looked up there at the end (only
when the ids did not come in ascending order), so that rule costs the database disk space,
not this process's memory. What this process holds is a few batches, the first bad lines,
one chunk of rows during the second read and at most about MAX_DIGESTS 8-byte hashes,
whatever the size of the file.

Importing is idempotent on the reference id: a beneficiary already in the registry gets
the file's name, mobile, birth year and gender, and the file's doses replace theirs.
Beneficiaries the file does not mention are kept.
"""

import csv
import gc
import io
import queue
import re
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

from kyvs.mobile import InvalidMobile, normalise_mobile
from kyvs.text import plain_digits
from verification import registry
from verification.models import Beneficiary, Dose, Vaccine

HEADER = (
    "beneficiary_reference_id",
    "name",
    "mobile",
    "birth_year",
    "gender",
    "vaccine",
    "dose_number",
    "dose_kind",
    "dose_date",
    "centre",
    "district",
    "state",
)
DOSE_COLUMNS = HEADER[5:]
# Rows per batch handed from the checking thread to the writer. Larger batches mean fewer
# round trips to the database, smaller ones less memory: QUEUE_BATCHES wait between the
# threads, one is being built and one written.
BATCH_ROWS = 10_000
QUEUE_BATCHES = 1
# Rows per hash in the comparison of the second read with the first: at least DIGEST_ROWS,
# more in a file so big that there would be over MAX_DIGESTS hashes (sized by the file's
# bytes, at no fewer than MIN_ROW_BYTES a row; the shortest good row has about 45).
DIGEST_ROWS = 256
MAX_DIGESTS = 1 << 20
MIN_ROW_BYTES = 40
# Seconds the checking thread may keep the interpreter once the writer wants it back.
SWITCH_INTERVAL = 0.0005
MAX_LISTED_ERRORS = 100
MIN_BIRTH_YEAR = 1900
MAX_DOSE_NUMBER = 20

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEAR = re.compile(r"[0-9]{4}")
_SMALL_NUMBER = re.compile(r"[0-9]{1,2}")
# A NUL character is text no database column can hold (PostgreSQL refuses it outright): a
# file carrying one is damaged, and the line says so instead of failing the whole import.
_NUL_MESSAGE = "contains a NUL character (the file may be damaged)"
_MAX_LENGTH = {
    "name": Beneficiary._meta.get_field("name").max_length,
    "centre": Dose._meta.get_field("centre").max_length,
    "district": Dose._meta.get_field("district").max_length,
    "state": Dose._meta.get_field("state").max_length,
}

# A source of rows: called once per read, it yields (line number, fields) for each data
# row. The header is the source's business (see csv_source). A source may also have `size`
# (its length, e.g. in bytes) and `position()` (how far the current read has come, in the
# same unit), which progress reports use.
Row = tuple[int, Sequence[str]]
RowSource = Callable[[], Iterable[Row]]


class Progress(Protocol):
    """Told after each batch how far a stage has come: `stage` is "importing" (checking and
    writing) or "confirming" (the second read); `rows` the rows read so far; `position`
    and `total` in the source's unit (bytes of a CSV file), or rows and None for a source
    without a size."""

    def __call__(self, stage: str, rows: int, position: int, total: int | None) -> None: ...


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportRejected(Exception):
    """The file cannot be imported; nothing was written."""

    def __init__(self, message: str, bad_lines: Sequence[BadLine] = (), more: int = 0):
        self.bad_lines = list(bad_lines)
        self.more = more
        super().__init__(message)

    def __str__(self) -> str:
        lines = [self.args[0], *(f"  {bad}" for bad in self.bad_lines)]
        if self.more:
            lines.append(f"  ... and {self.more} more bad lines")
        return "\n".join(lines)


class DoseRow(NamedTuple):
    vaccine_id: int
    number: int
    kind: str
    date: str  # YYYY-MM-DD, checked to be a date
    centre: str
    district: str
    state: str


class BeneficiaryRow(NamedTuple):
    line: int
    reference_id: str
    name: str
    name_normalised: str
    mobile: str
    birth_year: int
    gender: str
    dose: DoseRow | None

    def identity(self) -> tuple[str, str, int, str]:
        return (self.name, self.mobile, self.birth_year, self.gender)

    def registered(self) -> tuple[str, str, str, int, str]:
        """The values a Beneficiary row holds, in RegistryWriter._REGISTERED's order."""
        return (self.name, self.name_normalised, self.mobile, self.birth_year, self.gender)


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    doses: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (
            f"Imported {self.created + self.updated} beneficiaries "
            f"({self.created} created, {self.updated} updated) and {self.doses} doses "
            f"in {self.seconds:.1f} s."
        )


class RowError(ValueError):
    pass


_GENDERS = frozenset(Beneficiary.Gender.values)
_KINDS = frozenset(Dose.Kind.values)
# The good values of a few columns, as parsed: what RowParser's quick path looks up.
_CANONICAL_KINDS = {kind: kind for kind in Dose.Kind.values}
_DOSE_NUMBERS = {
    text: n
    for n in range(1, MAX_DOSE_NUMBER + 1)
    for text in {str(n), f"{n:02d}"}
    if _SMALL_NUMBER.fullmatch(text)
}


class RowParser:
    """Checks one row on its own: parse() gives a BeneficiaryRow or raises RowError naming
    everything wrong with the row. Made once per import; used by one thread at a time.

    A good row takes a quick path (the person is remembered from the row before, the dose
    columns are looked up among values already seen good); any problem sends the row
    through the full check, which names every problem."""

    def __init__(self, vaccines: dict[str, int], today: date):
        self.vaccines = vaccines
        self.today = today
        # A beneficiary's rows repeat the same person, and normalising a name is the
        # costliest step: the last few people parsed are remembered.
        self._person = lru_cache(maxsize=4)(self._parse_person)
        # Dose dates already seen well formed; at most one per day since 1900.
        self._dates: dict[str, date] = {}

    def parse(self, line: int, fields: Sequence[str]) -> BeneficiaryRow:
        if len(fields) != len(HEADER):
            raise RowError(f"expected {len(HEADER)} columns, found {len(fields)}")
        (
            reference_id,
            name,
            mobile,
            year,
            gender,
            vaccine,
            number,
            kind,
            when,
            centre,
            district,
            state,
        ) = map(str.strip, fields)
        person, person_problems = self._person(reference_id, name, mobile, year, gender)
        birth_year = person[4]
        dose = None
        if vaccine or number or kind or when or centre or district or state:
            dose = self._good_dose(
                vaccine, number, kind, when, centre, district, state, birth_year
            )
            if dose is None:
                problems = list(person_problems)
                self._dose_problems(
                    [vaccine, number, kind, when, centre, district, state], birth_year, problems
                )
                raise RowError("; ".join(problems))
        if person_problems:
            raise RowError("; ".join(person_problems))
        return BeneficiaryRow(line, *person, dose)

    def _parse_person(
        self, reference_id: str, name: str, mobile: str, year: str, gender: str
    ) -> tuple[tuple[str, str, str, str, int, str], tuple[str, ...]]:
        """BeneficiaryRow's person columns (reference id to gender: the reference id in
        ASCII digits by registry.parse_reference_id, the mobile by normalise_mobile, the
        birth year read through plain_digits; the name and gender as given) and what is
        wrong with them. Called once per beneficiary, not per row (the cache in __init__),
        so these parsers cost little however many doses a person has."""
        problems = []
        try:
            reference_id = registry.parse_reference_id(reference_id)
        except registry.InvalidReferenceId:
            problems.append(f"beneficiary_reference_id {reference_id!r} is not 14 digits")

        name_normalised = registry.normalise_name(name)
        if not name_normalised:
            problems.append("name is empty")
        elif len(name) > _MAX_LENGTH["name"]:
            problems.append(f"name is longer than {_MAX_LENGTH['name']} characters")
        elif "\x00" in name:
            problems.append(f"name {_NUL_MESSAGE}")

        try:
            mobile = normalise_mobile(mobile)
        except InvalidMobile:
            problems.append(f"mobile {mobile!r} is not a 10-digit Indian mobile")

        year = plain_digits(year)
        birth_year = int(year) if _YEAR.fullmatch(year) else 0
        if not MIN_BIRTH_YEAR <= birth_year <= self.today.year:
            problems.append(
                f"birth_year {year!r} is not a year from {MIN_BIRTH_YEAR} to {self.today.year}"
            )
            birth_year = 0

        if gender not in _GENDERS:
            problems.append(f"gender {gender!r} is not M, F or O")
        person = (reference_id, name, name_normalised, mobile, birth_year, gender)
        return person, tuple(problems)

    def _good_dose(
        self,
        vaccine: str,
        number_text: str,
        kind: str,
        date_text: str,
        centre: str,
        district: str,
        state: str,
        birth_year: int,
    ) -> DoseRow | None:
        """The dose when every column is good, else None (and _dose_problems says why).

        The dose number and date are looked up as given first; only text not found there
        (digits of another script, spaces, invisible marks, or a date not seen before) is
        read through plain_digits, as _dose_problems reads it."""
        vaccine_id = self.vaccines.get(vaccine)
        number = _DOSE_NUMBERS.get(number_text)
        if number is None:
            number = _DOSE_NUMBERS.get(plain_digits(number_text))
        kind = _CANONICAL_KINDS.get(kind)
        when = self._dates.get(date_text)
        if when is None:
            date_text = plain_digits(date_text)
            when = self._dates.get(date_text)
            if when is None and _ISO_DATE.fullmatch(date_text):
                with suppress(ValueError):
                    when = self._dates[date_text] = date.fromisoformat(date_text)
        if (
            vaccine_id is None
            or number is None
            or kind is None
            or when is None
            or when > self.today
            or when.year < birth_year
            or not (centre and district and state)
            or len(centre) > _MAX_LENGTH["centre"]
            or len(district) > _MAX_LENGTH["district"]
            or len(state) > _MAX_LENGTH["state"]
            or "\x00" in centre
            or "\x00" in district
            or "\x00" in state
        ):
            return None
        return DoseRow(vaccine_id, number, kind, date_text, centre, district, state)

    def _dose_problems(self, fields: list[str], birth_year: int, problems: list[str]) -> None:
        """Adds to `problems` everything wrong with a row's dose columns."""
        missing = [column for column, value in zip(DOSE_COLUMNS, fields, strict=True) if not value]
        if missing:
            problems.append(f"dose columns left empty: {', '.join(missing)}")
            return
        vaccine, number_text, kind, date_text, centre, district, state = fields
        number_text, date_text = plain_digits(number_text), plain_digits(date_text)

        vaccine_id = self.vaccines.get(vaccine)
        if vaccine_id is None:
            problems.append(f"unknown vaccine {vaccine!r}")

        number = int(number_text) if _SMALL_NUMBER.fullmatch(number_text) else 0
        if not 1 <= number <= MAX_DOSE_NUMBER:
            problems.append(
                f"dose_number {number_text!r} is not a number from 1 to {MAX_DOSE_NUMBER}"
            )

        if kind not in _KINDS:
            problems.append(f"dose_kind {kind!r} is not primary or precaution")

        when = None
        if _ISO_DATE.fullmatch(date_text):
            with suppress(ValueError):  # e.g. 2021-02-30
                when = date.fromisoformat(date_text)
        if when is None:
            problems.append(f"dose_date {date_text!r} is not a date as YYYY-MM-DD")
        elif when > self.today:
            problems.append(f"dose_date {date_text} is in the future")
        elif when.year < birth_year:
            problems.append(f"dose_date {date_text} is before the birth year")

        for column, value in (("centre", centre), ("district", district), ("state", state)):
            if len(value) > _MAX_LENGTH[column]:
                problems.append(f"{column} is longer than {_MAX_LENGTH[column]} characters")
            if "\x00" in value:
                problems.append(f"{column} {_NUL_MESSAGE}")


@dataclass(slots=True)
class _Group:
    """The consecutive rows of one beneficiary, as far as checking them needs."""

    first: BeneficiaryRow
    doses: dict[tuple[str, int], int] = field(default_factory=dict)
    undosed_line: int | None = None


def _check_group_row(group: _Group, row: BeneficiaryRow) -> str | None:
    first = group.first
    if row is not first and (
        row.name != first.name
        or row.mobile != first.mobile
        or row.birth_year != first.birth_year
        or row.gender != first.gender
    ):
        differing = [
            column
            for column, a, b in zip(
                ("name", "mobile", "birth_year", "gender"),
                first.identity(),
                row.identity(),
                strict=True,
            )
            if a != b
        ]
        if differing:
            verb = "differs" if len(differing) == 1 else "differ"
            return (
                f"{', '.join(differing)} {verb} from line {first.line} "
                f"for the same beneficiary {row.reference_id}"
            )
    if row.dose is None:
        if group.doses or group.undosed_line is not None:
            return (
                f"beneficiary {row.reference_id} already has a row on line {first.line}; "
                "a row without a dose is only for a beneficiary without doses"
            )
        group.undosed_line = row.line
        return None
    if group.undosed_line is not None:
        return (
            f"beneficiary {row.reference_id} has a row without a dose on line {group.undosed_line}"
        )
    key = (row.dose.kind, row.dose.number)
    if key in group.doses:
        return f"{row.dose.kind} dose {row.dose.number} is also on line {group.doses[key]}"
    group.doses[key] = row.line
    return None


def _repeated_reason(reference_id: str) -> str:
    return (
        f"beneficiary {reference_id} appears earlier in the file; "
        "a beneficiary's rows must be consecutive"
    )


class Batch(list):
    """Whole beneficiaries, each the list of its rows, and what the writer made of them
    beforehand (RegistryWriter.prepare) in the checking thread."""

    __slots__ = ("prepared",)

    def __init__(self):
        super().__init__()
        self.prepared = None


@dataclass(slots=True)
class _Handover:
    """What the checking thread hands the writer: whole beneficiaries to write or, once a
    bad line has been found and nothing will be kept, only the (reference id, line) of
    each beneficiary's first row, for finding the ones that appear twice."""

    batch: Batch | None
    starts: list[tuple[str, int]] | None
    rows: int
    position: int


@dataclass
class _Checked:
    """What the first read found."""

    rows: int = 0
    bad: list[BadLine] = field(default_factory=list)
    bad_count: int = 0
    # Every beneficiary's first reference id above the one before: none can appear twice.
    ascending: bool = True


def _check(
    source: RowSource, parser: RowParser, hand_over: Callable[[_Handover], None]
) -> _Checked:
    """The first read: every row checked, and handed over in batches of whole beneficiaries
    while no row has been bad."""
    checked = _Checked()
    bad = checked.bad
    position = getattr(source, "position", None)
    parse = parser.parse

    batch = Batch()
    in_batch: set[str] = set()
    batch_rows = 0
    group: _Group | None = None
    group_rows: list[BeneficiaryRow] = []
    previous_start = ""
    rows = 0

    def flush() -> None:
        nonlocal batch, in_batch, batch_rows
        if not batch:
            return
        where = position() if position else rows
        if checked.bad_count:
            starts = [(first[0].reference_id, first[0].line) for first in batch]
            hand_over(_Handover(None, starts, rows, where))
        else:
            hand_over(_Handover(batch, None, rows, where))
        batch, in_batch, batch_rows = Batch(), set(), 0

    def end_group() -> None:
        nonlocal batch_rows
        reference_id = group.first.reference_id
        # A batch never holds one beneficiary twice (that file is bad, and is found to be
        # at the end); the writer could not write both.
        if reference_id in in_batch:
            flush()
        in_batch.add(reference_id)
        batch.append(group_rows)
        batch_rows += len(group_rows)
        if batch_rows >= BATCH_ROWS:
            flush()

    for line, fields in source():
        rows += 1
        try:
            row = parse(line, fields)
        except RowError as error:
            reason: str | None = str(error)
        else:
            if group is None or group.first.reference_id != row.reference_id:
                if group is not None:
                    end_group()
                if row.reference_id <= previous_start:
                    checked.ascending = False
                previous_start = row.reference_id
                group = _Group(first=row)
                group_rows = []
            reason = _check_group_row(group, row)
            if reason is None:
                group_rows.append(row)
        if reason is not None:
            checked.bad_count += 1
            if len(bad) < MAX_LISTED_ERRORS:
                bad.append(BadLine(line, reason))

    if group is not None:
        end_group()
    flush()
    checked.rows = rows
    return checked


class Fingerprinted(Protocol):
    """A RowSource that hashes each full read, a chunk of rows at a time, and can tell
    whether a later read differs."""

    def __call__(self) -> Iterable[Row]: ...

    def changed_rows(self, progress: Progress | None = None) -> list[Row] | None:
        """Read again: None if the same as the last full read, else the rows of the first
        chunk that differs (empty when this read ends before it)."""


def _confirm_unchanged(
    source: Fingerprinted, parser: RowParser, progress: Progress | None
) -> None:
    """The second read: the rows must be the ones checked, or ImportRejected."""
    changed = source.changed_rows(progress)
    if changed is None:
        return
    for line, fields in changed:
        try:
            parser.parse(line, fields)
        except RowError as error:
            raise ImportRejected(f"Nothing imported: line {line} changed: {error}") from error
    where = f"lines {changed[0][0]} to {changed[-1][0]}" if changed else "it ends earlier"
    raise ImportRejected(
        f"Nothing imported: the file changed while it was being imported ({where})."
    )


def _chunk_rows(size: int | None) -> int:
    return max(DIGEST_ROWS, (size or 0) // (MIN_ROW_BYTES * MAX_DIGESTS))


class FieldsFingerprinted:
    """Any RowSource, fingerprinted by hashing the line numbers and fields it yields."""

    def __init__(self, source: RowSource):
        self.source = source
        self.size = getattr(source, "size", None)
        if hasattr(source, "position"):
            self.position = source.position
        self._digests: array | None = None

    def __call__(self) -> Iterator[Row]:
        chunk_rows = _chunk_rows(self.size)
        digests = array("q")
        digest = 0
        for rows, (line, fields) in enumerate(self.source(), start=1):
            yield line, fields
            digest = hash((digest, line, *fields))
            if rows % chunk_rows == 0:
                digests.append(digest)
                digest = 0
        digests.append(digest)
        self._digests = digests

    def changed_rows(self, progress: Progress | None = None) -> list[Row] | None:
        digests, chunk_rows = self._digests, _chunk_rows(self.size)
        chunk: list[Row] = []
        digest = index = 0
        for line, fields in self.source():
            chunk.append((line, fields))
            digest = hash((digest, line, *fields))
            if len(chunk) == chunk_rows:
                if index >= len(digests) - 1 or digests[index] != digest:
                    return chunk
                index += 1
                digest = 0
                chunk = []
                if progress and index % 16 == 0:
                    rows = index * chunk_rows
                    where = self.position() if hasattr(self, "position") else rows
                    progress("confirming", rows, where, self.size)
        if index != len(digests) - 1 or digests[index] != digest:
            return chunk
        return None


class RegistryWriter:
    """Writes checked batches into the registry tables, inside the caller's transaction,
    on any database Django supports (PostgresWriter is the fast one for PostgreSQL).

    begin() before the first batch and end() after the last; write() takes a batch of whole
    beneficiaries (none twice) and counts into `summary`; record_starts() only notes
    first rows. The (reference id, line) of every beneficiary's first row goes into a
    temporary table, where repeated_starts() finds the ones that appear twice."""

    START_TABLE = "kyvs_import_start"
    _PEOPLE = ("reference_id", "name", "name_normalised", "mobile", "birth_year", "gender")
    # What is compared to decide whether a registered beneficiary needs an UPDATE.
    _REGISTERED = ("name", "name_normalised", "mobile", "birth_year", "gender")
    _DOSES = (
        "beneficiary_id",
        "vaccine_id",
        "dose_number",
        "kind",
        "date",
        "centre",
        "district",
        "state",
    )

    def __init__(self, connection=default_connection):
        self.connection = connection
        self.summary = ImportSummary()
        quote = connection.ops.quote_name
        self.people_table = quote(Beneficiary._meta.db_table)
        self.dose_table = quote(Dose._meta.db_table)
        self.people_columns = [quote(Beneficiary._meta.get_field(c).column) for c in self._PEOPLE]
        self.dose_columns = [quote(Dose._meta.get_field(c).column) for c in self._DOSES]

    def begin(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.START_TABLE} "
                "(reference_id varchar(14) NOT NULL, line integer NOT NULL)"
            )

    def end(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {self.START_TABLE}")

    def prepare(self, batch: Batch) -> None:
        """Work on a batch that needs no database, done in the checking thread while this
        one writes the batch before."""

    def write(self, batch: Batch) -> None:
        """Record the batch's first rows, create the new beneficiaries, update the
        registered ones that differ, and replace the doses of the registered ones."""
        self.record_batch_starts(batch)
        registered = self.registered([rows[0].reference_id for rows in batch])
        new: list[int] = []  # indexes in the batch
        changed: list[tuple[int, BeneficiaryRow]] = []
        pks: list[int] = []
        for index, rows in enumerate(batch):
            first = rows[0]
            found = registered.get(first.reference_id)
            if found is None:
                new.append(index)
                pks.append(0)
                continue
            pk, values = found
            pks.append(pk)
            if values != first.registered():
                changed.append((pk, first))
        for index, pk in zip(new, self.insert_people(batch, new), strict=True):
            pks[index] = pk
        self.update_people(changed)
        self.delete_doses([pk for pk, _ in registered.values()])
        self.summary.doses += self.insert_doses(batch, pks)
        self.summary.created += len(new)
        self.summary.updated += len(registered)

    def record_batch_starts(self, batch: Batch) -> None:
        self.record_starts([(rows[0].reference_id, rows[0].line) for rows in batch])

    def record_starts(self, starts: list[tuple[str, int]]) -> None:
        self._insert_many(self.START_TABLE, ["reference_id", "line"], starts)

    def repeated_starts(self, limit: int) -> tuple[int, list[BadLine]]:
        """How many beneficiaries' rows start again after other rows, and the first `limit`
        of those lines."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) - COUNT(DISTINCT reference_id) "  # noqa: S608
                f"FROM {self.START_TABLE}"
            )
            (count,) = cursor.fetchone()
            if not count:
                return 0, []
            # Only a constant table name goes into the text; the limit is a parameter.
            cursor.execute(
                "SELECT line, reference_id FROM ("  # noqa: S608
                "SELECT line, reference_id, ROW_NUMBER() OVER "
                "(PARTITION BY reference_id ORDER BY line) AS nth "
                f"FROM {self.START_TABLE}) AS starts WHERE nth > 1 ORDER BY line LIMIT %s",
                [limit],
            )
            return count, [BadLine(line, _repeated_reason(ref)) for line, ref in cursor]

    def registered(self, reference_ids: list[str]) -> dict[str, tuple[int, tuple]]:
        """{reference id: (pk, values in _REGISTERED's order)} of those in the registry."""
        return {
            reference_id: (pk, values)
            for reference_id, pk, *values in Beneficiary.objects.filter(
                reference_id__in=reference_ids
            ).values_list("reference_id", "pk", *self._REGISTERED)
        }

    def insert_people(self, batch: Batch, new: list[int]) -> list[int]:
        """Create the beneficiaries at indexes `new` of the batch; their pks, in order."""
        if not new:
            return []
        people = [batch[index][0] for index in new]
        self._insert_many(self.people_table, self.people_columns, [p[1:7] for p in people])
        pks = dict(
            Beneficiary.objects.filter(
                reference_id__in=[p.reference_id for p in people]
            ).values_list("reference_id", "pk")
        )
        return [pks[p.reference_id] for p in people]

    def update_people(self, changed: list[tuple[int, BeneficiaryRow]]) -> None:
        # An UPDATE per changed row would be slow; bulk_update's CASE grows with the batch,
        # so it gets smaller slices.
        Beneficiary.objects.bulk_update(
            [
                Beneficiary(
                    pk=pk,
                    name=row.name,
                    name_normalised=row.name_normalised,
                    mobile=row.mobile,
                    birth_year=row.birth_year,
                    gender=row.gender,
                )
                for pk, row in changed
            ],
            list(self._REGISTERED),
            batch_size=500,
        )

    def delete_doses(self, beneficiary_pks: list[int]) -> None:
        if beneficiary_pks:
            Dose.objects.filter(beneficiary_id__in=beneficiary_pks).delete()

    def insert_doses(self, batch: Batch, pks: list[int]) -> int:
        """Create the batch's doses, its beneficiaries' pks given in order; how many."""
        doses = [
            (pk, *row.dose)
            for pk, rows in zip(pks, batch, strict=True)
            for row in rows
            if row.dose is not None
        ]
        self._insert_many(self.dose_table, self.dose_columns, doses)
        return len(doses)

    def _insert_many(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        """A plain INSERT of already-checked values, given to the driver as they are (the
        ORM's bulk_create would build and compile a model instance per row)."""
        if not rows:
            return
        # Only quoted names from the model's metadata go into the text; values are
        # parameters.
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            table, ", ".join(columns), ", ".join(["%s"] * len(columns))
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)


class PostgresWriter(RegistryWriter):
    """The RegistryWriter for PostgreSQL: rows go in by COPY, new beneficiaries take their
    ids from the table's sequence beforehand (so their doses need no second look-up), and a
    batch whose reference ids are all above any in the registry is not looked up at all (a
    first load, or an export sorted by reference id adding new people).

    For its transaction it locks the beneficiary and dose tables against other writers
    (SHARE ROW EXCLUSIVE: reads, verifications and the foreign keys to beneficiaries go on;
    another import or an edit waits), which is what makes "not in the registry" hold from
    the look-up to the COPY. The dose table's foreign keys, deferred to the commit by
    default, are checked at each statement instead, as the batches go, rather than all at
    the end, in one long step the checking thread cannot overlap."""

    def begin(self) -> None:
        super().begin()
        introspection = self.connection.introspection
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {self.people_table}, {self.dose_table} IN SHARE ROW EXCLUSIVE MODE"
            )
            constraints = introspection.get_constraints(cursor, Dose._meta.db_table)
            self._foreign_keys = ", ".join(
                self.connection.ops.quote_name(name)
                for name, details in sorted(constraints.items())
                if details["foreign_key"]
            )
            if self._foreign_keys:
                cursor.execute(f"SET CONSTRAINTS {self._foreign_keys} IMMEDIATE")
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", [Beneficiary._meta.db_table, "id"]
            )
            (self._sequence,) = cursor.fetchone()
            cursor.execute(
                f"SELECT MAX({self.people_columns[0]}) FROM {self.people_table}"  # noqa: S608
            )
            (highest,) = cursor.fetchone()
        # Reference ids are 14 digits, so comparing them as text compares them as numbers.
        self._highest = highest or ""

    def end(self) -> None:
        if self._foreign_keys:
            with self.connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {self._foreign_keys} DEFERRED")
        super().end()

    def prepare(self, batch: Batch) -> None:
        """The batch as the lines of CSV that COPY takes: the first rows' (reference id,
        line), each beneficiary's columns and each one's doses, the last two without the
        beneficiary's id, which write() puts in front."""
        starts, people, doses = [], [], []
        for rows in batch:
            first = rows[0]
            starts.append(f"{first.reference_id},{first.line}\n")
            people.append(
                f"{first.reference_id},{_csv_text(first.name)},{first.name_normalised},"
                f"{first.mobile},{first.birth_year},{first.gender}\n"
            )
            doses.append(
                [
                    f"{d.vaccine_id},{d.number},{d.kind},{d.date},{_csv_text(d.centre)},"
                    f"{_csv_text(d.district)},{_csv_text(d.state)}\n"
                    for d in (row.dose for row in rows)
                    if d is not None
                ]
            )
        batch.prepared = ("".join(starts), people, doses)

    def record_batch_starts(self, batch: Batch) -> None:
        self._copy_text(self.START_TABLE, ["reference_id", "line"], batch.prepared[0])

    def record_starts(self, starts: list[tuple[str, int]]) -> None:
        self._copy(self.START_TABLE, ["reference_id", "line"], starts)

    def registered(self, reference_ids: list[str]) -> dict[str, tuple[int, tuple]]:
        lowest, highest = min(reference_ids), max(reference_ids)
        above_all = lowest > self._highest
        self._highest = max(self._highest, highest)
        if above_all:
            return {}
        return super().registered(reference_ids)

    def insert_people(self, batch: Batch, new: list[int]) -> list[int]:
        if not new:
            return []
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, len(new)]
            )
            pks = [pk for (pk,) in cursor.fetchall()]
        people = batch.prepared[1]
        text = "".join([f"{pk},{people[index]}" for pk, index in zip(pks, new, strict=True)])
        self._copy_text(self.people_table, ["id", *self.people_columns], text)
        return pks

    def update_people(self, changed: list[tuple[int, BeneficiaryRow]]) -> None:
        if not changed:
            return
        columns = list(zip(*((pk, *row.registered()) for pk, row in changed), strict=True))
        quote = self.connection.ops.quote_name
        names = [quote(Beneficiary._meta.get_field(c).column) for c in self._REGISTERED]
        assignments = ", ".join(f"{name} = changed.{name}" for name in names)
        with self.connection.cursor() as cursor:
            cursor.execute(
                # Only quoted names from the model's metadata go into the text.
                f"UPDATE {self.people_table} AS registered SET {assignments} "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
                "%s::smallint[], %s::text[]) "
                f"AS changed(id, {', '.join(names)}) WHERE registered.id = changed.id",
                [list(values) for values in columns],
            )

    def delete_doses(self, beneficiary_pks: list[int]) -> None:
        if beneficiary_pks:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {self.dose_table} "  # noqa: S608
                    f"WHERE {self.dose_columns[0]} = ANY(%s::bigint[])",
                    [beneficiary_pks],
                )

    def insert_doses(self, batch: Batch, pks: list[int]) -> int:
        lines = [
            f"{pk},{dose}"
            for pk, doses in zip(pks, batch.prepared[2], strict=True)
            for dose in doses
        ]
        self._copy_text(self.dose_table, self.dose_columns, "".join(lines))
        return len(lines)

    def _copy(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        self._copy_text(table, columns, text.getvalue())

    def _copy_text(self, table: str, columns: Sequence[str], text: str) -> None:
        """COPY CSV `text` into `table`, sent in one write: few round trips, and few
        hand-overs of the interpreter to and from the checking thread."""
        if not text:
            return
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(text)


_CSV_SPECIAL = re.compile(r'[,"\r\n]')


def _csv_text(value: str) -> str:
    """`value` as a CSV field: quoted when it holds a comma, a quote or a line break."""
    if _CSV_SPECIAL.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


def writer_for(connection=default_connection) -> RegistryWriter:
    if connection.vendor == "postgresql":
        return PostgresWriter(connection)
    return RegistryWriter(connection)


class _Stopped(Exception):
    """The writer failed; the checking thread is to stop."""


_END = object()


def _check_and_write(
    source: RowSource, parser: RowParser, writer: RegistryWriter, progress: Progress | None
) -> _Checked:
    """The first read, checked in a worker thread and written in this one (which holds the
    transaction), so that checking overlaps with the database's writing."""
    handoff: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
    stop = threading.Event()
    total = getattr(source, "size", None)

    def hand_over(item: _Handover) -> None:
        if stop.is_set():
            raise _Stopped
        if item.batch is not None:
            writer.prepare(item.batch)
        handoff.put(item)

    def check() -> _Checked:
        try:
            return _check(source, parser, hand_over)
        finally:
            handoff.put(_END)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-check") as pool:
        checking = pool.submit(check)
        try:
            while (item := handoff.get()) is not _END:
                if item.batch is not None:
                    writer.write(item.batch)
                else:
                    writer.record_starts(item.starts)
                if progress:
                    progress("importing", item.rows, item.position, total)
        except BaseException:
            stop.set()
            while handoff.get() is not _END:  # let the checking thread reach its end
                pass
            raise
        return checking.result()


@contextmanager
def _tuned_for_two_threads() -> Iterator[None]:
    """The interpreter tuned for the import's two threads, and put back as it was after.

    The cyclic garbage collector is off: the import makes no reference cycles, and the
    collector kept scanning the batches in flight (measured for 1,000,000 rows: 19.3 s of
    this process's CPU with it, 13.7 s without). The switch interval is short, so that
    when the writer's call to the database returns, the checking thread hands the
    interpreter back within 0.5 ms rather than Python's default 5 ms while the database
    waits for the next statement (measured: a round trip made beside a busy thread took
    0.4-0.8 ms with 0.5 ms, 0.8-1.9 ms with 5 ms; an import waits on about 1,300 of them
    per million rows)."""
    collecting = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()


def import_rows(source: RowSource, progress: Progress | None = None) -> ImportSummary:
    """Check every row of `source` and write them all or, on any bad row, nothing.

    `source` is called twice and must yield the same rows each time. Raises ImportRejected
    when a row, the file, or a change to it between the reads is bad.
    """
    started = time.monotonic()
    vaccines = dict(Vaccine.objects.values_list("name", "pk"))
    parser = RowParser(vaccines, timezone.localdate())
    with transaction.atomic(), _tuned_for_two_threads():
        writer = writer_for(default_connection)
        writer.begin()
        source = source if hasattr(source, "changed_rows") else FieldsFingerprinted(source)
        checked = _check_and_write(source, parser, writer, progress)
        bad, bad_count = checked.bad, checked.bad_count
        if not checked.ascending:
            repeated_count, repeated = writer.repeated_starts(MAX_LISTED_ERRORS)
            bad = sorted(bad + repeated, key=lambda b: b.line)[:MAX_LISTED_ERRORS]
            bad_count += repeated_count
        if bad_count:
            raise ImportRejected(
                f"Nothing imported: {bad_count} bad line{'s' if bad_count != 1 else ''}.",
                bad,
                more=bad_count - len(bad),
            )
        _confirm_unchanged(source, parser, progress)
        writer.end()
    summary = writer.summary
    summary.seconds = time.monotonic() - started
    return summary


class CsvFile:
    """The data rows of a CSV file in UTF-8 (with or without a byte-order mark): a
    Fingerprinted RowSource that reads the file as a stream each time it is called. The
    header must be exactly HEADER. `size` is the file's size in bytes; position() how many
    bytes the current read has taken in (ahead of the rows by at most a buffer).

    A read hashes the file's lines as they are, a chunk of rows at a time (each chunk
    ending where a row does), so changed_rows() compares by reading lines, not parsing
    CSV, and parses only the chunk that differs."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._stream = None
        self._digests: array | None = None
        self._ends: array | None = None  # the last line of each chunk

    def position(self) -> int:
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None or buffer.closed:
            return self.size
        return buffer.tell()

    def _open(self):
        return open(self.path, encoding="utf-8-sig", newline="")

    def __call__(self) -> Iterator[Row]:
        chunk_rows = _chunk_rows(self.size)
        digests, ends = array("q"), array("q")
        digest = [0]

        def hashed(stream: Iterable[str]) -> Iterator[str]:
            for text in stream:
                digest[0] = hash((digest[0], text))
                yield text

        with self._open() as stream:
            self._stream = stream
            reader = csv.reader(hashed(stream))
            rows = 0
            try:
                header = next(reader, None)
                if header is None:
                    raise ImportRejected("The file is empty; expected a header row.")
                if tuple(column.strip() for column in header) != HEADER:
                    raise ImportRejected(
                        "The first line must be the header "
                        f"{','.join(HEADER)}\n  found: {','.join(header)}"
                    )
                for fields in reader:
                    if fields:  # a blank line is not a row
                        yield reader.line_num, fields
                        rows += 1
                        if rows % chunk_rows == 0:
                            # csv.reader reads no further than the row it gives.
                            digests.append(digest[0])
                            ends.append(reader.line_num)
                            digest[0] = 0
            except UnicodeDecodeError as error:
                raise ImportRejected(
                    f"The file is not UTF-8 text (after line {reader.line_num})."
                ) from error
            except csv.Error as error:
                raise ImportRejected(f"line {reader.line_num}: {error}") from error
            finally:
                self._stream = None
        digests.append(digest[0])
        ends.append(reader.line_num)
        self._digests, self._ends = digests, ends

    def changed_rows(self, progress: Progress | None = None) -> list[Row] | None:
        digests, ends = self._digests, self._ends
        chunk: list[str] = []
        digest = index = number = 0
        first = 1
        try:
            with self._open() as stream:
                self._stream = stream
                for number, text in enumerate(stream, start=1):  # noqa: B007
                    chunk.append(text)
                    digest = hash((digest, text))
                    if index < len(ends) - 1 and number == ends[index]:
                        if digests[index] != digest:
                            return self._rows(first, chunk)
                        if progress and index % 16 == 0:
                            progress("confirming", number, self.position(), self.size)
                        index += 1
                        digest = 0
                        first, chunk = number + 1, []
        except UnicodeDecodeError:
            return self._rows(first, chunk)
        finally:
            self._stream = None
        if index != len(ends) - 1 or digests[index] != digest or number != ends[index]:
            return self._rows(first, chunk)
        if progress:
            progress("confirming", number, self.size, self.size)
        return None

    @staticmethod
    def _rows(first: int, lines: list[str]) -> list[Row]:
        """The rows of `lines`, which begin at line `first` where a row begins."""
        reader = csv.reader(lines)
        rows = []
        with suppress(csv.Error):
            for fields in reader:
                if fields and (first > 1 or reader.line_num > 1):  # not the header
                    rows.append((first + reader.line_num - 1, fields))
        return rows


def csv_source(path: Path) -> CsvFile:
    return CsvFile(path)


def import_csv(path: Path, progress: Progress | None = None) -> ImportSummary:
    return import_rows(csv_source(path), progress)
