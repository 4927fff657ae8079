"""Dashboard: the Shopify page (connect form, webhook health, backfill with progress).

Owners connect (the token is checked with Shopify first), disconnect, start/resume backfills,
retry failed deliveries and download data-request exports; staff see the same page
read-only. Secrets are never shown back."""
from functools import partial

from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from textpilot.common.errors import DomainError, NotFound
from textpilot.common.http import is_public_https, public_address
from textpilot.integrations.shopify.models import BackfillJob
from textpilot.integrations.shopify import backfill, connections, privacy, processing
from textpilot.common.dashboard import DashboardForm
from textpilot.common.dashboard import dashboard_view, is_owner, page, require_owner

NAV = "integrations"


class ShopifyConnectForm(DashboardForm):
    shop_domain = forms.CharField(label="Shop domain", max_length=255, required=False, help_text="your-shop.myshopify.com")
    access_token = forms.CharField(
        label="Admin API access token", max_length=255, required=False, widget=forms.PasswordInput(render_value=False),
        help_text="From your custom app (shpat_…). Leave empty to keep the saved one.",
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret", max_length=255, required=False, widget=forms.PasswordInput(render_value=False),
        help_text="The app's API secret key. Leave empty to keep the saved one.",
    )
    api_version = forms.CharField(label="API version", max_length=16, required=False, help_text="e.g. 2025-01")


def _page(request, form=None, status=200):
    store = request.store
    connection = connections.get_connection(store)
    if form is None:
        initial = {"shop_domain": connection.shop_domain, "api_version": connection.api_version} if connection else {}
        form = ShopifyConnectForm(initial=initial)
    job = backfill.latest_job(store)
    webhook_url = public_address(request, reverse("shopify_webhook", args=[store.slug]))
    return page(
        request, "shopify/shopify.html", NAV, status=status,
        connection=connection, form=form, can_edit=is_owner(request), health=processing.delivery_health(store),
        job=job, progress=backfill.progress(job) if job else None, topics=processing.TOPICS,
        webhook_url=webhook_url, webhook_url_public=is_public_https(webhook_url),
    )


@dashboard_view
def shopify(request):
    return _page(request)


@dashboard_view
@require_POST
def shopify_connect(request):
    require_owner(request)
    form = ShopifyConnectForm(request.POST)
    if not form.is_valid():
        form.check_rest(partial(connections.check_connection, request.store), form.cleaned_data)  # every field at once
    else:
        try:
            # One Admin API call proves the token opens this shop before anything is saved.
            connection = connections.connect_shop(request.store, **form.cleaned_data, verify=True)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"Shopify shop {connection.shop_domain} connected: Shopify accepted the access token. "
                                      "Add the webhook URL below to your app's webhooks.")
            return redirect("shopify:page")
    form.mark_invalid()
    return _page(request, form=form, status=422)


@dashboard_view
@require_POST
def shopify_disconnect(request):
    require_owner(request)
    try:
        domain, stopped = connections.disconnect_shop(request.store)
    except NotFound:
        messages.info(request, "No Shopify shop is connected.")
    else:
        note = " Its backfill stopped." if stopped else ""
        messages.success(request, f"{domain} disconnected: its webhooks are refused from now on.{note} Customers, orders "
                                  "and events already imported stay.")
    return redirect("shopify:page")


def _enqueue_backfill(job_id: int) -> None:
    from textpilot.integrations.shopify.tasks import run_shopify_backfill

    run_shopify_backfill(job_id)


@dashboard_view
@require_POST
def backfill_start(request):
    require_owner(request)
    try:
        job = backfill.start_backfill(request.store)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _enqueue_backfill(job.pk)
        messages.success(request, "Backfill started: products, customers, orders and abandoned checkouts.")
    return redirect("shopify:page")


@dashboard_view
@require_POST
def backfill_resume(request, job_id: int):
    require_owner(request)
    try:
        job = backfill.resume_backfill(request.store, job_id)
    except NotFound:
        raise Http404("no such backfill in this store") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        _enqueue_backfill(job.pk)
        messages.success(request, "Backfill resumed from where it stopped.")
    return redirect("shopify:page")


@dashboard_view
def backfill_progress(request, job_id: int):
    """The progress panel alone; htmx polls it while the job is queued or running."""
    job = BackfillJob.objects.filter(store=request.store, source=backfill.SOURCE, pk=job_id).first()
    if job is None:
        raise Http404("no such backfill in this store")
    return page(request, "shopify/_shopify_backfill.html", NAV, job=job, progress=backfill.progress(job), can_edit=is_owner(request))


@dashboard_view
@require_POST
def delivery_retry(request, delivery_id: int):
    require_owner(request)
    try:
        delivery = processing.retry_delivery(request.store, delivery_id)
    except NotFound:
        raise Http404("no such webhook delivery in this store") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        processing.enqueue(delivery.pk)
        messages.success(request, f"Webhook {delivery.topic} queued again.")
    return redirect("shopify:page")


@dashboard_view
def data_request_export(request, delivery_id: int):
    require_owner(request)
    try:
        exports = privacy.export_for_request(request.store, delivery_id)
    except NotFound:
        raise Http404("no such data request in this store") from None
    response = JsonResponse({"profiles": exports}, encoder=DjangoJSONEncoder, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="shopify-data-request-{delivery_id}.json"'
    response["Cache-Control"] = "no-store"
    return response
