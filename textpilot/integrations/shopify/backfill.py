"""Backfill: page through the shop's products, customers, orders and abandoned checkouts
with the Admin GraphQL API and store them like webhooks would.

After every page the job saves, in the same transaction as the page's rows, the page's
endCursor, the running counts and a heartbeat. A job that crashed or failed resumes from its
last saved cursor when it is run again; a page that was half done re-applies idempotently
and is counted once, because its rows and its count commit together."""
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from textpilot.common.errors import Conflict, DomainError, FieldError, NotFound
from textpilot.integrations.shopify.models import BackfillJob
from textpilot.integrations.shopify import connections
from textpilot.integrations.shopify.client import AdminClient, ShopifyError
from textpilot.integrations.shopify.mapping import BACKFILL_EVENT_SOURCE, ShopContext
from textpilot.integrations.shopify.queries import DEFAULT_ORDER, RESOURCES
from textpilot.stores.models import Store

logger = logging.getLogger("textpilot.shopify")

SOURCE = "shopify"
Status = BackfillJob.Status
# A running job that has not saved a page for this long is taken as dead (it can be resumed).
STALLED_AFTER = timedelta(minutes=10)


def _clean_resources(resources) -> list[str]:
    chosen = list(resources or DEFAULT_ORDER)
    unknown = [name for name in chosen if name not in RESOURCES]
    if unknown or not chosen:
        raise FieldError(f"resources must be some of {', '.join(DEFAULT_ORDER)}", field="resources")
    # Products first so order lines link to them; customers before their orders.
    return [name for name in DEFAULT_ORDER if name in chosen]


def is_stalled(job: BackfillJob, now=None) -> bool:
    if job.status != Status.RUNNING:
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return last < (now or timezone.now()) - STALLED_AFTER


def active_job(store: Store) -> BackfillJob | None:
    return BackfillJob.objects.filter(store=store, source=SOURCE, status__in=[Status.QUEUED, Status.RUNNING]).order_by("-created_at").first()


def latest_job(store: Store) -> BackfillJob | None:
    return BackfillJob.objects.filter(store=store, source=SOURCE).order_by("-created_at", "-id").first()


@transaction.atomic
def start_backfill(store: Store, resources=None) -> BackfillJob:
    """A new queued job (the caller enqueues it). One job at a time per store."""
    if connections.get_connection(store) is None:
        raise NotFound("connect a Shopify shop first", field="shop_domain")
    chosen = _clean_resources(resources)
    active = active_job(store)
    if active is not None:
        hint = "it stalled: resume it" if is_stalled(active) else "wait for it to finish"
        raise Conflict(f"backfill {active.pk} is already {active.status}; {hint}", field="backfill")
    return BackfillJob.objects.create(store=store, source=SOURCE, resources=chosen, status=Status.QUEUED)


@transaction.atomic
def resume_backfill(store: Store, job_id: int) -> BackfillJob:
    """Make a failed or stalled job runnable again (the caller enqueues it)."""
    job = BackfillJob.objects.select_for_update().filter(store=store, source=SOURCE, pk=job_id).first()
    if job is None:
        raise NotFound("no such backfill in this store", field="job_id")
    if connections.get_connection(store) is None:
        raise FieldError("connect a Shopify shop first", field="shop_domain")
    if job.status == Status.COMPLETED:
        raise FieldError("this backfill has completed", field="job_id")
    if job.status == Status.RUNNING and not is_stalled(job):
        raise Conflict("this backfill is running", field="job_id")
    job.status, job.error = Status.QUEUED, ""
    job.save(update_fields=["status", "error"])
    return job


class BackfillStopped(Exception):
    """The job was taken out of `running` while it ran (the shop was disconnected)."""


def _save(job: BackfillJob, **fields) -> None:
    fields["heartbeat_at"] = timezone.now()
    BackfillJob.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)


def _save_running(job: BackfillJob, **fields) -> None:
    """Save progress only while the job is still running; otherwise raise BackfillStopped, so
    a page whose rows are in the same transaction is rolled back with it."""
    fields["heartbeat_at"] = timezone.now()
    if not BackfillJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(**fields):
        raise BackfillStopped(job.pk)
    for name, value in fields.items():
        setattr(job, name, value)


def _fetch_totals(client: AdminClient, resources: list[str]) -> dict:
    totals = {}
    for name in resources:
        resource = RESOURCES[name]
        try:
            data = client.execute(resource.count_query)
        except ShopifyError as exc:  # a count is only for the progress bar
            logger.info("shopify count unavailable", extra={"resource": name, "error": str(exc)[:200]})
            continue
        count = (next(iter(data.values()), None) or {}).get("count")
        if isinstance(count, int):
            totals[name] = count
    return totals


def _run_resource(job: BackfillJob, name: str, client: AdminClient, ctx: ShopContext) -> None:
    resource = RESOURCES[name]
    cursor = job.cursors.get(name)
    while True:
        data = client.execute(resource.query, {"first": resource.page_size, "after": cursor})
        page = data.get(resource.root) or {}
        nodes, info = page.get("nodes") or [], page.get("pageInfo") or {}
        rejected = 0
        with transaction.atomic():
            for node in nodes:
                try:
                    with transaction.atomic():
                        resource.apply(ctx, node)
                except DomainError as exc:  # one bad row is reported, the rest still load
                    rejected += 1
                    logger.warning("shopify backfill row rejected", extra={"job": job.pk, "resource": name, "id": node.get("id"), "error": exc.message})
            cursor = info.get("endCursor") or cursor
            counts = {**job.counts, name: job.counts.get(name, 0) + len(nodes)}
            if rejected:
                counts[f"{name}_rejected"] = counts.get(f"{name}_rejected", 0) + rejected
            _save_running(job, cursors={**job.cursors, name: cursor}, counts=counts)
        if not info.get("hasNextPage") or not nodes:
            return


def _claim(job_id: int, force: bool) -> bool:
    """Take the job for this run: queued, failed or stalled jobs only, so two runs never page
    the same job at once (that would count pages twice). `force` takes a running job too."""
    now = timezone.now()
    runnable = Q(status__in=[Status.QUEUED, Status.FAILED]) | Q(status=Status.RUNNING, heartbeat_at__lt=now - STALLED_AFTER)
    if force:
        runnable |= Q(status=Status.RUNNING)
    return bool(
        BackfillJob.objects.filter(runnable, pk=job_id).update(
            status=Status.RUNNING, error="", heartbeat_at=now, started_at=Coalesce("started_at", Value(now))
        )
    )


def run_backfill(job_id: int, *, client: AdminClient | None = None, sleep=None, force: bool = False) -> BackfillJob:
    """Run (or resume) a job to the end. Raises after recording the error as the job's. A job
    of a store without a connection (disconnected since it was queued) is not run."""
    job = BackfillJob.objects.select_related("store").get(pk=job_id)
    if connections.get_connection(job.store) is None:
        if job.status in (Status.QUEUED, Status.RUNNING):
            _save(job, status=Status.FAILED, error="the store has no Shopify connection")
        logger.info("shopify backfill not run: no connection", extra={"job": job_id})
        return job
    if not _claim(job_id, force):
        job = BackfillJob.objects.get(pk=job_id)
        if job.status != Status.COMPLETED:
            logger.info("shopify backfill not run: already running", extra={"job": job_id})
        return job
    job = BackfillJob.objects.select_related("store").get(pk=job_id)
    store = job.store
    connection = connections.get_connection(store)
    if connection is None:  # disconnected between the look above and the claim
        _save(job, status=Status.FAILED, error=connections.STOPPED_BY_DISCONNECT)
        return job
    own_client = client is None
    client = client or AdminClient.for_connection(connection, sleep=sleep)
    ctx = ShopContext(store=store, shop_domain=connection.shop_domain, event_source=BACKFILL_EVENT_SOURCE)
    try:
        if not job.totals:
            _save_running(job, totals=_fetch_totals(client, job.resources))
        start = job.resources.index(job.current_resource) if job.current_resource in job.resources else 0
        for name in job.resources[start:]:
            _save_running(job, current_resource=name)
            _run_resource(job, name, client, ctx)
        _save_running(job, status=Status.COMPLETED, current_resource="", finished_at=timezone.now())
        logger.info("shopify backfill completed", extra={"store": store.slug, "job": job.pk, "counts": job.counts})
        return job
    except BackfillStopped:
        job.refresh_from_db()
        logger.info("shopify backfill stopped", extra={"store": store.slug, "job": job.pk, "reason": job.error})
        return job
    except Exception as exc:
        _save(job, status=Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        logger.warning("shopify backfill failed", extra={"store": store.slug, "job": job.pk, "error": str(exc)[:300]})
        raise
    finally:
        if own_client:
            client.close()


def progress(job: BackfillJob) -> dict:
    """What the dashboard shows: per resource done/total and an overall percentage."""
    rows, done_all, total_all = [], 0, 0
    position = job.resources.index(job.current_resource) if job.current_resource in job.resources else None
    for index, name in enumerate(job.resources):
        done, total = job.counts.get(name, 0), job.totals.get(name)
        finished = job.status == Status.COMPLETED or (position is not None and index < position)
        rows.append({"name": name, "done": done, "total": total, "rejected": job.counts.get(f"{name}_rejected", 0),
                     "finished": finished, "current": index == position and job.status == Status.RUNNING})
        if total:
            done_all += total if finished else min(done, total)
            total_all += total
    percent = 100 if job.status == Status.COMPLETED else (int(done_all * 100 / total_all) if total_all else None)
    return {"resources": rows, "percent": percent, "stalled": is_stalled(job)}
