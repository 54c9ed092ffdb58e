"""Python Celery (Debian's 5.2) side of tests/interop/values.test.ts: sends values a JS port could change
(integers past 2**53, bytes, naive datetimes) and prints one JSON line saying what came back.

usage: values_peer.py BROKER BACKEND CASE
"""
import datetime
import json
import sys

from celery import Celery
from kombu.exceptions import EncodeError

broker, backend, case = sys.argv[1:4]
app = Celery("values", broker=broker, backend=backend)
app.conf.update(accept_content=["json", "msgpack"], result_accept_content=["json", "msgpack"], enable_utc=True)
# Celery reads stored results with its own result_serializer (the backend keeps no content type): match the worker's.
app.conf.result_serializer = "msgpack" if case.startswith("msgpack") else "json"
BIG = [2**63 - 1, -(2**63), 2**64 - 1, 10**30]


def emit(obj):
    print(json.dumps(obj))


if case == "json-big":
    r = app.send_task("values.echo", args=BIG, serializer="json", queue="values-json")
    got = r.get(timeout=30)
    emit({"exact": got == BIG, "got": repr(got)})
elif case == "msgpack-big-bytes":
    sent = BIG[:3] + [b"\x00\xff\xfe", "text"]
    r = app.send_task("values.echo", args=sent, serializer="msgpack", queue="values-msgpack")
    got = r.get(timeout=30)
    emit({"exact": got == sent, "got": repr(got)})
elif case == "json-bytes":
    try:
        app.send_task("values.echo", args=[b"\x00\xff"], serializer="json", queue="values-json")
        emit({"error": None})
    except EncodeError as e:
        emit({"error": type(e).__name__})
elif case == "naive-eta":
    # What a Python user writes: naive UTC datetimes (Celery sends them without an offset).
    eta = datetime.datetime.utcnow() + datetime.timedelta(seconds=3)
    expires = datetime.datetime.utcnow() + datetime.timedelta(seconds=120)
    r = app.send_task("values.when", eta=eta, expires=expires, queue="values-json")
    got = r.get(timeout=60, propagate=False)
    if r.state != "SUCCESS":
        emit({"state": r.state, "sent_eta": eta.isoformat(), "result": repr(got)})
    else:
        due = eta.replace(tzinfo=datetime.timezone.utc).timestamp()
        emit({"state": r.state, "sent_eta": eta.isoformat(), "seen_eta": got["eta"], "late_by": got["ran_at"] - due})
else:
    raise SystemExit(f"unknown case {case}")
