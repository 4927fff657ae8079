"""The quiet-hours defaults become callables (same values, 21:00 and 08:00): a constant time
default made Django's system check warn (fields.W161) in processes started near those times.
No schema change (Django keeps defaults in Python): a no-op on PostgreSQL; SQLite copies this
one-row-per-store table."""

import textpilot.delivery.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0007_drop_redundant_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='compliancesettings',
            name='quiet_hours_end',
            field=models.TimeField(default=textpilot.delivery.models.default_quiet_hours_end, help_text='marketing may start again at this local time'),
        ),
        migrations.AlterField(
            model_name='compliancesettings',
            name='quiet_hours_start',
            field=models.TimeField(default=textpilot.delivery.models.default_quiet_hours_start, help_text='marketing stops at this local time'),
        ),
    ]
