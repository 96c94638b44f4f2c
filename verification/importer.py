"""Loading a registry export (CSV, one row per dose) into beneficiaries and doses.

The file is read twice and never held in memory: the first pass checks every row and
collects the bad ones; only if there are none does the second pass write, in batches,
inside one transaction, so a failure leaves the registry as it was.

What grows with the file is the reference ids of beneficiaries already seen (8 bytes each
in a file sorted by reference id, see SeenIds), used to insist that a beneficiary's rows
are consecutive, as a registry export lists them. That rule is what lets both passes look
at one beneficiary at a time.

Importing is idempotent on the reference id: a beneficiary already in the registry gets
the file's name, mobile, birth year and gender, and the file's doses replace theirs.
"""

import csv
import re
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.db import connection, transaction
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
BATCH_ROWS = 2000
MAX_LISTED_ERRORS = 100
MIN_BIRTH_YEAR = 1900
MAX_DOSE_NUMBER = 20

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEAR = re.compile(r"[0-9]{4}")
_SMALL_NUMBER = re.compile(r"[0-9]{1,2}")
_MAX_LENGTH = {
    "name": Beneficiary._meta.get_field("name").max_length,
    "centre": Dose._meta.get_field("centre").max_length,
    "district": Dose._meta.get_field("district").max_length,
    "state": Dose._meta.get_field("state").max_length,
}

# A source of rows: called once per pass, it yields (line number, fields) for each data
# row. The header is the source's business (see csv_source).
Row = tuple[int, Sequence[str]]
RowSource = Callable[[], Iterable[Row]]


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


@dataclass(frozen=True, slots=True)
class DoseRow:
    vaccine_id: int
    number: int
    kind: str
    date: date
    centre: str
    district: str
    state: str


@dataclass(frozen=True, slots=True)
class BeneficiaryRow:
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


class RowParser:
    """Checks one row on its own: parse() gives a BeneficiaryRow or raises RowError naming
    everything wrong with the row. Made once per pass, as it runs for every row."""

    def __init__(self, vaccines: dict[str, int], today: date):
        self.vaccines = vaccines
        self.today = today
        # A beneficiary's rows repeat the same person, and normalising a name is the
        # costliest step: the last few people parsed are remembered.
        self._person = lru_cache(maxsize=4)(self._parse_person)

    def parse(self, line: int, fields: Sequence[str]) -> BeneficiaryRow:
        if len(fields) != len(HEADER):
            raise RowError(f"expected {len(HEADER)} columns, found {len(fields)}")
        stripped = [f.strip() for f in fields]
        reference_id, name, mobile, year, gender, *dose_fields = stripped
        (reference_id, name_normalised, mobile, birth_year), person_problems = self._person(
            reference_id, name, mobile, year, gender
        )
        problems = list(person_problems)

        dose = None
        if any(dose_fields):
            dose = self._parse_dose(dose_fields, birth_year, problems)

        if problems:
            raise RowError("; ".join(problems))
        return BeneficiaryRow(
            line, reference_id, name, name_normalised, mobile, birth_year, gender, dose
        )

    def _parse_person(
        self, reference_id: str, name: str, mobile: str, year: str, gender: str
    ) -> tuple[tuple[str, str, str, int], tuple[str, ...]]:
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
        return (reference_id, name_normalised, mobile, birth_year), tuple(problems)

    def _parse_dose(
        self, fields: list[str], birth_year: int, problems: list[str]
    ) -> DoseRow | None:
        missing = [column for column, value in zip(DOSE_COLUMNS, fields, strict=True) if not value]
        if missing:
            problems.append(f"dose columns left empty: {', '.join(missing)}")
            return None
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

        if problems or vaccine_id is None or when is None:
            return None
        return DoseRow(vaccine_id, number, kind, when, centre, district, state)


class SeenIds:
    """A set of reference ids that stays small for an export sorted by reference id: ids
    that arrive in ascending order are kept as 8-byte integers in a sorted array, only the
    others in a set."""

    def __init__(self):
        self._ascending = array("q")
        self._others: set[int] = set()

    def add(self, reference_id: str) -> None:
        number = int(reference_id)
        if not self._ascending or number > self._ascending[-1]:
            self._ascending.append(number)
        else:
            self._others.add(number)

    def __contains__(self, reference_id: str) -> bool:
        number = int(reference_id)
        at = bisect_left(self._ascending, number)
        if at < len(self._ascending) and self._ascending[at] == number:
            return True
        return number in self._others


@dataclass
class _Group:
    """The consecutive rows of one beneficiary, as far as checking them needs."""

    first: BeneficiaryRow
    doses: dict[tuple[str, int], int] = field(default_factory=dict)
    undosed_line: int | None = None


def _check_group_row(group: _Group, row: BeneficiaryRow) -> str | None:
    first = group.first
    if row is not first:
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


def validate(source: RowSource, parser: RowParser) -> None:
    """The first pass: every row checked, ImportRejected listing the bad ones."""
    bad: list[BadLine] = []
    bad_count = 0
    finished = SeenIds()
    group: _Group | None = None

    for line, fields in source():
        try:
            row = parser.parse(line, fields)
        except RowError as error:
            reason: str | None = str(error)
        else:
            reason = None
            if group is None or group.first.reference_id != row.reference_id:
                if group is not None:
                    finished.add(group.first.reference_id)
                if row.reference_id in finished:
                    reason = (
                        f"beneficiary {row.reference_id} appears earlier in the file; "
                        "a beneficiary's rows must be consecutive"
                    )
                group = _Group(first=row)
            if reason is None:
                reason = _check_group_row(group, row)
        if reason is not None:
            bad_count += 1
            if len(bad) < MAX_LISTED_ERRORS:
                bad.append(BadLine(line, reason))

    if bad_count:
        raise ImportRejected(
            f"Nothing imported: {bad_count} bad line{'s' if bad_count != 1 else ''}.",
            bad,
            more=bad_count - len(bad),
        )


def _batches(source: RowSource, parser: RowParser) -> Iterator[list[list[BeneficiaryRow]]]:
    """Lists of whole beneficiaries (each a list of its rows), about BATCH_ROWS rows each."""
    batch: list[list[BeneficiaryRow]] = []
    rows_in_batch = 0
    current: list[BeneficiaryRow] = []
    for line, fields in source():
        try:
            row = parser.parse(line, fields)
        except RowError as error:  # the file changed after the first pass
            raise ImportRejected(f"Nothing imported: line {line} changed: {error}") from error
        if current and current[0].reference_id != row.reference_id:
            batch.append(current)
            current = []
            if rows_in_batch >= BATCH_ROWS:
                yield batch
                batch, rows_in_batch = [], 0
        current.append(row)
        rows_in_batch += 1
    if current:
        batch.append(current)
    if batch:
        yield batch


_PERSON_COLUMNS = ("reference_id", "name", "name_normalised", "mobile", "birth_year", "gender")
_DOSE_COLUMNS = (
    "beneficiary_id",
    "vaccine_id",
    "dose_number",
    "kind",
    "date",
    "centre",
    "district",
    "state",
)


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain multi-row INSERT of already-checked values. The ORM's bulk_create builds a
    model instance and compiles every value of every row, which was most of an import's
    time; executemany hands the rows to the driver as they are."""
    if not rows:
        return
    quote = connection.ops.quote_name
    # Only quoted names from the model's metadata go into the text; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(model._meta.get_field(c).column) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _write_batch(batch: list[list[BeneficiaryRow]], summary: ImportSummary) -> None:
    existing = {
        reference_id: (pk, (name, mobile, birth_year, gender))
        for reference_id, pk, name, mobile, birth_year, gender in Beneficiary.objects.filter(
            reference_id__in=[rows[0].reference_id for rows in batch]
        ).values_list("reference_id", "pk", "name", "mobile", "birth_year", "gender")
    }
    to_create: list[Beneficiary] = []
    to_update: list[Beneficiary] = []
    pks: dict[str, int] = {}
    for rows in batch:
        first = rows[0]
        pk, registered = existing.get(first.reference_id, (None, None))
        if pk is not None:
            pks[first.reference_id] = pk
            if registered == first.identity():
                continue
        person = Beneficiary(
            pk=pk,
            reference_id=first.reference_id,
            name=first.name,
            name_normalised=first.name_normalised,
            mobile=first.mobile,
            birth_year=first.birth_year,
            gender=first.gender,
        )
        (to_update if pk else to_create).append(person)

    _insert(
        Beneficiary,
        _PERSON_COLUMNS,
        [
            (p.reference_id, p.name, p.name_normalised, p.mobile, p.birth_year, p.gender)
            for p in to_create
        ],
    )
    if to_create:
        pks.update(
            Beneficiary.objects.filter(
                reference_id__in=[p.reference_id for p in to_create]
            ).values_list("reference_id", "pk")
        )
    # An UPDATE per changed row would be slow; bulk_update's CASE grows with the batch, so
    # it gets smaller slices.
    Beneficiary.objects.bulk_update(
        to_update, ["name", "name_normalised", "mobile", "birth_year", "gender"], batch_size=500
    )
    # The file's doses replace the registered ones.
    existing_pks = [pk for pk, _ in existing.values()]
    if existing_pks:
        Dose.objects.filter(beneficiary_id__in=existing_pks).delete()

    doses = [
        (
            pks[row.reference_id],
            row.dose.vaccine_id,
            row.dose.number,
            row.dose.kind,
            row.dose.date,
            row.dose.centre,
            row.dose.district,
            row.dose.state,
        )
        for rows in batch
        for row in rows
        if row.dose is not None
    ]
    _insert(Dose, _DOSE_COLUMNS, doses)
    summary.created += len(to_create)
    summary.updated += len(existing_pks)
    summary.doses += len(doses)


def import_rows(source: RowSource) -> ImportSummary:
    """Check every row of `source`, then write them all or, on any bad row, nothing.

    `source` is called once per pass and must yield the same rows each time.
    Raises ImportRejected when a row (or the file) is bad.
    """
    started = time.monotonic()
    vaccines = dict(Vaccine.objects.values_list("name", "pk"))
    parser = RowParser(vaccines, timezone.localdate())
    validate(source, parser)
    summary = ImportSummary()
    with transaction.atomic():
        for batch in _batches(source, parser):
            _write_batch(batch, summary)
    summary.seconds = time.monotonic() - started
    return summary


def csv_source(path: Path) -> RowSource:
    """The data rows of a CSV file in UTF-8 (with or without a byte-order mark), read as a
    stream each time the source is called. The header must be exactly HEADER."""

    def rows() -> Iterator[Row]:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
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
            except UnicodeDecodeError as error:
                raise ImportRejected(
                    f"The file is not UTF-8 text (after line {reader.line_num})."
                ) from error
            except csv.Error as error:
                raise ImportRejected(f"line {reader.line_num}: {error}") from error

    return rows


def import_csv(path: Path) -> ImportSummary:
    return import_rows(csv_source(path))
