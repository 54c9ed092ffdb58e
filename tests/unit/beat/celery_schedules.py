"""Answers is_due/remaining_estimate questions with Python's celery.schedules (Debian's python3-celery).

stdin: a JSON list of cases {kind, spec, tz, last, now} (instants in epoch seconds); stdout: a JSON list of
{due, next, remaining} or {error} in the same order. Used by schedules-vs-python.test.ts.
"""
import json
import sys
from datetime import datetime, timedelta

import pytz
from celery import Celery
from celery.schedules import crontab, schedule, solar

apps = {}


def app_for(tz):
    if tz not in apps:
        app = Celery(set_as_current=False)
        app.conf.timezone = tz
        app.conf.enable_utc = True
        apps[tz] = app
    return apps[tz]


def at(app, epoch):
    return datetime.fromtimestamp(epoch, tz=pytz.utc).astimezone(app.timezone)


def build(case, app, nowfun):
    kind, spec = case['kind'], case['spec']
    if kind == 'crontab':
        return crontab(**spec, nowfun=nowfun, app=app)
    if kind == 'interval':
        return schedule(timedelta(seconds=spec['seconds']), relative=spec.get('relative', False), nowfun=nowfun, app=app)
    return solar(spec['event'], spec['lat'], spec['lon'], nowfun=nowfun, app=app)


out = []
for case in json.load(sys.stdin):
    app = app_for(case['tz'])
    now = at(app, case['now'])
    try:
        s = build(case, app, lambda now=now: now)
        last = at(app, case['last'])
        due, nxt = s.is_due(last)
        out.append({'due': bool(due), 'next': nxt, 'remaining': s.remaining_estimate(last).total_seconds()})
    except Exception as exc:  # the TS side expects an error for the same input
        out.append({'error': f'{type(exc).__name__}: {exc}'})
print(json.dumps(out))
