#!/usr/bin/env python3
"""Canvas interop: the shared harness (py_celery.py) plus what canvas tests need, for Debian's Python Celery 5.2.x.

Imports the harness module given by --harness (its app and interop.* tasks), adds a few tasks, and offers:

  worker ...                 the harness worker, with the extra tasks registered
  canvas SPEC_JSON           send a canvas and print {"id", "state", "result", "type"}; the result is fully
                             resolved (a GroupResult becomes the list of its values, nested too). A JSON list
                             of SPECs sends each in turn and prints the list of outcomes.
  send NAME ARGS [KWARGS]    send any task (a builtin, say) and print its outcome like canvas; NAME "-" with
                             ARGS a JSON list of [NAME, ARGS, KWARGS] sends each in turn and prints the list
  dict SPEC_JSON             print the signature dict Python builds for SPEC (no broker needed)

SPEC grammar (a superset of the harness's):
  {"task": NAME, "args": [...], "kwargs": {...}, "options": {...}, "immutable": true|false}
  {"chain": [SPEC, ...]}  {"group": [SPEC, ...]}  {"chord": [SPEC, ...], "body": SPEC}
  {"chunks": NAME, "it": [[...], ...], "n": N}  {"map": NAME, "it": [...]}  {"starmap": NAME, "it": [[...]]}
  any node may add "link": [SPEC, ...], "link_error": [SPEC, ...] and "options": {...} (apply_async options)

Extra tasks: canvas.replace_with(spec) replaces itself with the canvas SPEC; canvas.record(*args) returns
{"args": args} (an errback target); canvas.slow_add(x, y, seconds) sleeps first.
"""
import argparse
import importlib.util
import json
import sys
import time


def load_harness(path):
    spec = importlib.util.spec_from_file_location("py_celery", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["py_celery"] = module
    spec.loader.exec_module(module)
    return module


def main():
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--harness", required=True)
    known, rest = pre.parse_known_args()
    h = load_harness(known.harness)
    app = h.app
    from celery import chain, chord, group, signature
    from celery.result import AsyncResult, GroupResult, ResultBase, result_from_tuple

    def build(spec):
        if "chain" in spec:
            node = chain(*[build(s) for s in spec["chain"]])
        elif "group" in spec:
            node = group(*[build(s) for s in spec["group"]])
        elif "chord" in spec:
            node = chord([build(s) for s in spec["chord"]], build(spec["body"]))
        elif "chunks" in spec:
            node = app.tasks[spec["chunks"]].chunks(spec["it"], spec["n"])
        elif "map" in spec:
            node = app.tasks[spec["map"]].map(spec["it"])
        elif "starmap" in spec:
            node = app.tasks[spec["starmap"]].starmap(spec["it"])
        else:
            node = signature(spec["task"], args=spec.get("args", []), kwargs=spec.get("kwargs", {}),
                             immutable=spec.get("immutable", False), app=app)
        for s in spec.get("link", []):
            node.link(build(s))
        for s in spec.get("link_error", []):
            node.link_error(build(s))
        return node

    @app.task(name="canvas.replace_with", bind=True)
    def replace_with(self, spec):
        return self.replace(build(spec))

    @app.task(name="canvas.record")
    def record(*args):
        return {"args": list(args)}

    @app.task(name="canvas.slow_add")
    def slow_add(x, y, seconds):
        time.sleep(float(seconds))
        return x + y

    def resolve(res, timeout):
        if isinstance(res, GroupResult):
            return [resolve(r, timeout) for r in res.results]
        value = res.get(timeout=timeout, propagate=False, disable_sync_subtasks=False)
        if isinstance(value, BaseException):
            return {"exc_type": type(value).__name__, "exc_message": [h._jsonable(a) for a in value.args]}
        if isinstance(value, ResultBase):
            return resolve(value, timeout)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)) and len(value) == 2 \
                and isinstance(value[0][0], str) and (value[1] is None or isinstance(value[1], list)):
            return resolve(result_from_tuple(value, app), timeout)
        return h._jsonable(value)

    def outcome(res, timeout):
        value = resolve(res, timeout)
        state = "SUCCESS" if isinstance(res, GroupResult) and res.successful() else res.state
        return {"id": res.id, "type": type(res).__name__, "state": state, "result": value}

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("canvas", "send", "dict"):
        sp = sub.add_parser(name)
        sp.add_argument("--broker")
        sp.add_argument("--backend")
        sp.add_argument("--timeout", type=float, default=30.0)
        if name == "send":
            sp.add_argument("name")
            sp.add_argument("args_json")
            sp.add_argument("kwargs_json", nargs="?")
            sp.add_argument("--options")
        else:
            sp.add_argument("spec_json")
    w = sub.add_parser("worker")
    w.add_argument("--broker")
    w.add_argument("--backend")
    w.add_argument("--queues")
    w.add_argument("--hostname", default="py@canvas")
    w.add_argument("--concurrency", type=int, default=4)
    args = p.parse_args(rest)
    if args.broker:
        app.conf.broker_url = args.broker
    if args.backend:
        app.conf.result_backend = args.backend

    if args.cmd == "worker":
        argv = ["worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", str(args.concurrency),
                "--without-gossip", "--without-mingle", "--hostname", args.hostname]
        if args.queues:
            argv += ["--queues", args.queues]
        app.worker_main(argv)
    elif args.cmd == "dict":
        h._emit(json.loads(json.dumps(build(json.loads(args.spec_json)))))
    elif args.cmd == "canvas":
        specs = json.loads(args.spec_json)
        run = lambda spec: outcome(build(spec).apply_async(**spec.get("options", {})), args.timeout)
        h._emit([run(s) for s in specs] if isinstance(specs, list) else run(specs))
    else:
        options = json.loads(args.options) if args.options else {}
        send = lambda name, a, kw: outcome(app.send_task(name, args=a, kwargs=kw or {}, **options), args.timeout)
        if args.name == "-":
            h._emit([send(*each) for each in json.loads(args.args_json)])
        else:
            h._emit(send(args.name, json.loads(args.args_json), json.loads(args.kwargs_json) if args.kwargs_json else {}))


if __name__ == "__main__":
    main()
