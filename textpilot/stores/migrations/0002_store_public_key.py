from django.db import migrations, models

import textpilot.stores.models


def fill_public_keys(apps, schema_editor):
    Store = apps.get_model("stores", "Store")
    for store in Store.objects.filter(public_key__isnull=True):
        store.public_key = textpilot.stores.models.new_public_key()
        store.save(update_fields=["public_key"])


class Migration(migrations.Migration):
    dependencies = [("stores", "0001_initial")]

    operations = [
        migrations.AddField(model_name="store", name="public_key", field=models.CharField(max_length=40, null=True)),
        migrations.RunPython(fill_public_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="store",
            name="public_key",
            field=models.CharField(default=textpilot.stores.models.new_public_key, max_length=40, unique=True),
        ),
    ]
