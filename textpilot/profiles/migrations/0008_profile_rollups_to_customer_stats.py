"""The order rollups leave the profile for commerce's CustomerStats table (commerce 0002).

Forwards: copy every profile's rollups that say anything (or whose profile has an order) into
a CustomerStats row, in the store's currency with no other-currency orders known, then drop
the columns and their indexes. The copied values are what the profile held (summed across
currencies, as the old code did); `commerce.recompute_rollups` applies the currency rule.
Backwards: the columns come back (zeros) and get the values of the stats rows, which the
reverse of commerce 0002 then drops. One INSERT … SELECT / UPDATE … FROM each way (SQLite ≥
3.33 and PostgreSQL), so a million profiles take seconds."""
from django.db import migrations

ROLLUPS = ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at")


def _names(apps, schema_editor):
    qn = schema_editor.connection.ops.quote_name
    profile, stats = apps.get_model("profiles", "Profile")._meta, apps.get_model("commerce", "CustomerStats")._meta
    store, order = apps.get_model("stores", "Store")._meta, apps.get_model("commerce", "Order")._meta

    def col(meta, name):
        return qn(meta.get_field(name).column)

    return qn, profile, stats, store, order, col


def copy_to_stats(apps, schema_editor):
    qn, profile, stats, store, order, col = _names(apps, schema_editor)
    schema_editor.execute(f"""
        INSERT INTO {qn(stats.db_table)} ({col(stats, 'profile')}, {col(stats, 'store')},
            {', '.join(col(stats, name) for name in ROLLUPS)}, {col(stats, 'currency')}, {col(stats, 'other_currency_orders')})
        SELECT p.{col(profile, 'id')}, p.{col(profile, 'store')}, {', '.join(f'p.{col(profile, name)}' for name in ROLLUPS)},
               s.{col(store, 'currency')}, 0
        FROM {qn(profile.db_table)} p JOIN {qn(store.db_table)} s ON s.{col(store, 'id')} = p.{col(profile, 'store')}
        WHERE p.{col(profile, 'orders_count')} <> 0 OR p.{col(profile, 'total_spent')} <> 0
           OR p.{col(profile, 'average_order_value')} <> 0 OR p.{col(profile, 'first_order_at')} IS NOT NULL
           OR p.{col(profile, 'last_order_at')} IS NOT NULL
           OR EXISTS (SELECT 1 FROM {qn(order.db_table)} o WHERE o.{col(order, 'profile')} = p.{col(profile, 'id')})
    """)


def copy_to_profiles(apps, schema_editor):
    qn, profile, stats, store, order, col = _names(apps, schema_editor)
    table = qn(profile.db_table)
    schema_editor.execute(f"""
        UPDATE {table} SET {', '.join(f'{col(profile, name)} = c.{col(stats, name)}' for name in ROLLUPS)}
        FROM {qn(stats.db_table)} c WHERE c.{col(stats, 'profile')} = {table}.{col(profile, 'id')}
    """)


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0007_backfill_identifier_history"),
        ("commerce", "0002_customer_stats"),
    ]

    operations = [
        migrations.RunPython(copy_to_stats, copy_to_profiles),
        migrations.RemoveIndex(model_name="profile", name="profile_store_spent"),
        migrations.RemoveIndex(model_name="profile", name="profile_store_last_order"),
        migrations.RemoveField(model_name="profile", name="average_order_value"),
        migrations.RemoveField(model_name="profile", name="first_order_at"),
        migrations.RemoveField(model_name="profile", name="last_order_at"),
        migrations.RemoveField(model_name="profile", name="orders_count"),
        migrations.RemoveField(model_name="profile", name="total_spent"),
    ]
