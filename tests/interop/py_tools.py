#!/usr/bin/env python3
"""Python-side helper for the Python-tools interop tests (Debian's python3-celery 5.2).

Run with /usr/bin/python3. Subcommands print JSON lines on stdout; Celery logs go to stderr.

  worker   --broker URL --backend URL --hostname NAME --queues a,b [--pool threads] [--events]
      A Python worker with the tools.* tasks below (the same names as tests/fixtures/tools-app.ts).

  events   --broker URL
      An event monitor as Flower runs one: celery.events.Receiver feeding celery.events.state.State.
      Prints READY once consuming, then "EVENT <json>" for every raw event. On SIGTERM prints "STATE <json>" (what State made of them:
      workers with alive/processed/active/freq/sw_*, tasks with state/name/worker/result/received) and exits.

  send     NAME ARGS_JSON --broker URL --backend URL [--queue Q] [--stamps JSON] [--countdown S]
           [--chain JSON] [--task-id ID] [--no-wait] [--timeout S] [--sent-event]
      Sends a task the way Celery 5.3+ writes a stamped message (5.2 cannot stamp, so the headers
      stamped_headers/stamps are written by hand). --chain is a list of {"task", "queue", "stamps"} steps run
      after it, each stamped in its signature options as 5.3+ stamps a canvas. Prints {"ids", "state", "result"}
      for the last step. --sent-event turns on task_send_sent_event (a task-sent event per message).
"""
import argparse
import json
import os
import signal
import sys
import time
import uuid

from celery import Celery, signature
from celery.events.state import State

app = Celery("tools")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    enable_utc=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


def _stamps(request):
    return {
        "stamped_headers": getattr(request, "stamped_headers", None),
        "stamps": getattr(request, "stamps", None),
    }


@app.task(name="tools.add")
def add(x, y):
    return x + y


@app.task(name="tools.sleep")
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@app.task(name="tools.fail")
def fail(message="boom"):
    raise ValueError(message)


@app.task(name="tools.stamps", bind=True)
def stamps(self, *args):
    return _stamps(self.request)


@app.task(name="tools.traceparent", bind=True)
def traceparent(self):
    # Where opentelemetry-instrumentation-celery reads the W3C context: the request's traceparent attribute.
    return {"traceparent": getattr(self.request, "traceparent", None), "tracestate": getattr(self.request, "tracestate", None)}


@app.task(name="tools.retry_once", bind=True, max_retries=3)
def retry_once(self):
    if self.request.retries < 1:
        raise self.retry(countdown=0.1)
    return _stamps(self.request)


def _emit(obj, prefix=None):
    line = json.dumps(obj, default=repr)
    print(f"{prefix} {line}" if prefix else line, flush=True)


def cmd_worker(args):
    app.conf.update(broker_url=args.broker, result_backend=args.backend)
    argv = ["worker", "--loglevel", "INFO", "--pool", args.pool, "--concurrency", "2", "--hostname", args.hostname,
            "--queues", args.queues, "--without-gossip", "--without-mingle"]
    if args.events:
        argv.append("--events")
    app.worker_main(argv)


def cmd_events(args):
    app.conf.update(broker_url=args.broker)
    state = State()

    def on_event(event):
        _emit(event, "EVENT")
        state.event(event)

    with app.connection() as conn:
        receiver = app.events.Receiver(conn, handlers={"*": on_event})

        def on_term(*_):
            receiver.should_stop = True

        signal.signal(signal.SIGTERM, on_term)
        consume_ready = receiver.on_consume_ready

        def on_consume_ready(*a, **kw):
            # The queue is declared and consumed: from here on no event is missed.
            print("READY", flush=True)
            return consume_ready(*a, **kw)

        receiver.on_consume_ready = on_consume_ready
        receiver.capture(limit=None, timeout=None, wakeup=True)
    workers = {
        name: {
            "alive": w.alive, "processed": w.processed, "active": w.active, "freq": w.freq, "loadavg": w.loadavg,
            "sw_ident": w.sw_ident, "sw_ver": w.sw_ver, "sw_sys": w.sw_sys,
        }
        for name, w in state.workers.items()
    }
    tasks = {
        tid: {
            "state": t.state, "name": t.name, "worker": t.worker.hostname if t.worker else None, "result": t.result,
            "received": t.received, "started": t.started, "succeeded": t.succeeded, "retries": t.retries,
            "exception": t.exception,
        }
        for tid, t in state.tasks.items()
    }
    _emit({"workers": workers, "tasks": tasks, "event_count": state.event_count, "task_count": state.task_count}, "STATE")


def cmd_send(args):
    app.conf.update(broker_url=args.broker, result_backend=args.backend, task_send_sent_event=args.sent_event)
    stamps = json.loads(args.stamps) if args.stamps else None
    options = {}
    if args.queue:
        options["queue"] = args.queue
    if args.countdown:
        options["countdown"] = args.countdown
    if stamps:
        options["headers"] = {"stamped_headers": list(stamps), "stamps": stamps}
    if args.headers:
        # Extra message headers, e.g. the traceparent opentelemetry-instrumentation-celery injects before publish.
        options["headers"] = {**options.get("headers", {}), **json.loads(args.headers)}
    ids = [args.task_id or str(uuid.uuid4())]
    chain = []
    for step in json.loads(args.chain) if args.chain else []:
        step_id = str(uuid.uuid4())
        ids.append(step_id)
        step_options = {"task_id": step_id, "queue": step["queue"]}
        if step.get("stamps"):
            step_options["stamped_headers"] = list(step["stamps"])
            step_options.update(step["stamps"])
        chain.append(dict(signature(step["task"], options=step_options)))
    if chain:
        options["chain"] = list(reversed(chain))
    app.send_task(args.name, json.loads(args.args_json), task_id=ids[0], **options)
    if args.no_wait:
        _emit({"ids": ids})
        return
    result = app.AsyncResult(ids[-1])
    deadline = time.time() + args.timeout
    while not result.ready() and time.time() < deadline:
        time.sleep(0.05)
    _emit({"ids": ids, "state": result.state, "result": result.result if result.state == "SUCCESS" else repr(result.result)})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    e = sub.add_parser("events")
    s = sub.add_parser("send")
    for sp in (w, e, s):
        sp.add_argument("--broker", required=True)
    for sp in (w, s):
        sp.add_argument("--backend", required=True)
    w.add_argument("--hostname", required=True)
    w.add_argument("--queues", required=True)
    w.add_argument("--pool", default="threads")
    w.add_argument("--events", action="store_true")
    s.add_argument("name")
    s.add_argument("args_json")
    s.add_argument("--queue")
    s.add_argument("--stamps")
    s.add_argument("--headers")
    s.add_argument("--countdown", type=float)
    s.add_argument("--chain")
    s.add_argument("--task-id")
    s.add_argument("--no-wait", action="store_true")
    s.add_argument("--sent-event", action="store_true")
    s.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    {"worker": cmd_worker, "events": cmd_events, "send": cmd_send}[args.cmd](args)


if __name__ == "__main__":
    main()
