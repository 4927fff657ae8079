"""No table keeps a single-column index whose column already leads a composite one.

Every extra index is written on every insert: on the hot tables (events, orders, texts,
profiles) a redundant `store_id` index cost each bulk-enqueued text and each ingested event
an index write for nothing, since the composites that lead with `store` serve the same
lookups (and the foreign key's cascade/protect checks). This enumerates every model, so a
new one that repeats the mistake fails here."""
from django.apps import apps
from django.db import models


def _composites(model) -> list[tuple[str, ...]]:
    """Column lists of the model's multi-column indexes and unique constraints that any
    query can use (no partial condition, no expressions)."""
    out = []
    meta = model._meta
    for index in meta.indexes:
        if index.fields and not index.condition and len(index.fields) > 1:
            out.append(tuple(meta.get_field(name.lstrip("-")).column for name in index.fields))
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and not constraint.condition and len(constraint.fields) > 1:
            out.append(tuple(meta.get_field(name).column for name in constraint.fields))
    return out


def _textpilot_models():
    return [m for m in apps.get_models() if m.__module__.startswith("textpilot.") and m._meta.managed and not m._meta.proxy]


def redundant_single_column_indexes(models_to_check) -> list[str]:
    found = []
    for model in models_to_check:
        meta = model._meta
        leading = {columns[0] for columns in _composites(model)}
        for field in meta.local_fields:
            if field.db_index and not field.unique and field.column in leading:
                found.append(f"{meta.db_table}.{field.column}")
    return sorted(found)


def test_no_single_column_index_repeats_the_start_of_a_composite():
    assert redundant_single_column_indexes(_textpilot_models()) == []


def test_the_check_finds_a_redundant_index():
    """The check itself can fail: a throwaway model with one is flagged."""

    class Throwaway(models.Model):
        owner = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
        at = models.DateTimeField()

        class Meta:
            app_label = "stores"
            indexes = [models.Index(fields=["owner", "at"], name="throwaway_owner_at")]

    try:
        assert redundant_single_column_indexes([Throwaway]) == ["stores_throwaway.owner_id"]
    finally:
        apps.all_models["stores"].pop("throwaway", None)
        apps.clear_cache()


def unindexed_foreign_keys(models_to_check) -> list[str]:
    """Foreign-key columns with neither an index of their own nor a composite leading with
    them: a cascade or protect check on the referenced row would scan the table."""
    found = []
    for model in models_to_check:
        meta = model._meta
        leading = {columns[0] for columns in _composites(model)}
        for field in meta.local_fields:
            if field.is_relation and field.many_to_one and not (field.db_index or field.unique or field.column in leading):
                found.append(f"{meta.db_table}.{field.column}")
    return sorted(found)


def test_every_foreign_key_is_still_indexed():
    """Dropping a redundant index must not leave a reference column without any."""
    assert unindexed_foreign_keys(_textpilot_models()) == []
