"""Profile search (dashboard and `GET /api/v1/profiles?search=`): every word of the query must
be found in a name, the email or the external id, so a full name finds the person; a query that
looks like a phone number also matches the number's digits. On PostgreSQL a trigram index
answers it (see profiles/search.py)."""
import pytest
from django.db import connection

from textpilot.profiles import service


@pytest.fixture
def people(store, other_store):
    make = service.create_profile
    return {
        "samuel": make(store, phone="+14155550101", first_name="Samuel", last_name="Anderson",
                       email="sam.a@gmail.com", external_id="shopify-7001"),
        "samuel_smith": make(store, phone="+14155550102", first_name="Samuel", last_name="Smith", email="ss@example.com"),
        "mary": make(store, phone="+14155550103", first_name="Mary", last_name="Anderson", external_id="8123456789"),
        "elsewhere": make(other_store, phone="+4915123456789", first_name="Samuel", last_name="Anderson"),
    }


def found(store, query):
    return {p.pk for p in service.search_profiles(store, query)}


def test_a_full_name_finds_the_person(store, people):
    samuel = {people["samuel"].pk}
    assert found(store, "Samuel Anderson") == samuel
    assert found(store, "anderson samuel") == samuel  # any order, any case
    assert found(store, "  SAM   ander ") == samuel  # parts of words, extra spaces
    assert found(store, "Samuel") == {people["samuel"].pk, people["samuel_smith"].pk}
    assert found(store, "Samuel Jones") == set()


def test_external_id_email_and_phone_are_searchable(store, people):
    assert found(store, "shopify-7001") == {people["samuel"].pk}
    assert found(store, "7001") == {people["samuel"].pk}
    assert found(store, "8123456789") == {people["mary"].pk}  # a numeric external id, not a phone
    assert found(store, "gmail") == {people["samuel"].pk}
    assert found(store, "(415) 555-0103") == {people["mary"].pk}
    assert found(store, "555 0102") == {people["samuel_smith"].pk}


def test_odd_input_finds_nothing_rather_than_failing(store, people):
    # Stored text never holds a NUL (PostgreSQL refuses it in a query): it is dropped, not an error.
    assert found(store, "Sam\x00uel") == found(store, "Samuel") != set()
    assert found(store, "100%") == set()
    assert found(store, "_") == set()  # LIKE's wildcards are matched literally
    assert found(store, "x" * 500) == set()


def test_dashboard_search_by_full_name(owner_client, store, people):
    html = owner_client.get("/profiles/", {"q": "Samuel Anderson"}).content.decode()
    assert "sam.a@gmail.com" in html and "ss@example.com" not in html
    assert "1 match for" in html


@pytest.mark.postgresql_only
def test_postgresql_answers_a_name_search_from_the_trigram_indexes(store, people):
    """Among thousands of profiles, "Samuel Anderson" is found through the trigram indexes
    (bitmap scans ANDed across the words), not by reading every profile of the store."""
    from textpilot.profiles.models import Profile

    Profile.objects.bulk_create(Profile(store=store, phone=f"+1212555{i:04d}", first_name=f"Person{i}", last_name="Doe",
                                        email=f"person{i}@example.com") for i in range(5000))
    with connection.cursor() as cursor:
        # What autovacuum does in a while: move the new rows from GIN's pending list into the index.
        cursor.execute("SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_index "
                       "WHERE indrelid = 'profiles_profile'::regclass AND indexrelid::regclass::text LIKE '%%_trgm'")
        cursor.execute("ANALYZE profiles_profile")
    sql, params = service.search_profiles(store, "Samuel Anderson").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on profile_search_last_name_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert found(store, "Samuel Anderson") == {people["samuel"].pk}
