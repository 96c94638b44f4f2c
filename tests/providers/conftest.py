from datetime import UTC, datetime

import pytest
import time_machine


@pytest.fixture
def clock():
    """Time stands at the start of an hour (so of every limit's window), so that no window
    ends inside a test; move it with clock.shift()."""
    with time_machine.travel(datetime(2026, 3, 2, 5, 0, 1, tzinfo=UTC), tick=False) as clock:
        yield clock


@pytest.fixture
def bob_by_mail(bob):
    """Bob, with an e-mail address for the messages about his account."""
    bob.email = "bob@sahyatri.example"
    bob.save()
    return bob
