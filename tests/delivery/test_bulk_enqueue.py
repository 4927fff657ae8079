"""Bulk enqueue: the same rows as send_message for the same inputs, resumable after a crash
without duplicates or gaps, tenant-safe, and sent by the dispatcher exactly once."""
import re

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from textpilot.common.errors import FieldError, NotFound
from textpilot.delivery import bulk_enqueue, service
from textpilot.delivery.bulk_enqueue import BulkSend
from textpilot.delivery.models import Message, SimDelivery, Status
from textpilot.messaging import links
from textpilot.messaging.models import ShortLink
from textpilot.messaging.templates import TemplateError
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus, Profile

LINK = "https://acme-outdoors.example/collections/spring-sale?utm_source=sms&utm_campaign=spring"
CODE_RE = re.compile(r"/l/[A-Za-z0-9]{7}")
# Columns that must agree between the two paths (ids, keys and times differ by construction).
COMPARED = [f.attname for f in Message._meta.concrete_fields
            if f.attname not in ("id", "origin_key", "created_at", "status_at", "send_after", "body")]


@pytest.fixture
def shop(store, settings):
    settings.TEXTPILOT_PUBLIC_URL = ""
    store.domain = "acme.example"
    store.save()
    return store


def people(store, count=0):
    """Recipients whose texts differ: names that switch to UCS-2, an empty name (default),
    numbers of other countries (prices), and a run of plain ones."""
    made = [
        profiles.create_profile(store, phone="+12125550101", first_name="Ann"),
        profiles.create_profile(store, phone="+12125550102", first_name="Zoë"),  # ë is GSM-7
        profiles.create_profile(store, phone="+12125550103", first_name="Łucja"),  # Ł is not: UCS-2
        profiles.create_profile(store, phone="+12125550104"),  # no name: the default
        profiles.create_profile(store, phone="+447400123456", first_name="Olly"),  # GB price
        profiles.create_profile(store, phone="+18765550123", first_name="Jo"),  # JM: the fallback price
        profiles.create_profile(store, phone="+4915123456789", first_name="Maximilian" * 10),  # long: several segments
    ]
    made += [profiles.create_profile(store, phone=f"+1212555{2000 + i:04d}", first_name=f"P{i}") for i in range(count)]
    return made


def rows_of(store, prefix):
    """Each message of one run, keyed by profile, with its links; bodies with link codes masked."""
    found = {}
    for message in Message.objects.filter(store=store, origin_key__startswith=prefix + ":"):
        targets = sorted(ShortLink.objects.filter(message_id=message.pk).values_list("target_url", "profile_id", "origin"))
        found[message.profile_id] = ({name: getattr(message, name) for name in COMPARED}, CODE_RE.sub("/l/CODE", message.body),
                                     targets)
    return found


SENDS = {
    "marketing with a merge tag and a link": dict(
        body="Acme: hi {{ first_name | default: 'there' }}! Spring sale {{ discount_code }}: " + LINK + " Reply STOP to opt out",
        kind="marketing", origin="campaign", origin_id=12, variant="B", context={"discount_code": "SPRING15"}),
    "transactional keeps its link": dict(body="Order shipped, {{ first_name | default: 'friend' }}: " + LINK, kind="transactional",
                                         origin="flow", origin_id=40),
    "a tag without data fails that text": dict(body="Finish your order: {{ checkout_url }}", kind="marketing", origin="flow"),
    "MMS": dict(body="New arrivals, {{ first_name | default: 'you' }}!", kind="marketing", origin="campaign", media_urls=("https://acme.example/a.jpg",)),
    "literal": dict(body="Use {SAVE10} and {{x}} " + LINK, kind="marketing", render=False, origin="growth", origin_id=3),
}


@pytest.mark.parametrize("name", SENDS)
def test_bulk_stores_the_same_rows_as_send_message(shop, sim_sender, name):
    recipients = people(shop)
    args = SENDS[name]
    for profile in recipients:
        service.send_message(shop, profile=profile, origin_key=f"one:{profile.pk}", **args)
    send_args = {**args, "media_urls": tuple(args.get("media_urls", ()))}
    totals = bulk_enqueue.enqueue(shop, BulkSend(key_prefix="bulk", **send_args), chunk_size=3)

    one, bulk = rows_of(shop, "one"), rows_of(shop, "bulk")
    assert set(one) == set(bulk) == {p.pk for p in recipients}
    for profile_id in one:
        assert bulk[profile_id] == one[profile_id], profile_id
    statuses = [row[0]["status"] for row in bulk.values()]
    assert (totals.queued, totals.failed) == (statuses.count(Status.QUEUED), statuses.count(Status.FAILED))
    assert totals.queued + totals.failed == len(recipients) and totals.chunks == 3
    if name.startswith("marketing"):  # the case the benchmark measures: everything differs somewhere
        fields = [row[0] for row in bulk.values()]
        assert {f["encoding"] for f in fields} == {"GSM-7", "UCS-2"} and len({f["estimated_cost"] for f in fields}) >= 4
        assert all(row[2] == [(LINK, pid, "message")] for pid, row in bulk.items())
        assert {(f["origin"], f["origin_id"], f["variant"]) for f in fields} == {("campaign", 12, "B")}
    if name.startswith("a tag"):
        assert totals.failed == len(recipients)


def test_without_a_sender_every_text_fails_with_the_reason_in_both_paths(shop):
    [ann] = people(shop)[:1]
    service.send_message(shop, profile=ann, body="Hi " + LINK, kind="marketing", origin="campaign", origin_key=f"one:{ann.pk}")
    totals = bulk_enqueue.enqueue(shop, BulkSend(body="Hi " + LINK, key_prefix="bulk"), Profile.objects.filter(pk=ann.pk))
    assert totals.failed == 1 and rows_of(shop, "one") == rows_of(shop, "bulk")
    assert "no sender" in Message.objects.get(origin_key=f"bulk:{ann.pk}").status_reason
    assert not ShortLink.objects.exists()


# --- crash and resume ----------------------------------------------------------------------

@pytest.fixture
def cursor_table(db):
    """Where the 'campaign' keeps its cursor: a table of the test's own, so the cursor is
    written in the chunk's transaction like a real caller's."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_bulk_cursor (name varchar(32) PRIMARY KEY, position bigint NOT NULL)")
        cursor.execute("INSERT INTO test_bulk_cursor VALUES ('campaign', 0)")

    def read():
        with connection.cursor() as cursor:
            cursor.execute("SELECT position FROM test_bulk_cursor WHERE name = 'campaign'")
            return cursor.fetchone()[0]

    def save(position):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE test_bulk_cursor SET position = %s WHERE name = 'campaign'", [position])

    return read, save


class Crash(Exception):
    pass


def test_a_crash_after_chunk_k_resumes_with_no_duplicate_and_no_gap(shop, sim_sender, cursor_table):
    read, save = cursor_table
    recipients = people(shop, count=16)  # 23 profiles, chunks of 5: 5 chunks
    send = BulkSend(body="Acme: {{ first_name | default: 'hi' }} " + LINK + " Reply STOP to opt out", key_prefix="campaign:7",
                    origin_id=7)
    chunks = []

    def save_then_crash_in_chunk_3(position):
        save(position)  # the chunk's rows and its cursor are written, not yet committed…
        chunks.append(position)
        if len(chunks) == 3:
            raise Crash  # …and the process dies: chunk 3 rolls back, cursor and rows together

    with pytest.raises(Crash):
        bulk_enqueue.enqueue(shop, send, chunk_size=5, save_cursor=save_then_crash_in_chunk_3)
    ids = sorted(p.pk for p in recipients)
    assert read() == ids[9]  # chunks 1 and 2 committed
    assert sorted(Message.objects.filter(store=shop).values_list("profile_id", flat=True)) == ids[:10]
    assert ShortLink.objects.filter(store=shop).count() == 10

    totals = bulk_enqueue.enqueue(shop, send, after=read(), chunk_size=5, save_cursor=save)
    assert (totals.queued, totals.existing, totals.chunks, totals.cursor) == (13, 0, 3, ids[-1]) and read() == ids[-1]
    messages = list(Message.objects.filter(store=shop).values_list("profile_id", "origin_key"))
    assert sorted(profile_id for profile_id, _ in messages) == ids  # each once: none twice, none missing
    assert {key for _, key in messages} == {f"campaign:7:{pk}" for pk in ids}
    assert ShortLink.objects.filter(store=shop).count() == 23
    assert set(ShortLink.objects.values_list("message_id", flat=True)) == set(Message.objects.values_list("pk", flat=True))

    # A lost cursor (resume from the start) creates nothing: the keys are already there.
    again = bulk_enqueue.enqueue(shop, send, chunk_size=7)
    assert (again.queued, again.existing) == (0, 23) and Message.objects.count() == 23 and ShortLink.objects.count() == 23


@pytest.mark.django_db(transaction=True)  # outside any transaction, as a caller that forgot one
def test_a_chunk_must_commit_with_its_cursor(shop, sim_sender):
    prepared = bulk_enqueue.prepare(shop, BulkSend(body="Hi", key_prefix="campaign:1"))
    [ann] = bulk_enqueue.recipients_after(shop, 0, 1, Profile.objects.filter(pk=people(shop)[0].pk))
    with pytest.raises(RuntimeError, match="atomic"):
        bulk_enqueue.enqueue_chunk(prepared, [ann])
    with transaction.atomic():
        result = bulk_enqueue.enqueue_chunk(prepared, [ann])
    assert (result.cursor, result.queued) == (ann.pk, 1)


# --- who gets one --------------------------------------------------------------------------

def test_profiles_without_a_phone_and_other_stores_profiles_get_nothing(shop, sim_sender, other_store):
    ann = profiles.create_profile(shop, phone="+12125550101", first_name="Ann")
    no_phone = profiles.create_profile(shop, email="nophone@example.com")
    stranger = profiles.create_profile(other_store, phone="+4915112345678")
    totals = bulk_enqueue.enqueue(shop, BulkSend(body="Hi", key_prefix="campaign:2"), Profile.objects.all())
    assert (totals.queued, totals.skipped) == (1, 1)
    assert list(Message.objects.values_list("store_id", "profile_id")) == [(shop.pk, ann.pk)]
    assert not Message.objects.filter(profile_id__in=[no_phone.pk, stranger.pk]).exists()


def test_unsubscribed_profiles_are_queued_and_the_gate_decides_as_for_send_message(shop, sim_sender):
    """Consent is the dispatcher's gate's, at the last moment (composer.py says why): bulk
    enqueue queues an opted-out profile exactly as send_message does."""
    gone = profiles.create_profile(shop, phone="+12125550109")
    profiles.record_consent(shop, gone, ConsentStatus.UNSUBSCRIBED, source="test")
    service.send_message(shop, profile=gone, body="Sale", kind="marketing", origin="campaign", origin_key=f"one:{gone.pk}")
    bulk_enqueue.enqueue(shop, BulkSend(body="Sale", key_prefix="bulk"))
    assert rows_of(shop, "one") == rows_of(shop, "bulk")


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"key_prefix": "  "}, "key_prefix"), ({"kind": "spam"}, "kind"), ({"origin": "inbound"}, "origin"),
    ({"origin_id": -1}, "origin_id"), ({"variant": "x" * 17}, "variant"), ({"context": {"coupon": "X"}}, "context"),
    ({"media_urls": ("ftp://x",)}, "media_urls"), ({"body": " "}, "body"),
])
def test_bad_sends_are_refused_naming_the_field_before_anything_is_written(shop, sim_sender, change, field):
    people(shop)
    with pytest.raises(FieldError) as error:
        bulk_enqueue.enqueue(shop, BulkSend(**{"body": "Hi", "key_prefix": "campaign:3", **change}))
    assert error.value.field == field and not Message.objects.exists()


def test_a_broken_template_another_stores_sender_or_a_bad_chunk_size_are_refused(shop, sim_sender, other_store):
    people(shop)
    with pytest.raises(TemplateError):
        bulk_enqueue.enqueue(shop, BulkSend(body="Hi {{ first_name ", key_prefix="campaign:4"))
    theirs = service.create_sender(other_store, name="Theirs", provider="sim", from_number="+4915100000000")
    with pytest.raises(NotFound) as error:  # as send_message: it would send with their number and credentials
        bulk_enqueue.enqueue(shop, BulkSend(body="Hi", key_prefix="campaign:4", sender=theirs))
    assert error.value.field == "sender_id"
    with pytest.raises(FieldError) as error:
        bulk_enqueue.enqueue(shop, BulkSend(body="Hi", key_prefix="campaign:4"), chunk_size=0)
    assert error.value.field == "chunk_size" and not Message.objects.exists()


# --- links, origin, statements -------------------------------------------------------------

def test_a_taken_link_code_is_replaced_in_the_link_and_in_the_text(shop, sim_sender, monkeypatch):
    [ann, zoe] = people(shop)[:2]
    taken = ShortLink.objects.get(message_id=service.send_message(shop, profile=ann, body="x " + LINK, kind="marketing").pk).code
    real = links.new_codes
    offered = iter([[taken] + real(20), ["NewCode"]])  # the chunk's first code is already someone's
    monkeypatch.setattr(links, "new_codes", lambda count: next(offered)[:count])
    bulk_enqueue.enqueue(shop, BulkSend(body="Hi {{ first_name }} " + LINK, key_prefix="campaign:5"), Profile.objects.filter(pk=zoe.pk))
    message = Message.objects.get(origin_key=f"campaign:5:{zoe.pk}")
    assert ShortLink.objects.get(message_id=message.pk).code == "NewCode"
    assert message.body == "Hi Zoë https://acme.example/l/NewCode"


def test_progress_of_one_campaign_by_status_reads_the_origin_columns(shop, sim_sender):
    people(shop, count=3)
    bulk_enqueue.enqueue(shop, BulkSend(body="A " + LINK, key_prefix="campaign:8:A", origin_id=8, variant="A"))
    bulk_enqueue.enqueue(shop, BulkSend(body="Hi {{ checkout_url }}", key_prefix="campaign:9", origin_id=9))
    by_status = Message.objects.filter(store=shop, origin="campaign", origin_id=8).values_list("variant", "status")
    assert dict(by_status.annotate(n=Count("id")).values_list("status", "n")) == {"queued": 10}
    assert set(by_status.values_list("variant", flat=True)) == {"A"}
    assert Message.objects.filter(store=shop, origin="campaign", origin_id=9, status="failed").count() == 10


def test_a_chunk_costs_the_same_few_statements_whatever_its_size(shop, sim_sender):
    people(shop, count=200)
    prepared = bulk_enqueue.prepare(shop, BulkSend(body="Hi {{ first_name }} " + LINK, key_prefix="campaign:6"))
    counts, after = [], 0
    for size in (10, 190):
        page = bulk_enqueue.recipients_after(shop, after, size)
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            result = bulk_enqueue.enqueue_chunk(prepared, page)
        counts.append(len(queries))
        after = result.cursor
        assert result.queued == size
    assert counts == [3, 3]  # reserve the ids, insert the messages, insert their links


# --- the dispatcher sends them -------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_bulk_enqueued_texts_are_sent_once_each_by_the_dispatcher(store, sim_sender):
    from textpilot.delivery.dispatch import dispatch_until_idle
    from test_dispatch import customers

    made = customers(store, 30)
    totals = bulk_enqueue.enqueue(store, BulkSend(body="Spring sale for {{ first_name | default: 'you' }}. Reply STOP to opt out",
                                                  key_prefix="campaign:10", origin_id=10), chunk_size=7)
    assert (totals.queued, totals.chunks) == (30, 5)
    dispatch_until_idle(30)
    messages = Message.objects.filter(store=store, origin="campaign", origin_id=10)
    assert {m.status for m in messages} <= {Status.SENT, Status.DELIVERED} and messages.count() == 30
    handed = list(SimDelivery.objects.values_list("client_ref", flat=True))
    assert sorted(handed) == sorted(str(m.pk) for m in messages)  # each exactly once at the carrier
    assert {m.to_phone for m in messages} == {p.phone for p in made}
