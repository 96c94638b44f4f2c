import contextlib
import gc
import io
import sys
import tracemalloc
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from kyvs.mobile import normalise_mobile
from verification import importer
from verification.models import Beneficiary, Dose, VaccinationStatus
from verification.sample_registry import write_big_registry

pytestmark = pytest.mark.django_db

HEADER = ",".join(importer.HEADER)
ASHA_1 = "12345678900001,Asha Patel,9876543210,1990,F,Covishield,1,primary,2021-05-01,UHC Navrangpura,Ahmedabad,Gujarat"  # noqa: E501
ASHA_2 = "12345678900001,Asha Patel,9876543210,1990,F,Covishield,2,primary,2021-07-20,UHC Navrangpura,Ahmedabad,Gujarat"  # noqa: E501
ASHA_B = "12345678900001,Asha Patel,9876543210,1990,F,Covaxin,1,precaution,2022-04-15,PHC Bhayli,Vadodara,Gujarat"  # noqa: E501
RAVI = "12345678900002,Ravi Kumar,+91 98250-11111,1975,M,,,,,,,"
GOOD_ROW = "12345678900003,Meena Shah,9825022222,1982,F,Janssen,1,primary,2021-09-01,KEM Hospital,Mumbai,Maharashtra"  # noqa: E501


def write_csv(tmp_path, *rows: str, header: str = HEADER, encoding="utf-8", name="registry.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def run_import(path) -> str:
    out = io.StringIO()
    call_command("import_registry", str(path), stdout=out)
    return out.getvalue()


def rejection(path) -> str:
    with pytest.raises(CommandError) as raised:
        run_import(path)
    return str(raised.value)


def test_it_imports_beneficiaries_with_and_without_doses(tmp_path):
    output = run_import(write_csv(tmp_path, ASHA_1, ASHA_2, ASHA_B, RAVI))

    assert "2 created, 0 updated" in output
    assert "3 doses" in output
    asha = Beneficiary.objects.get(reference_id="12345678900001")
    assert (asha.name, asha.mobile, asha.birth_year, asha.gender) == (
        "Asha Patel",
        "9876543210",
        1990,
        "F",
    )
    assert asha.vaccination_status() == VaccinationStatus.FULLY_VACCINATED
    booster = asha.doses.get(kind=Dose.Kind.PRECAUTION)
    assert (booster.vaccine.name, booster.dose_number, booster.date) == (
        "Covaxin",
        1,
        date(2022, 4, 15),
    )
    assert (booster.centre, booster.district, booster.state) == (
        "PHC Bhayli",
        "Vadodara",
        "Gujarat",
    )
    ravi = Beneficiary.objects.get(reference_id="12345678900002")
    assert ravi.mobile == "9825011111"
    assert ravi.doses.count() == 0
    assert ravi.vaccination_status() == VaccinationStatus.NOT_VACCINATED


def test_imported_people_can_be_found_by_name_and_mobile(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, RAVI))

    assert (
        Beneficiary.objects.matching("  ASHA  patel ", normalise_mobile("098765 43210")).count()
        == 1
    )
    assert Beneficiary.objects.matching("Ravi Kumar", "9825011111").count() == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_it_reads_gujarati_and_devanagari_names_with_or_without_a_bom(tmp_path, encoding):
    path = write_csv(
        tmp_path,
        "12345678900011,ભાવના પટેલ,9825033333,1984,F,,,,,,,",
        "12345678900012,सुनील वर्मा,9825044444,1975,M,,,,,,,",
        encoding=encoding,
    )

    run_import(path)

    assert Beneficiary.objects.get(reference_id="12345678900011").name == "ભાવના પટેલ"
    assert Beneficiary.objects.matching("सुनील वर्मा", "9825044444").exists()


def test_names_and_places_with_commas_quotes_and_line_breaks_are_imported_as_they_are(tmp_path):
    row = (
        '12345678900001,"Patel, Asha ""Ashu""",9876543210,1990,F,Covishield,1,primary,'
        '2021-05-01,"UHC Navrangpura,\nWard 4","Ahmedabad ""City""","Gujarat, India"'
    )

    run_import(write_csv(tmp_path, row))

    asha = Beneficiary.objects.get()
    assert asha.name == 'Patel, Asha "Ashu"'
    dose = asha.doses.get()
    assert (dose.centre, dose.district, dose.state) == (
        "UHC Navrangpura,\nWard 4",
        'Ahmedabad "City"',
        "Gujarat, India",
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1234567890001,Asha Patel,9876543210,1990,F,,,,,,,", "is not 14 digits"),
        ("1234567890000A,Asha Patel,9876543210,1990,F,,,,,,,", "is not 14 digits"),
        ("12345678900001,  ,9876543210,1990,F,,,,,,,", "name is empty"),
        ("12345678900001,Asha Patel,5876543210,1990,F,,,,,,,", "is not a 10-digit Indian mobile"),
        ("12345678900001,Asha Patel,98765,1990,F,,,,,,,", "is not a 10-digit Indian mobile"),
        ("12345678900001,Asha Patel,9876543210,1850,F,,,,,,,", "birth_year '1850' is not a year"),
        ("12345678900001,Asha Patel,9876543210,2999,F,,,,,,,", "birth_year '2999' is not a year"),
        ("12345678900001,Asha Patel,9876543210,19x0,F,,,,,,,", "birth_year '19x0' is not a year"),
        ("12345678900001,Asha Patel,9876543210,1990,X,,,,,,,", "gender 'X' is not M, F or O"),
        (ASHA_1.replace("Covishield", "Sputnik X"), "unknown vaccine 'Sputnik X'"),
        (ASHA_1.replace(",1,primary", ",0,primary"), "dose_number '0' is not a number"),
        (ASHA_1.replace(",1,primary", ",one,primary"), "dose_number 'one' is not a number"),
        (ASHA_1.replace("primary", "booster"), "dose_kind 'booster' is not primary or precaution"),
        (ASHA_1.replace("2021-05-01", "01/05/2021"), "dose_date '01/05/2021' is not a date"),
        (ASHA_1.replace("2021-05-01", "2021-02-30"), "dose_date '2021-02-30' is not a date"),
        (ASHA_1.replace("2021-05-01", "2099-01-01"), "is in the future"),
        (ASHA_1.replace("1990", "2022"), "is before the birth year"),
        (ASHA_1.replace("Ahmedabad", ""), "dose columns left empty: district"),
        ("12345678900001,Asha\x00Patel,9876543210,1990,F,,,,,,,", "name contains a NUL"),
        (ASHA_1.replace("Ahmedabad", "Ahmed\x00abad"), "district contains a NUL"),
        ("12345678900001,Asha Patel,9876543210,1990,F", "expected 12 columns, found 5"),
        (ASHA_1 + ",extra", "expected 12 columns, found 13"),
    ],
)
def test_it_names_the_line_and_reason_of_a_bad_row(tmp_path, row, reason):
    message = rejection(write_csv(tmp_path, GOOD_ROW, row))

    assert "Nothing imported: 1 bad line." in message
    assert "line 3: " in message
    assert reason in message.split("line 3: ", 1)[1]
    assert "line 2" not in message


@pytest.mark.parametrize(
    ("second_row", "reason"),
    [
        (ASHA_2.replace("Asha Patel", "Asha Shah"), "name differs from line 2"),
        (ASHA_2.replace("9876543210", "9876500000"), "mobile differs from line 2"),
        (ASHA_2.replace("1990,F", "1991,O"), "birth_year, gender differ from line 2"),
        (ASHA_1.replace("2021-05-01", "2021-06-01"), "primary dose 1 is also on line 2"),
        (
            "12345678900001,Asha Patel,9876543210,1990,F,,,,,,,",
            "a row without a dose is only for a beneficiary without doses",
        ),
    ],
)
def test_it_checks_that_a_beneficiarys_rows_agree(tmp_path, second_row, reason):
    message = rejection(write_csv(tmp_path, ASHA_1, second_row))

    assert "line 3: " in message
    assert reason in message


def test_the_same_dose_number_may_be_both_primary_and_precaution(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, ASHA_B))

    assert Dose.objects.count() == 2


def test_it_requires_a_beneficiarys_rows_to_be_consecutive(tmp_path):
    message = rejection(write_csv(tmp_path, ASHA_1, GOOD_ROW, ASHA_2))

    assert "line 4: beneficiary 12345678900001 appears earlier in the file" in message


def test_it_lists_each_bad_line_with_its_number(tmp_path):
    path = write_csv(
        tmp_path,
        GOOD_ROW,
        "12345678900001,Asha Patel,12345,1990,F,,,,,,,",
        RAVI,
        "12345678900004,Kiran Desai,9825000001,1988,Z,Covishield,1,primary,2021-13-01,a,b,c",
    )

    message = rejection(path)

    assert "Nothing imported: 2 bad lines." in message
    assert "line 3: mobile '12345' is not a 10-digit Indian mobile" in message
    line_5 = message.split("line 5: ", 1)[1]
    assert "gender 'Z'" in line_5
    assert "dose_date '2021-13-01'" in line_5
    assert "line 2:" not in message
    assert "line 4:" not in message


def test_it_imports_nothing_when_one_row_is_bad(tmp_path):
    rows = [f"{90000000000000 + n},Person {n},98250{n:05d},1980,M,,,,,,," for n in range(5000)]
    rows.append(ASHA_1.replace("primary", "booster"))

    rejection(write_csv(tmp_path, *rows))

    assert Beneficiary.objects.count() == 0
    assert Dose.objects.count() == 0


def test_a_failure_while_writing_leaves_nothing_half_written(tmp_path, monkeypatch):
    rows = [f"{90000000000000 + n},Person {n},98250{n:05d},1980,M,,,,,,," for n in range(50)]
    monkeypatch.setattr(importer, "BATCH_ROWS", 10)
    written = importer.RegistryWriter.write
    calls = []

    def fail_on_the_third_batch(writer, batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("database went away")
        written(writer, batch)

    monkeypatch.setattr(importer.RegistryWriter, "write", fail_on_the_third_batch)

    with pytest.raises(RuntimeError):
        run_import(write_csv(tmp_path, *rows))

    assert len(calls) == 3
    assert Beneficiary.objects.count() == 0


def test_a_file_that_changes_between_the_passes_imports_nothing():
    good = [(2, GOOD_ROW.split(",")), (3, RAVI.split(","))]
    changed = [(2, GOOD_ROW.split(",")), (3, RAVI.replace("M,", "X,").split(","))]
    passes = iter([good, changed])

    with pytest.raises(importer.ImportRejected, match="line 3 changed: gender 'X'"):
        importer.import_rows(lambda: next(passes))

    assert Beneficiary.objects.count() == 0


def test_a_row_that_changes_between_the_reads_and_stays_valid_imports_nothing():
    good = [(2, GOOD_ROW.split(",")), (3, RAVI.split(","))]
    renamed = [(2, GOOD_ROW.split(",")), (3, RAVI.replace("Ravi", "Ravindra").split(","))]
    passes = iter([good, renamed])

    with pytest.raises(importer.ImportRejected, match="the file changed while it was being"):
        importer.import_rows(lambda: next(passes))

    assert Beneficiary.objects.count() == 0


def test_a_file_that_grows_between_the_reads_imports_nothing():
    good = [(2, GOOD_ROW.split(",")), (3, RAVI.split(","))]
    grown = [*good, (4, ASHA_1.split(","))]
    passes = iter([good, grown])

    with pytest.raises(importer.ImportRejected, match=r"being imported \(lines 2 to 4\)"):
        importer.import_rows(lambda: next(passes))

    assert Beneficiary.objects.count() == 0


def test_a_change_far_into_a_long_file_is_found(monkeypatch):
    monkeypatch.setattr(importer, "DIGEST_ROWS", 4)
    rows = [
        (n + 2, f"{90000000000000 + n},Person {n},98250{n:05d},1980,M,,,,,,,".split(","))
        for n in range(40)
    ]
    changed = [*rows[:30], (32, rows[30][1][:4] + ["X"] + rows[30][1][5:]), *rows[31:]]
    passes = iter([rows, changed])

    with pytest.raises(importer.ImportRejected, match="line 32 changed: gender 'X'"):
        importer.import_rows(lambda: next(passes))

    assert Beneficiary.objects.count() == 0


def changing_the_file_after_the_first_read(monkeypatch, path, change):
    real_check_and_write = importer._check_and_write

    def check_and_write_then_change(*args):
        checked = real_check_and_write(*args)
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
        return checked

    monkeypatch.setattr(importer, "_check_and_write", check_and_write_then_change)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda text: text.replace(",M,", ",X,"), "line 4 changed: gender 'X' is not M, F or O"),
        (lambda text: text.replace("Ravi", "Ravindra"), "changed while it was being imported"),
        (lambda text: text + GOOD_ROW.replace("00003", "00009") + "\n", "being imported"),
        (lambda text: text.rsplit("\n", 2)[0] + "\n", "being imported (lines 4 to 4)"),
        (lambda text: text.rsplit("\n", 3)[0] + "\n", "being imported (it ends earlier)"),
    ],
)
def test_a_csv_file_that_changes_on_disk_while_it_is_imported_imports_nothing(
    tmp_path, monkeypatch, change, reason
):
    monkeypatch.setattr(importer, "DIGEST_ROWS", 2)
    path = write_csv(tmp_path, ASHA_1, ASHA_2, RAVI, GOOD_ROW)
    changing_the_file_after_the_first_read(monkeypatch, path, change)

    assert reason in rejection(path)
    assert Beneficiary.objects.count() == 0


def test_a_csv_file_read_again_unchanged_imports(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "DIGEST_ROWS", 2)
    path = write_csv(tmp_path, ASHA_1, ASHA_2, RAVI, GOOD_ROW)
    changing_the_file_after_the_first_read(monkeypatch, path, lambda text: text)

    assert "3 created" in run_import(path)


def person(n: int) -> str:
    return f"{90000000000000 + n},Person {n},98250{n:05d},1980,M,,,,,,,"


def test_a_beneficiary_repeated_in_a_later_batch_is_a_bad_line(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 10)
    rows = [person(n) for n in range(50)]
    rows.insert(40, person(3))

    message = rejection(write_csv(tmp_path, *rows))

    assert "Nothing imported: 1 bad line." in message
    assert "line 42: beneficiary 90000000000003 appears earlier in the file" in message
    assert Beneficiary.objects.count() == 0


def test_repeated_beneficiaries_and_other_bad_lines_are_listed_in_line_order(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_ROWS", 10)
    rows = [person(n) for n in range(60)]
    rows[5] = rows[5].replace(",M,", ",Z,")
    rows.insert(30, person(2))
    rows.insert(50, person(1))
    rows[55] = rows[55].replace("98250", "12345")

    message = rejection(write_csv(tmp_path, *rows))

    assert "Nothing imported: 4 bad lines." in message
    listed = [line.split(":")[0].strip() for line in message.splitlines()[1:]]
    assert listed == ["line 7", "line 32", "line 52", "line 57"]
    assert "line 32: beneficiary 90000000000002 appears earlier in the file" in message
    assert "line 52: beneficiary 90000000000001 appears earlier in the file" in message
    assert Beneficiary.objects.count() == 0


def test_the_cap_on_listed_bad_lines_counts_repeated_beneficiaries_too(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_LISTED_ERRORS", 3)
    rows = [person(n) for n in range(10)] + [person(n) for n in range(4)]
    rows[1] = rows[1].replace(",M,", ",Z,")

    message = rejection(write_csv(tmp_path, *rows))

    # Person 1's first row was bad, so line 13 is where person 1 starts.
    assert "Nothing imported: 4 bad lines." in message
    assert "line 3: gender 'Z'" in message
    assert "line 12: beneficiary 90000000000000 appears earlier" in message
    assert "line 13:" not in message
    assert "line 14: beneficiary 90000000000002 appears earlier" in message
    assert "line 15:" not in message
    assert "... and 1 more bad lines" in message


def test_it_caps_the_list_of_bad_lines_and_says_how_many_more(tmp_path):
    rows = [f"{90000000000000 + n},Person {n},12345,1980,M,,,,,,," for n in range(130)]

    message = rejection(write_csv(tmp_path, *rows))

    assert "Nothing imported: 130 bad lines." in message
    assert "line 101:" in message
    assert "line 102:" not in message
    assert "... and 30 more bad lines" in message


@pytest.mark.parametrize(
    "header",
    [
        HEADER.replace("dose_kind", "kind"),
        HEADER.replace("name,mobile", "mobile,name"),
        "",
    ],
)
def test_it_refuses_a_file_without_the_expected_header(tmp_path, header):
    message = rejection(write_csv(tmp_path, ASHA_1, header=header))

    assert "The first line must be the header" in message
    assert HEADER in message
    assert Beneficiary.objects.count() == 0


def test_it_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    assert "The file is empty" in rejection(path)


def test_it_refuses_a_file_that_is_not_utf8(tmp_path):
    path = write_csv(tmp_path, RAVI.replace("Ravi", "Rávi"), encoding="latin-1")

    assert "not UTF-8" in rejection(path)


def test_it_refuses_a_missing_file(tmp_path):
    assert "No such file" in rejection(tmp_path / "nowhere.csv")


def test_a_second_import_updates_instead_of_duplicating(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, ASHA_2, ASHA_B, RAVI))

    output = run_import(write_csv(tmp_path, ASHA_1, ASHA_2, ASHA_B, RAVI))

    assert "0 created, 2 updated" in output
    assert Beneficiary.objects.count() == 2
    assert Dose.objects.count() == 3


def test_a_second_import_takes_the_new_values_and_replaces_the_doses(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, ASHA_2, ASHA_B, RAVI))
    asha_pk = Beneficiary.objects.get(reference_id="12345678900001").pk
    renamed = ASHA_1.replace("Asha Patel,9876543210,1990", "Asha P. Mehta,9898989898,1991")

    ravi_dosed = RAVI.replace(",,,,,,,", ",Janssen,1,primary,2021-09-01,AIIMS,New Delhi,Delhi")

    run_import(write_csv(tmp_path, renamed, ravi_dosed, GOOD_ROW))

    asha = Beneficiary.objects.get(reference_id="12345678900001")
    assert asha.pk == asha_pk
    assert (asha.name, asha.mobile, asha.birth_year) == ("Asha P. Mehta", "9898989898", 1991)
    assert asha.name_normalised == "asha p mehta"
    assert [(d.vaccine.name, d.dose_number, d.kind) for d in asha.doses.all()] == [
        ("Covishield", 1, "primary")
    ]
    assert asha.vaccination_status() == VaccinationStatus.PARTIALLY_VACCINATED
    ravi = Beneficiary.objects.get(reference_id="12345678900002")
    assert [d.vaccine.name for d in ravi.doses.all()] == ["Janssen"]
    assert Beneficiary.objects.count() == 3
    assert Dose.objects.count() == 3


def test_beneficiaries_missing_from_a_later_file_are_kept(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, RAVI))

    run_import(write_csv(tmp_path, GOOD_ROW))

    assert Beneficiary.objects.count() == 3
    assert Dose.objects.filter(beneficiary__reference_id="12345678900001").count() == 1


def test_a_second_import_refreshes_a_stale_normalised_name(tmp_path):
    run_import(write_csv(tmp_path, ASHA_1, RAVI))
    Beneficiary.objects.filter(reference_id="12345678900001").update(name_normalised="stale")

    output = run_import(write_csv(tmp_path, ASHA_1, RAVI))

    assert "0 created, 2 updated" in output
    assert Beneficiary.objects.get(reference_id="12345678900001").name_normalised == "asha patel"


GUJARATI_DIGITS = str.maketrans("0123456789", "૦૧૨૩૪૫૬૭૮૯")
DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")


def test_a_beneficiarys_rows_with_the_id_in_ascii_and_in_gujarati_digits_are_one_person(
    tmp_path,
):
    in_gujarati = ASHA_2.replace("12345678900001", "12345678900001".translate(GUJARATI_DIGITS))
    in_gujarati = in_gujarati.replace("9876543210", "9876543210".translate(DEVANAGARI_DIGITS))

    output = run_import(write_csv(tmp_path, ASHA_1, in_gujarati, RAVI))

    assert "2 created, 0 updated" in output
    asha = Beneficiary.objects.get(reference_id="12345678900001")
    assert asha.mobile == "9876543210"
    assert sorted(asha.doses.values_list("dose_number", flat=True)) == [1, 2]


def test_a_dose_number_and_date_seen_in_ascii_are_read_again_in_other_scripts_digits(tmp_path):
    # The first row puts 2021-05-01 and 1 among the values the quick path has seen; the
    # second writes them in Devanagari digits, with an invisible mark and a space.
    meena = GOOD_ROW.replace("2021-09-01", "\u200e" + "2021-05-01".translate(DEVANAGARI_DIGITS))
    meena = meena.replace(",1,primary", ",0 1,primary".translate(DEVANAGARI_DIGITS))

    run_import(write_csv(tmp_path, ASHA_1, meena))

    dose = Dose.objects.get(beneficiary__reference_id="12345678900003")
    assert (dose.dose_number, dose.date) == (1, date(2021, 5, 1))


SCRIPTS = [str.maketrans("", ""), GUJARATI_DIGITS, DEVANAGARI_DIGITS]


def written(text: str, script: dict, mark: str) -> str:
    """`text` as a person might have typed or pasted it: in a script's digits, with an
    invisible mark or a space in front."""
    return mark + text.translate(script)


@settings(max_examples=300, deadline=None, database=None)
@given(
    number=st.one_of(st.integers(0, 25).map(str), st.integers(0, 25).map("{:02d}".format)),
    when=st.dates(date(1899, 1, 1), date(2100, 12, 31)).map(date.isoformat),
    script=st.sampled_from(SCRIPTS),
    mark=st.sampled_from(["", "\u200e", "\u200b", " "]),
    birth_year=st.integers(1900, 2020),
)
def test_the_quick_path_and_the_full_check_read_dose_numbers_and_dates_alike(
    number, when, script, mark, birth_year
):
    """RowParser takes a quick path for dose columns it has seen; whatever a dose number or
    date looks like, the row is accepted as kyvs.text.plain_digits reads it, or refused
    with a reason."""
    today = date(2026, 11, 30)
    parser = importer.RowParser({"Covishield": 1}, today)
    person = f"12345678900001,Asha Patel,9876543210,{birth_year},F,Covishield"
    place = "primary,{},UHC,Ahmedabad,Gujarat"
    # The same parser reads the ASCII row first, as an import does with earlier rows.
    rows = [(number, when), (written(number, script, mark), written(when, script, mark))]
    n, day = int(number), date.fromisoformat(when)
    good = 1 <= n <= importer.MAX_DOSE_NUMBER and birth_year <= day.year and day <= today

    for line, (number_text, date_text) in enumerate(rows, start=2):
        fields = f"{person},{number_text},{place.format(date_text)}".split(",")
        if good:
            dose = parser.parse(line, fields).dose
            assert (dose.number, dose.date) == (n, when)
        else:
            with pytest.raises(importer.RowError, match="dose_number|dose_date"):
                parser.parse(line, fields)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_it_shows_a_progress_bar_with_rows_per_second_and_time_left_on_a_terminal(tmp_path):
    out = Terminal()

    call_command("import_registry", str(write_csv(tmp_path, ASHA_1, ASHA_2, RAVI)), stdout=out)

    shown = out.getvalue()
    assert "Checking and writing: 100%" in shown
    assert "Confirming the file is unchanged: 100%" in shown
    assert "3 rows, " in shown
    assert "rows/s" in shown
    assert " left]" in shown
    assert "2 created, 0 updated" in shown


def test_it_shows_no_progress_bar_when_the_output_is_not_a_terminal(tmp_path):
    output = run_import(write_csv(tmp_path, ASHA_1, ASHA_2, RAVI))

    assert output.splitlines() == [
        line for line in output.splitlines() if line.startswith("Imported ")
    ]
    assert "rows/s" not in output


@pytest.mark.parametrize("rows", [(ASHA_1, RAVI), (ASHA_1, RAVI.replace(",M,", ",Z,"))])
def test_the_interpreter_is_put_back_as_it_was_after_an_import(tmp_path, rows):
    interval = sys.getswitchinterval()
    during = []
    real_begin = importer.RegistryWriter.begin

    def looking_begin(writer):
        during.append((gc.isenabled(), sys.getswitchinterval()))
        real_begin(writer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importer.RegistryWriter, "begin", looking_begin)
        with contextlib.suppress(importer.ImportRejected):
            importer.import_csv(write_csv(tmp_path, *rows))

    assert during[0] == (False, importer.SWITCH_INTERVAL)
    assert gc.isenabled()
    assert sys.getswitchinterval() == interval


class ReadRecorder:
    """A text file that remembers the most it handed out at once and how much in all."""

    def __init__(self, stream):
        self.stream = stream
        self.largest = 0
        self.total = 0

    def __iter__(self):
        return self

    def __next__(self):
        return self._count(next(self.stream))

    def read(self, size=-1):
        return self._count(self.stream.read(size))

    def readline(self, size=-1):
        return self._count(self.stream.readline(size))

    def _count(self, text):
        self.largest = max(self.largest, len(text))
        self.total += len(text)
        return text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stream.close()


def test_a_100k_row_file_is_imported_without_being_held_in_memory(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    beneficiaries, doses = write_big_registry(path, 100_000)
    size = path.stat().st_size
    readers, batches, validation_peak = [], [], []
    real_open, real_write = open, importer.RegistryWriter.write

    def recording_open(*args, **kwargs):
        readers.append(ReadRecorder(real_open(*args, **kwargs)))
        return readers[-1]

    def counting_write(writer, batch):
        batches.append(sum(len(rows) for rows in batch))
        real_write(writer, batch)

    monkeypatch.setattr(importer, "open", recording_open, raising=False)
    monkeypatch.setattr(importer.RegistryWriter, "write", counting_write)

    # Checking and writing run together, so the whole import is traced. What it holds is a
    # few batches, whatever the size of the file: with batches of 250 rows that is well under
    # a tenth of this one. (scripts/bench_import.py measures the peak RSS with the default
    # batch size, at 100,000 and 1,000,000 rows.)
    monkeypatch.setattr(importer, "BATCH_ROWS", 250)
    tracemalloc.start()
    try:
        summary = importer.import_csv(path)
        validation_peak.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()

    print(
        f"100k rows, {size / 1e6:.1f} MB: {summary.seconds:.1f} s, "
        f"first pass peak {validation_peak[0] / 1e6:.2f} MB traced"
    )
    assert Beneficiary.objects.count() == summary.created == beneficiaries > 50_000
    assert Dose.objects.count() == summary.doses == doses > 80_000
    # Both passes read the whole file, a line at a time...
    assert len(readers) == 2
    assert all(reader.total >= size // 2 for reader in readers)
    assert max(reader.largest for reader in readers) < 200
    # ...checking it keeps a small fraction of it in memory...
    assert validation_peak[0] < size / 10
    # ...and writing it holds one batch of whole beneficiaries at a time.
    assert sum(batches) == 100_000
    assert max(batches) < importer.BATCH_ROWS + 4
