import pytest

from providers.registration import gstin_check_character, is_valid, normalise


@pytest.mark.parametrize(
    "kind, number",
    [
        ("cin", "L17110MH1973PLC019786"),
        ("cin", "U92130GJ2009PTC056789"),
        ("gstin", "24AAACC1206D1ZM"),
        ("gstin", "27AAPFU0939F1ZV"),
        ("gov", "GOV-GJ-HEALTH-0042"),
        ("gov", "GOV-DL-RLY-123456"),
    ],
)
def test_well_formed_numbers_are_accepted(kind, number):
    assert is_valid(kind, number)


@pytest.mark.parametrize(
    "kind, number, why",
    [
        ("cin", "L17110MH1973PLC01978", "20 characters"),
        ("cin", "X17110MH1973PLC019786", "neither listed nor unlisted"),
        ("cin", "L17110MH1873PLC019786", "incorporated in 1873"),
        ("gstin", "24AAACC1206D1ZN", "wrong check character"),
        ("gstin", "40AAACC1206D1ZM", "no such state code"),
        ("gstin", "24AAACC1206D1XM", "the 14th character is not Z"),
        ("gov", "GOV-XX-HEALTH-0042", "no such state"),
        ("gov", "GOV-GJ-H-0042", "department too short"),
        ("gov", "GOV-GJ-HEALTH-42", "office number too short"),
        ("cin", "24AAACC1206D1ZM", "a GSTIN given as a CIN"),
    ],
)
def test_malformed_numbers_are_refused(kind, number, why):
    assert not is_valid(kind, number), why


def test_numbers_are_compared_in_upper_case_without_spaces():
    assert normalise(" l17110 mh1973 plc019786 ") == "L17110MH1973PLC019786"


def test_the_gstin_check_character_follows_the_gst_network():
    assert gstin_check_character("24AAACC1206D1Z") == "M"
