// Real servers for the `servers` test project: Debian's redis-server, rabbitmq-server, PostgreSQL and memcached, each
// on a free loopback port with a private temp dir, stopped by PID. A missing binary or a server that does not come up throws
// an error naming the Debian package to install: the suite never skips a broker.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server this process started; `stop` ends it by PID and removes its temp dir. */
export interface ServerHandle {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A private redis-server that can be stopped and started again on the same port (restart tests). */
export interface RedisServer extends ServerHandle {
  readonly dir: string;
  /** Start it again after `halt()`, same port and options. */
  start(): Promise<void>;
  /** Stop the process (SIGTERM, or `signal`: SIGKILL for a crash) but keep the handle (and port) for `start()`. */
  halt(signal?: NodeJS.Signals): Promise<void>;
}

/** Raised when a server binary is missing or a server does not come up. */
export class ServerSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerSetupError';
  }
}

const isRoot = process.getuid?.() === 0;
const live = new Set<number>();
// Last resort if the runner is killed: no server outlives the test process.
process.once('exit', () => {
  for (const pid of live) {
    killGroup(pid);
  }
});

/** SIGKILL a server's whole process group (each server is spawned detached, as a group leader). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A port nobody listens on right now (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function missing(what: string, pkg: string): never {
  throw new ServerSetupError(`${what} is not installed. Install the Debian package: apt-get install -y ${pkg}`);
}

function onPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function userIds(name: string, pkg: string): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) missing(`The system user '${name}'`, pkg);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function privateDir(name: string, owner?: { uid: number; gid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), `celeriac-${name}-`));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it resolves true; on timeout throw with the server's log tail. */
async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess | null, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new ServerSetupError(`${what} exited with code ${child.exitCode} while starting:\n${log().slice(-3000)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new ServerSetupError(`${what} did not become healthy within ${timeoutMs} ms:\n${log().slice(-3000)}`);
    await sleep(100);
  }
}

function tail(file: string): () => string {
  return () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
}

function spawnServer(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; user?: { uid: number; gid: number }; logFile: string }): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so helpers it forks (RabbitMQ's beam under a shell) can be killed with it.
    detached: true,
    ...(options.user ?? {}),
  });
  const append = (b: Buffer) => writeFileSync(options.logFile, b, { flag: 'a' });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  if (child.pid) live.add(child.pid);
  child.once('exit', () => child.pid && live.delete(child.pid));
  return child;
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when the process is gone. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  if (child.pid) killGroup(child.pid);
}

/** Send one RESP command over a raw socket and resolve with the first reply line (health checks without retries). */
function respLine(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.setTimeout(1000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (b) => {
      data += b.toString();
      if (data.includes('\r\n')) {
        sock.end();
        resolve(data.split('\r\n')[0]!);
      }
    });
    sock.on('error', reject);
  });
}

/** Whether something accepts TCP connections on the port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.on('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

export interface RedisOptions {
  /** Reuse a port (default: a free one). */
  port?: number;
  /** `--requirepass`: clients must AUTH. */
  password?: string;
  /** Extra redis-server arguments, e.g. ['--user', 'alice on >pw ~* +@all']. */
  args?: string[];
}

/** Start a private redis-server (no persistence, loopback only) and wait for PING. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = onPath('redis-server') ?? missing('redis-server', 'redis-server');
  const port = options.port ?? (await freePort());
  const dir = privateDir('redis');
  const logFile = join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no'];
  if (options.password) args.push('--requirepass', options.password);
  args.push(...(options.args ?? []));
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = spawnServer(bin, args, { cwd: dir, logFile });
    // NOAUTH still proves the server is up when it has a password.
    await waitFor(`redis-server on port ${port}`, async () => /^(\+PONG|-NOAUTH)/.test(await respLine(port, 'PING')), child, tail(logFile), 10_000);
  };
  const halt = async (signal?: NodeJS.Signals) => {
    if (child) await stopChild(child, signal);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    start,
    halt,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Sentinel (redis-server --sentinel) on a free loopback port, monitoring the master on `masterPort`. */
export async function startRedisSentinel(masterPort: number, masterName = 'mymaster'): Promise<ServerHandle> {
  const bin = onPath('redis-server') ?? missing('redis-server', 'redis-server');
  const port = await freePort();
  const dir = privateDir('sentinel');
  const logFile = join(dir, 'sentinel.log');
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it lives in the private dir.
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`, `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`, `sentinel down-after-milliseconds ${masterName} 5000`, ''].join('\n'));
  const child = spawnServer(bin, [conf, '--sentinel'], { cwd: dir, logFile });
  await waitFor(`redis sentinel on port ${port}`, async () => /^\+PONG/.test(await respLine(port, 'PING')), child, tail(logFile), 10_000);
  return {
    url: `sentinel://127.0.0.1:${port}`,
    port,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function rabbitBin(name: string): string {
  const p = `/usr/lib/rabbitmq/bin/${name}`;
  return existsSync(p) ? p : missing(`RabbitMQ (${p})`, 'rabbitmq-server');
}

/** Start a private RabbitMQ node with its own epmd, data dir and cookie; healthy once an AMQP handshake succeeds. */
export async function startRabbitMQ(): Promise<ServerHandle> {
  const server = rabbitBin('rabbitmq-server');
  const epmdBin = onPath('epmd') ?? missing('epmd (Erlang)', 'rabbitmq-server');
  const user = userIds('rabbitmq', 'rabbitmq-server');
  const [port, distPort, epmdPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const dir = privateDir('rabbitmq', user);
  const logFile = join(dir, 'server.log');
  // A private cookie in a private HOME: the node and rabbitmqctl-style tools never touch /var/lib/rabbitmq.
  writeFileSync(join(dir, '.erlang.cookie'), `CELERIAC${port}${Date.now()}`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  for (const f of ['.erlang.cookie', 'enabled_plugins']) {
    if (user) chownSync(join(dir, f), user.uid, user.gid);
  }
  chmodSync(join(dir, '.erlang.cookie'), 0o400);
  const loopbackDist = '-kernel inet_dist_use_interface {127,0,0,1}';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `celeriac${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackDist,
    RABBITMQ_CTL_ERL_ARGS: loopbackDist,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
  };
  // Our own epmd on a private port, so stopping it cannot disturb anybody else's Erlang nodes.
  const epmd = spawnServer(epmdBin, ['-port', String(epmdPort), '-address', '127.0.0.1'], { env, cwd: dir, user, logFile: join(dir, 'epmd.log') });
  const node = spawnServer(server, [], { env, cwd: dir, user, logFile });
  const stop = async () => {
    await stopChild(node);
    await stopChild(epmd);
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}//`;
  try {
    await waitFor(`rabbitmq-server on port ${port}`, async () => (await portOpen(port)) && (await amqpHandshake(port)), node, tail(logFile), 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, stop };
}

/** A full AMQP connection open (protocol header, auth as guest from loopback) then close. */
async function amqpHandshake(port: number): Promise<boolean> {
  const amqp = await import('amqplib');
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  await conn.close();
  return true;
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/initdb'))) : [];
  const pick = versions.includes('15') ? '15' : versions.sort((a, b) => Number(b) - Number(a))[0];
  return pick ? join(root, pick, 'bin') : missing('PostgreSQL (initdb under /usr/lib/postgresql/15/bin)', 'postgresql');
}

/** Initialise and start a private PostgreSQL cluster: loopback only, password auth (postgres/postgres). */
export async function startPostgres(): Promise<ServerHandle> {
  const bin = postgresBinDir();
  const user = userIds('postgres', 'postgresql');
  const port = await freePort();
  const dir = privateDir('postgres', user);
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, 'postgres\n');
  if (user) chownSync(pwfile, user.uid, user.gid);
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    cwd: dir,
    encoding: 'utf8',
    ...(user ?? {}),
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new ServerSetupError(`initdb failed (${init.status}):\n${init.stdout}${init.stderr}`);
  }
  mkdirSync(join(dir, 'sock'), { recursive: true });
  if (user) chownSync(join(dir, 'sock'), user.uid, user.gid);
  const child = spawnServer(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', join(dir, 'sock'), '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    { cwd: dir, user, logFile },
  );
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    // SIGINT is PostgreSQL's "fast" shutdown.
    await stopChild(child, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`PostgreSQL on port ${port}`, () => selectOne(url), child, tail(logFile), 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, stop };
}

async function selectOne(url: string): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Start a private memcached (loopback only, no UDP, 64 MB) in the foreground, healthy once it answers `version`. */
export async function startMemcached(): Promise<ServerHandle> {
  const bin = onPath('memcached') ?? missing('memcached', 'memcached');
  const port = await freePort();
  const dir = privateDir('memcached');
  const logFile = join(dir, 'memcached.log');
  // memcached refuses to run as root unless told which user to be.
  const child = spawnServer(bin, ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', ...(isRoot ? ['-u', 'root'] : [])], { cwd: dir, logFile });
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`memcached on port ${port}`, async () => /^VERSION /.test(await respLine(port, 'version')), child, tail(logFile), 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `memcached://127.0.0.1:${port}/`, port, stop };
}
