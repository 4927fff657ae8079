"""Run one function in several threads at once, for the tests of what happens when
dispatchers (or their lanes) work at the same moment."""
import threading

from django.db import connections


def at_once(fn, names) -> None:
    """Call fn(name) in one thread per name, released together by a barrier; each thread
    closes its database connections when done (a test database must be droppable)."""
    start = threading.Barrier(len(names))

    def run(name):
        try:
            start.wait()
            fn(name)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
