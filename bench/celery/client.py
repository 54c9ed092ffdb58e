"""Client-side figures for Python Celery through its normal API (add.delay, AsyncResult.get), timed in-process.
Usage: client.py enqueue-awaited N | enqueue-inflight N THREADS | roundtrip N WARMUP. Prints one JSON line."""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench_app import add


def timed(send, n):
    add.delay(0, 0)  # connects broker and backend before the clock starts, as every driver does
    start = time.perf_counter()
    send(n)
    return {"seconds": time.perf_counter() - start}


def awaited(n):
    for i in range(n):
        add.delay(i, i)


def in_flight(threads):
    # Celery's client is synchronous: a thread pool is how a Python program keeps many sends in flight.
    def send(n):
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: add.delay(i, i), range(n)))
    return send


def roundtrip(n, warmup):
    latencies = []
    for i in range(warmup + n):
        start = time.perf_counter()
        add.delay(i, i).get(timeout=10)
        if i >= warmup:
            latencies.append((time.perf_counter() - start) * 1000)
    return {"ms": latencies}


if __name__ == "__main__":
    command, *numbers = sys.argv[1:]
    a = [int(x) for x in numbers]
    if command == "enqueue-awaited":
        out = timed(awaited, a[0])
    elif command == "enqueue-inflight":
        out = timed(in_flight(a[1]), a[0])
    elif command == "roundtrip":
        out = roundtrip(a[0], a[1])
    else:
        sys.exit(f"unknown command {command}")
    print(json.dumps(out))
