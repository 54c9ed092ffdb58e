// The physical limit of this Redis on this machine: redis-benchmark LPUSH/RPOP/SET/GET, without and with
// pipelining (-P 16), measured in the same run as the systems. Uses database 15, which no system touches.

import { spawn } from 'node:child_process';

export const CEILING_TESTS = ['LPUSH', 'RPOP', 'SET', 'GET'] as const;

/** ops/s per test, e.g. { 'LPUSH': 90000, 'LPUSH -P 16': 1000000, … } */
export type Ceiling = Record<string, number>;

function redisBenchmark(port: number, requests: number, pipeline: number): Promise<string> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '--dbnum', '15', '-n', String(requests), '-P', String(pipeline), '--csv', '-t', CEILING_TESTS.join(',').toLowerCase()];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-benchmark exited ${code}: ${err.trim()}`))));
  });
}

/** Runs both passes; the pipelined pass gets 5× the requests so it lasts long enough to be stable. */
export async function measureCeiling(port: number, requests: number): Promise<Ceiling> {
  const ceiling: Ceiling = {};
  for (const pipeline of [1, 16]) {
    const csv = await redisBenchmark(port, pipeline === 1 ? requests : requests * 5, pipeline);
    for (const line of csv.trim().split('\n').slice(1)) {
      const [test, rps] = line.split(',').map((f) => f.replace(/"/g, ''));
      ceiling[pipeline === 1 ? test : `${test} -P ${pipeline}`] = Number(rps);
    }
  }
  return ceiling;
}
