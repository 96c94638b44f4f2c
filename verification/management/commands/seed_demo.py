"""A synthetic registry and a demo organisation, for trying the portal on one machine.

The registry goes through the importer, the same path as real data, so running this twice
updates the same people instead of adding more. Names, mobiles and doses come from a
random generator with a fixed seed: every run makes the same registry.
"""

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import Membership, Organisation, Purpose, Scope
from verification import importer
from verification.models import Vaccine

SEED = 20210116  # the first day of India's COVID-19 vaccination drive
RANDOM_PEOPLE = 1200
ORGANISATION_NAME = "Demo Travels"
OPERATOR, ORG_ADMIN, REGISTRY_ADMIN = "operator", "orgadmin", "admin"
NO_MATCH_MOBILE = "9825000009"
SHARED_MOBILE = "9825000010"

MALE_NAMES = [
    "Aarav", "Amit", "Anil", "Arjun", "Deepak", "Dhruv", "Harsh", "Jignesh", "Kunal",
    "Mahesh", "Manoj", "Nikhil", "Pranav", "Rajesh", "Rohan", "Sanjay", "Suresh", "Vikram",
    "Vivek", "Yash", "Imran", "Farhan", "Gurpreet", "Joseph", "Arun", "Karthik",
]  # fmt: skip
FEMALE_NAMES = [
    "Aditi", "Ananya", "Anjali", "Bhavna", "Deepika", "Divya", "Hetal", "Jyoti", "Kavita",
    "Komal", "Meena", "Neha", "Nisha", "Pooja", "Priya", "Rekha", "Sakshi", "Shreya",
    "Sneha", "Sunita", "Zoya", "Ayesha", "Harpreet", "Mary", "Lakshmi", "Revathi",
]  # fmt: skip
SURNAMES = [
    "Patel", "Shah", "Mehta", "Desai", "Joshi", "Trivedi", "Parmar", "Chauhan", "Solanki",
    "Sharma", "Verma", "Gupta", "Singh", "Yadav", "Mishra", "Pandey", "Khan", "Qureshi",
    "Iyer", "Nair", "Reddy", "Rao", "Das", "Banerjee", "Kulkarni", "Gill", "D'Souza",
]  # fmt: skip
GUJARATI_MALE = ["રાજેશ", "મહેશ", "જીગ્નેશ", "હાર્દિક", "કિરણ"]
GUJARATI_FEMALE = ["ભાવના", "હેતલ", "મીના", "નિશા", "કોમલ"]
GUJARATI_SURNAMES = ["પટેલ", "શાહ", "દેસાઈ", "જોશી", "પરમાર", "ત્રિવેદી"]
HINDI_MALE = ["सुनील", "राजेश", "अमित", "विकास", "संजय"]
HINDI_FEMALE = ["सुनीता", "पूजा", "अंजली", "रेखा", "कविता"]
HINDI_SURNAMES = ["शर्मा", "वर्मा", "गुप्ता", "सिंह", "यादव", "मिश्रा"]
PLACES = [
    ("UHC Navrangpura", "Ahmedabad", "Gujarat"),
    ("Civil Hospital Asarwa", "Ahmedabad", "Gujarat"),
    ("PHC Bhayli", "Vadodara", "Gujarat"),
    ("SMIMER Hospital", "Surat", "Gujarat"),
    ("CHC Gondal", "Rajkot", "Gujarat"),
    ("PHC Adalaj", "Gandhinagar", "Gujarat"),
    ("District Hospital", "Kachchh", "Gujarat"),
    ("Sawai Man Singh Hospital", "Jaipur", "Rajasthan"),
    ("KEM Hospital", "Mumbai", "Maharashtra"),
    ("AIIMS", "New Delhi", "Delhi"),
    ("Govt. General Hospital", "Chennai", "Tamil Nadu"),
    ("District Hospital", "Lucknow", "Uttar Pradesh"),
]
PRECAUTION_VACCINES = ["Covishield", "Covaxin", "Corbevax"]
DRIVE_START = date(2021, 1, 16)
PRECAUTION_START = date(2022, 1, 10)


@dataclass(frozen=True)
class Person:
    """One demo beneficiary. `doses` lists (vaccine, kind) in the order given."""

    name: str
    mobile: str
    gender: str
    birth_year: int
    doses: tuple[tuple[str, str], ...] = ()
    show_as: str = ""  # printed as a case to try when set


P, B = "primary", "precaution"
FEATURED = [
    Person("Kiran Desai", "9825000001", "M", 1988, (), "not vaccinated"),
    Person("Rahul Sharma", "9825000002", "M", 1979, (("Covishield", P),), "partially vaccinated"),
    Person(
        "Priya Mehta",
        "9825000003",
        "F",
        1992,
        (("Covaxin", P), ("Covaxin", P), ("Covaxin", B)),
        "fully vaccinated, with a precaution dose",
    ),
    Person(
        "ભાવના પટેલ",
        "9825000004",
        "F",
        1984,
        (("ZyCoV-D", P), ("ZyCoV-D", P), ("ZyCoV-D", P)),
        "fully vaccinated, name in Gujarati",
    ),
    Person("सुनील वर्मा", "9825000005", "M", 1975, (("Janssen", P),), "fully vaccinated, in Hindi"),
    Person(
        "Ramesh Shah",
        SHARED_MOBILE,
        "M",
        1965,
        (("Covishield", P), ("Covishield", P), ("Covishield", B)),
        "one of four on a shared mobile",
    ),
    Person("Sunita Shah", SHARED_MOBILE, "F", 1968, (("Covishield", P), ("Covishield", P))),
    Person("Arjun Shah", SHARED_MOBILE, "M", 1995, (("Covaxin", P),)),
    Person("Diya Shah", SHARED_MOBILE, "F", 2009, ()),
]


def random_people(rng: random.Random, vaccines: dict[str, int]) -> Iterator[Person]:
    """RANDOM_PEOPLE people, each on a mobile of their own, cycling through every vaccine so
    that each one completes and each multi-dose one is left part-way for someone."""
    taken = {p.mobile for p in FEATURED} | {NO_MATCH_MOBILE}
    complete = sorted(vaccines)
    multi_dose = sorted(name for name, required in vaccines.items() if required > 1)
    for i in range(RANDOM_PEOPLE):
        gender = rng.choices("MFO", weights=[49, 49, 2])[0]
        female = gender == "F" or (gender == "O" and rng.random() < 0.5)
        script = rng.random()
        if script < 0.08:
            given = rng.choice(GUJARATI_FEMALE if female else GUJARATI_MALE)
            name = f"{given} {rng.choice(GUJARATI_SURNAMES)}"
        elif script < 0.15:
            given = rng.choice(HINDI_FEMALE if female else HINDI_MALE)
            name = f"{given} {rng.choice(HINDI_SURNAMES)}"
        else:
            given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            name = f"{given} {rng.choice(SURNAMES)}"
        while (mobile := rng.choice("6789") + f"{rng.randrange(10**9):09d}") in taken:
            pass
        taken.add(mobile)

        status = rng.choices([0, 1, 2], weights=[15, 25, 60])[0]
        doses: list[tuple[str, str]] = []
        if status == 2:
            vaccine = complete[i % len(complete)]
            doses = [(vaccine, P)] * vaccines[vaccine]
            if rng.random() < 0.4:
                doses.append((rng.choice(PRECAUTION_VACCINES), B))
        elif status == 1 and multi_dose:
            vaccine = multi_dose[i % len(multi_dose)]
            doses = [(vaccine, P)] * rng.randint(1, vaccines[vaccine] - 1)
        yield Person(name, mobile, gender, rng.randint(1945, 2008), tuple(doses))


def registry_rows(people: list[Person], rng: random.Random) -> list[list[str]]:
    """The people as rows of a registry export: one row per dose, reference ids in order."""
    rows = []
    for number, person in enumerate(people, start=1):
        identity = [f"9{number:013d}", person.name, person.mobile, str(person.birth_year)]
        identity.append(person.gender)
        if not person.doses:
            rows.append([*identity, "", "", "", "", "", "", ""])
            continue
        centre, district, state = rng.choice(PLACES)
        when = DRIVE_START + timedelta(days=rng.randrange(480))
        counts = {P: 0, B: 0}
        for vaccine, kind in person.doses:
            counts[kind] += 1
            if kind == B:
                when = max(when + timedelta(days=rng.randint(270, 400)), PRECAUTION_START)
            rows.append(
                [
                    *identity,
                    vaccine,
                    str(counts[kind]),
                    kind,
                    when.isoformat(),
                    centre,
                    district,
                    state,
                ]
            )
            when += timedelta(days=rng.randint(28, 84))
    return rows


class Command(BaseCommand):
    help = (
        "Fill the database with a synthetic registry and a demo organisation with logins, "
        "then print them and some name + mobile pairs to try. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="password for the operator, orgadmin and admin logins "
            "(default: a new random one each run, printed)",
        )

    def handle(self, *args, **options):
        vaccines = dict(Vaccine.objects.values_list("name", "primary_doses_required"))
        if not vaccines:
            raise CommandError("No vaccines in the database: run `manage.py migrate` first.")
        rng = random.Random(SEED)
        people = FEATURED + list(random_people(rng, vaccines))
        rows = registry_rows(people, rng)
        try:
            summary = importer.import_rows(lambda: enumerate(rows, start=2))
        except importer.ImportRejected as rejected:  # a bug here, not bad input
            raise CommandError(str(rejected)) from rejected

        password = options["password"] or secrets.token_urlsafe(9)
        with transaction.atomic():
            organisation = self._organisation()
            self._login(OPERATOR, password, organisation, Membership.Role.OPERATOR)
            org_admin = self._login(ORG_ADMIN, password, organisation, Membership.Role.ADMIN)
            registry_admin = self._superuser(REGISTRY_ADMIN, password)
            devices = [self._totp_device(user) for user in (org_admin, registry_admin)]

        self._report(summary, organisation, password, devices)

    def _organisation(self) -> Organisation:
        organisation, _ = Organisation.objects.update_or_create(
            name=ORGANISATION_NAME,
            defaults={
                "kind": Organisation.Kind.TRAVEL_AGENCY,
                "state": Organisation.State.APPROVED,
                "scopes": [Scope.VACCINATIONS.value, Scope.DEMOGRAPHICS.value],
                "purposes": list(Purpose.values),
            },
        )
        return organisation

    def _login(self, username: str, password: str, organisation: Organisation, role: str):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        Membership.objects.update_or_create(
            user=user, defaults={"organisation": organisation, "role": role}
        )
        return user

    def _superuser(self, username: str, password: str):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        return user

    def _totp_device(self, user) -> TOTPDevice:
        """A second factor, kept across runs so an authenticator app set up once keeps
        working: registry and organisation admins sign in with one."""
        device = TOTPDevice.objects.filter(user=user, name="demo").first()
        return device or TOTPDevice.objects.create(user=user, name="demo", confirmed=True)

    def _report(self, summary, organisation, password, devices) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS(f"Demo registry: {summary}"))
        out(f"Organisation: {organisation.name} (approved; status, vaccinations, demographics)")
        out(f"Logins (password for all three: {password}):")
        out(f"  {OPERATOR:<9} operator at /accounts/login/, then /verify/")
        out(f"  {ORG_ADMIN:<9} organisation admin")
        out(f"  {REGISTRY_ADMIN:<9} registry admin (superuser) at /admin/")
        for device in devices:
            out(f"  second factor for {device.user.username}: {device.config_url}")
        out("Try these at /verify/ (full name + mobile):")
        for person in FEATURED:
            if person.show_as:
                out(f"  {person.name:<14} {person.mobile}  {person.show_as}")
        out(f"  {'Sunita Shah':<14} {SHARED_MOBILE}  (same mobile; so are Arjun and Diya Shah)")
        out(f"  {'Kiran Desai':<14} {NO_MATCH_MOBILE}  no match: same screens, no SMS sent")
