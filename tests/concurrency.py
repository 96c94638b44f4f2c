import threading

from django.db import connections


def run_together(count: int, work) -> list:
    """Run `work` in `count` threads released at the same moment by a barrier; return what
    each returned, or the exception it raised. Each thread closes its own database
    connection, or the test database could not be dropped afterwards."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = work()
        except Exception as error:  # handed to the test to inspect
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
