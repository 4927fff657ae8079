"""Enqueue background tasks by name, so a service never imports a `tasks.py` (the tasks import
the services; the other way round is an import cycle).

Task names are `domain.action` (the `name=` given to Huey's decorators). Enqueue inside
`transaction.on_commit`, so the worker never sees a row that is rolled back."""
from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY


class UnknownTask(LookupError):
    pass


def _registered(name: str):
    # Huey keys its registry by "module.Name"; the Name part is the name= we gave. Huey has no
    # public lookup by that part, so read the registry it keeps (stable since Huey 2).
    return next((task for task in HUEY._registry._registry.values() if task.__name__ == name), None)


def task_named(name: str):
    task_class = _registered(name)
    if task_class is None:
        # Only the worker command imports every app's tasks.py; a web process that enqueues
        # by name imports them on first use.
        autodiscover_modules("tasks")
        task_class = _registered(name)
    if task_class is not None:
        return task_class
    raise UnknownTask(f"no background task named {name!r} is registered")


def enqueue_task(name: str, *args, **kwargs):
    """Enqueue now (outside a transaction, or when the caller handles failure itself)."""
    return HUEY.enqueue(task_named(name)(args=args, kwargs=kwargs))


def enqueue_on_commit(name: str, *args, **kwargs) -> None:
    """Enqueue once the current transaction commits (at once when there is none)."""
    task_named(name)  # fail now, inside the caller, if the name is wrong
    transaction.on_commit(lambda: enqueue_task(name, *args, **kwargs))
