"""The Python Celery side of the benchmark: one no-op task, bench.add, on the Redis given by BENCH_REDIS.
Loaded by the worker (`celery -A bench_app worker`) and by client.py; the settings are Debian Celery 5.2's defaults
except where a comment says why."""
import os

from celery import Celery

redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
app = Celery("bench", broker=f"{redis}/0", backend=f"{redis}/1")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Safe throughput: the message is acknowledged only after the result is stored, so a crash loses nothing.
    task_acks_late=os.environ.get("BENCH_ACKS_LATE") == "1",
    # The harness owns this Redis; an unreachable broker should fail the run at once, not retry quietly.
    broker_connection_retry_on_startup=False,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.add")
def add(x, y):
    return x + y
