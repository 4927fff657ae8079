"""Home: store totals, orders/revenue chart, recent orders, worker status and texts queued; store switching."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from textpilot.analytics import service as analytics
from textpilot.commerce import service as commerce_service
from textpilot.delivery import queries as delivery_queries
from textpilot.stores import service as stores_service
from textpilot.stores.middleware import SESSION_KEY
from textpilot.common import queue_status
from textpilot.common.dashboard import dashboard_view, page

OVERVIEW_DAYS = 30


@dashboard_view
def home(request):
    store = request.store
    series = analytics.daily_orders(store, OVERVIEW_DAYS)
    return page(
        request, "web/home.html", "home",
        overview=analytics.store_overview(store, OVERVIEW_DAYS),
        chart=analytics.chart_data(series),
        recent_orders=commerce_service.recent_orders(store, 10),
        queue=queue_status.describe(),
        queued_texts=delivery_queries.queued_texts(store),
    )


@login_required
@require_POST
def switch_store(request):
    try:
        store_id = int(request.POST.get("store_id", ""))
    except ValueError:
        raise PermissionDenied("not one of your stores") from None
    store = stores_service.stores_for_user(request.user).filter(pk=store_id).first()
    if store is None:
        raise PermissionDenied("not one of your stores")
    request.session[SESSION_KEY] = store.pk
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "web:home"
    return redirect(target)
