"""Python Celery (Debian's 5.2 with python3-cryptography) side of tests/interop/signing.test.ts: an app set up
with setup_security() that signs its tasks and results, as a worker or as a client.

usage: py_signing.py worker BROKER BACKEND KEY CERT STORE
       py_signing.py call BROKER BACKEND KEY CERT STORE TASK ARGS_JSON
       py_signing.py unsigned BROKER BACKEND TASK ARGS_JSON     (a plain json client: sends without signing)
       py_signing.py inspect BROKER BACKEND KEY CERT STORE      (a signed `inspect ping` of every worker)
"""
import json
import sys

from celery import Celery

mode, broker, backend = sys.argv[1:4]
app = Celery("signing", broker=broker, backend=backend)
app.conf.update(enable_utc=True, worker_hijack_root_logger=False)


@app.task(name="signing.add")
def add(x, y):
    return x + y


def emit(obj):
    print(json.dumps(obj), flush=True)


if mode == "unsigned":
    task, args = sys.argv[4], json.loads(sys.argv[5])
    r = app.send_task(task, args=args, serializer="json")
    emit({"id": r.id})
    sys.exit(0)

key, cert, store = sys.argv[4:7]
app.conf.update(
    security_key=key, security_certificate=cert, security_cert_store=store, security_digest="sha256",
    task_serializer="auth", result_serializer="auth", event_serializer="auth", accept_content=["auth"],
)
app.setup_security()

if mode == "worker":
    app.worker_main(["worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", "2",
                     "--without-gossip", "--without-mingle", "--task-events", "--hostname", "py@signing"])
elif mode == "call":
    task, args = sys.argv[7], json.loads(sys.argv[8])
    r = app.send_task(task, args=args)
    got = r.get(timeout=30, propagate=False)
    emit({"id": r.id, "state": r.state, "result": got if r.state == "SUCCESS" else repr(got)})
elif mode == "inspect":
    emit(app.control.inspect(timeout=30, limit=1).ping() or {})
else:
    raise SystemExit(f"unknown mode {mode}")
