#!/usr/bin/env node
// Before the test suite: make sure the servers it starts are installed (redis-server, rabbitmq-server,
// PostgreSQL 15, memcached, Python Celery from Debian). As root with apt-get, installs what is missing; otherwise says
// exactly what to install and fails — the suite never skips a broker.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const checks = [
  { what: 'redis-server', ok: () => onPath('redis-server'), packages: ['redis-server'] },
  { what: 'rabbitmq-server', ok: () => existsSync('/usr/sbin/rabbitmq-server') || onPath('rabbitmq-server'), packages: ['rabbitmq-server'] },
  { what: 'PostgreSQL 15', ok: () => existsSync('/usr/lib/postgresql/15/bin/initdb'), packages: ['postgresql'] },
  { what: 'memcached', ok: () => onPath('memcached'), packages: ['memcached'] },
  {
    what: 'Python Celery (Debian)',
    ok: () => spawnSync('/usr/bin/python3', ['-c', 'import celery, redis, msgpack, yaml, sqlalchemy, psycopg2, pylibmc'], { stdio: 'ignore' }).status === 0,
    packages: ['python3-celery', 'python3-redis', 'python3-msgpack', 'python3-yaml', 'python3-sqlalchemy', 'python3-psycopg2', 'python3-pylibmc'],
  },
];

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = checks.filter((c) => !c.ok());
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.flatMap((c) => c.packages))];
const isRoot = process.getuid?.() === 0;
if (!isRoot || !onPath('apt-get')) {
  console.error(`Missing for the test suite: ${missing.map((c) => c.what).join(', ')}.\nInstall them with:\n  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`);
  process.exit(1);
}
console.error(`Installing ${packages.join(' ')} (needed by the test suite)…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
// The packages try to start their services and fail without an init system: harmless, so the status is not checked.
spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
const still = checks.filter((c) => !c.ok());
if (still.length) {
  console.error(`Still missing after apt-get install: ${still.map((c) => c.what).join(', ')}.`);
  process.exit(1);
}
