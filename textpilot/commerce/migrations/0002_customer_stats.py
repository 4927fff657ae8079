"""Customer stats move to commerce (the data is copied by profiles 0008, which needs this table)."""

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0001_initial'),
        ('profiles', '0007_backfill_identifier_history'),
        ('stores', '0002_store_public_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerStats',
            fields=[
                ('profile', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='customer_stats', serialize=False, to='profiles.profile')),
                ('orders_count', models.PositiveIntegerField(default=0)),
                ('total_spent', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14)),
                ('average_order_value', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14)),
                ('first_order_at', models.DateTimeField(blank=True, null=True)),
                ('last_order_at', models.DateTimeField(blank=True, null=True)),
                ('currency', models.CharField(help_text="the store's currency the amounts are in", max_length=3)),
                ('other_currency_orders', models.PositiveIntegerField(default=0, help_text='counted orders in another currency: left out of the figures above')),
                ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='stores.store')),
            ],
            options={
                'verbose_name_plural': 'customer stats',
                'indexes': [models.Index(fields=['store', 'total_spent'], name='stats_store_spent'), models.Index(fields=['store', 'last_order_at'], name='stats_store_last_order'), models.Index(fields=['store', 'orders_count'], name='stats_store_orders')],
            },
        ),
    ]
