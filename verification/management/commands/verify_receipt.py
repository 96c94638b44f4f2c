import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from verification import receipts


class Command(BaseCommand):
    help = (
        "Check a signed receipt offline and print what it states. With --jwks, against the "
        "public keys in that JWKS file (as served at /.well-known/jwks.json); without, against "
        "this server's own keys. Exits with status 1 when the receipt is not valid."
    )

    def add_arguments(self, parser):
        parser.add_argument("receipt", help="the receipt, a file holding it, or - for stdin")
        parser.add_argument("--jwks", help="a JWKS JSON file, e.g. a saved /.well-known/jwks.json")
        parser.add_argument(
            "--issuer",
            help="require this issuer (default: KYVS_RECEIPT_ISSUER when checking against "
            "this server's keys, any issuer with --jwks)",
        )

    def handle(self, *args, **options):
        receipt = options["receipt"]
        if receipt == "-":
            receipt = sys.stdin.read()
        elif receipt.count(".") != 2 and Path(receipt).is_file():
            receipt = Path(receipt).read_text(encoding="utf-8")
        issuer = options["issuer"]
        key_set = None
        if options["jwks"]:
            try:
                key_set = KeySet.import_key_set(
                    json.loads(Path(options["jwks"]).read_text(encoding="utf-8"))
                )
            except (OSError, ValueError, TypeError, KeyError, JoseError) as exc:
                raise CommandError(f"Cannot read the JWKS file {options['jwks']}: {exc}") from None
        elif issuer is None:
            issuer = settings.KYVS_RECEIPT_ISSUER
        check = receipts.verify(receipt, key_set=key_set, issuer=issuer)
        if check.claims is not None:
            self.stdout.write(json.dumps(check.claims, indent=2, ensure_ascii=False))
        if not check.valid:
            raise CommandError(f"Not valid: {check.problem}")
        self.stdout.write(self.style.SUCCESS(f"Valid: signed with key {check.header['kid']}."))
