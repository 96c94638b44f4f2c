"""kyvs/converters.py: the short spelling of a UUID in the approve link."""

import uuid

import pytest

from kyvs.converters import CompactUuidConverter

converter = CompactUuidConverter()


def test_a_uuid_round_trips_through_its_22_characters():
    public_id = uuid.uuid4()
    text = converter.to_url(public_id)
    assert len(text) == 22
    assert converter.to_python(text) == public_id


def test_only_the_one_spelling_of_each_uuid_is_taken():
    text = converter.to_url(uuid.UUID(int=0))  # ends in "A": its last 4 bits are zero
    # The last character carries 2 bits and 4 zero bits: "B" decodes to the same UUID.
    other = text[:-1] + "B"
    with pytest.raises(ValueError):
        converter.to_python(other)
