"""Each organisation's name in SMS (providers/sms_names.py).

Organisations that exist already get one made from their registered name (accents taken
off, other characters outside the SMS alphabet made spaces, cut to 30 characters at a word's
end), else from their registration number, else "Organisation". The registry admin can
change it on the organisation's admin page; the names made here are printed.
"""

from django.db import migrations, models

import providers.sms_names


def name_existing_organisations(apps, schema_editor):
    from providers.sms_names import sms_name_from

    Organisation = apps.get_model("providers", "Organisation")
    for organisation in Organisation.objects.filter(sms_name="").order_by("pk"):
        organisation.sms_name = (
            sms_name_from(organisation.name)
            or sms_name_from(organisation.registration_number)
            or "Organisation"
        )
        organisation.save(update_fields=["sms_name"])
        if organisation.sms_name != organisation.name:
            print(f"\n  {organisation.name!r} is named {organisation.sms_name!r} in SMS", end="")


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0006_membership_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="sms_name",
            field=models.CharField(
                default="",
                help_text="How the SMS with a citizen's code names the organisation: at most 30 characters, English letters, digits, single spaces and & . -",
                max_length=30,
                validators=[providers.sms_names.validate_sms_name],
                verbose_name="name in SMS",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="organisationdecision",
            name="sms_name",
            field=models.CharField(blank=True, max_length=30, verbose_name="name in SMS"),
        ),
        migrations.RunPython(name_existing_organisations, migrations.RunPython.noop),
    ]
