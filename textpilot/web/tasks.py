"""Periodic housekeeping tasks of the dashboard/worker."""
from huey import crontab
from huey.contrib.djhuey import periodic_task

from textpilot.common.queue_status import record_worker_heartbeat


@periodic_task(crontab(minute="*"), name="web.worker_heartbeat")
def worker_heartbeat():
    record_worker_heartbeat()
