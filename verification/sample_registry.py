"""A synthetic registry export of any size, in the importer's CSV format.

Used by the importer's tests and by scripts/bench_import.py, so that the benchmark
measures the same shape of file the tests hold the importer to.
"""

import csv
from datetime import date, timedelta
from pathlib import Path

from verification.importer import HEADER


def write_big_registry(path: Path, rows: int) -> tuple[int, int]:
    """`rows` rows, 0 to 3 doses a beneficiary, some names in Gujarati; returns the number
    of beneficiaries and of doses."""
    start = date(2021, 3, 1)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(HEADER)
        written = person = doses_written = 0
        while written < rows:
            person += 1
            name = f"ભાવના Person {person}" if person % 10 == 0 else f"Person Number {person}"
            who = [
                f"{10**13 + person}",
                name,
                f"9{person:09d}",
                1950 + person % 50,
                "MFO"[person % 3],
            ]
            doses = min(person % 4, rows - written)
            if doses == 0:
                out.writerow([*who, "", "", "", "", "", "", ""])
                written += 1
            for n in range(1, doses + 1):
                when = start + timedelta(days=person % 300 + 60 * n)
                out.writerow(
                    [
                        *who,
                        "Covishield",
                        n,
                        "primary",
                        when,
                        "UHC Navrangpura",
                        "Ahmedabad",
                        "Gujarat",
                    ]
                )
                written += 1
                doses_written += 1
    return person, doses_written
