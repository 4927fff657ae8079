"""Start the identifier history from what profiles hold today (older, overwritten values were
never kept, so they cannot be recovered here)."""
from django.db import migrations

KINDS = ("phone", "email", "external_id", "anonymous_id")


def backfill(apps, schema_editor):
    Profile = apps.get_model("profiles", "Profile")
    ProfileIdentifier = apps.get_model("profiles", "ProfileIdentifier")
    batch = []
    for row in Profile.objects.values("pk", "store_id", "created_at", "updated_at", *KINDS).iterator(chunk_size=2000):
        for kind in KINDS:
            if row[kind]:
                batch.append(ProfileIdentifier(store_id=row["store_id"], profile_id=row["pk"], kind=kind, value=row[kind],
                                               first_seen_at=row["created_at"], last_seen_at=row["updated_at"]))
        if len(batch) >= 5000:
            ProfileIdentifier.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ProfileIdentifier.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("profiles", "0006_profile_identifier_history")]

    # Backwards: the table is dropped by 0006's reverse; nothing to undo here.
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
