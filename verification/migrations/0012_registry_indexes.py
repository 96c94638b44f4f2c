"""Drop two registry indexes no query uses, which every import paid for.

- beneficiary.reference_id: its uniqueness moves from unique=True to a named constraint, so
  that PostgreSQL no longer keeps a second, LIKE-only index (varchar_pattern_ops) on it. On
  PostgreSQL the unique constraint already there is renamed, not rebuilt; on other databases
  the column's own UNIQUE stays as it is, which is what the new state describes.
- dose.beneficiary: its own index goes; one_dose_per_number's index starts with the
  beneficiary and serves every look-up by it.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import verification.models

TABLE = "verification_beneficiary"
OLD_NAME = "verification_beneficiary_reference_id_key"
NEW_NAME = "one_beneficiary_per_reference_id"
LIKE_INDEX = "verification_beneficiary_reference_id_b6db2ff1_like"
DOSE_INDEX = "verification_dose_beneficiary_id_2bc9b3e9"


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {OLD_NAME} TO {NEW_NAME}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def restore_like_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {NEW_NAME} TO {OLD_NAME}")
    schema_editor.execute(
        f"CREATE INDEX {LIKE_INDEX} ON {TABLE} (reference_id varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0011_field_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="beneficiary",
                    name="reference_id",
                    field=verification.models.ReferenceIdField(
                        max_length=14,
                        validators=[
                            django.core.validators.RegexValidator(
                                "\\A[0-9]{14}\\Z", "A reference id is 14 digits."
                            )
                        ],
                        verbose_name="beneficiary reference id",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="beneficiary",
                    constraint=models.UniqueConstraint(
                        fields=("reference_id",), name="one_beneficiary_per_reference_id"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_like_index, restore_like_index)],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="dose",
                    name="beneficiary",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="doses",
                        to="verification.beneficiary",
                        verbose_name="beneficiary",
                    ),
                ),
            ],
            # Only the index: an AlterField would also drop the foreign key and add it back,
            # checking every dose again.
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {DOSE_INDEX}",
                    f"CREATE INDEX {DOSE_INDEX} ON verification_dose (beneficiary_id)",
                )
            ],
        ),
    ]
