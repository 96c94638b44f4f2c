from django.db import migrations

# The primary doses that complete each vaccine's series (DESIGN.md, "Status rule").
VACCINES = {
    "Covishield": 2,
    "Covaxin": 2,
    "Sputnik V": 2,
    "Corbevax": 2,
    "Covovax": 2,
    "ZyCoV-D": 3,
    "Sputnik Light": 1,
    "Janssen": 1,
}


def seed(apps, schema_editor):
    Vaccine = apps.get_model("verification", "Vaccine")
    for name, doses in VACCINES.items():
        Vaccine.objects.update_or_create(name=name, defaults={"primary_doses_required": doses})


def unseed(apps, schema_editor):
    Vaccine = apps.get_model("verification", "Vaccine")
    Vaccine.objects.filter(name__in=VACCINES, doses__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("verification", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
