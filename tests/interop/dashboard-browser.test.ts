// The dashboard page in a real browser (Debian's chromium through playwright-core): a celeriac worker and a Python
// Celery worker show up online, a task appears live and its detail opens, a task is revoked from the page and its
// worker discards it. Saves a screenshot (docs/dashboard.png when CELERIAC_UPDATE_SCREENSHOTS=1).

import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import type { Proc } from './harness.js';
import { startCeleriacToolsWorker, startPythonToolsWorker } from './tools-harness.js';

const PY = 'py@dash';
const TS = 'ts@dash';
const WAIT = 60_000;
let redis: RedisServer;
let py: Proc;
let ts: Proc;
let app: Celery;
let dashboard: Dashboard;
let server: Server;
let browser: Browser;
let page: Page;
const shots = mkdtempSync(join(tmpdir(), 'dashboard-shots-'));

beforeAll(async () => {
  redis = await startRedis();
  const urls = { broker: redis.url, backend: redis.url.replace(/\/0$/, '/1') };
  app = new Celery('tools', { broker: urls.broker, backend: urls.backend });
  dashboard = createDashboard(app, { basicAuth: 'admin:pw' });
  await dashboard.ready;
  server = createServer(dashboard);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  [py, ts, browser] = await Promise.all([
    startPythonToolsWorker(urls, { hostname: PY, queues: 'py-dash', events: true }),
    startCeleriacToolsWorker(urls, { hostname: TS, queues: 'ts-dash', events: true }),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] }),
  ]);
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: 'pw' }, viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  await dashboard?.close();
  await Promise.all([py?.stop('SIGQUIT'), ts?.alive() ? ts.stop('SIGQUIT') : undefined]);
  await app?.close();
  await redis?.stop();
  rmSync(shots, { recursive: true, force: true });
});

const workerRow = (name: string) => page.locator(`#workers tr[data-worker="${name}"]`);
const taskRow = (id: string) => page.locator(`#tasks tr[data-task="${id}"]`);

describe('the dashboard page', { timeout: 180_000 }, () => {
  it('shows the celeriac worker and the Python worker online, with their software', async () => {
    await workerRow(PY).locator('.badge.online').waitFor({ timeout: WAIT });
    await workerRow(TS).locator('.badge.online').waitFor({ timeout: WAIT });
    expect(await workerRow(TS).textContent()).toContain('celeriac');
    expect(await workerRow(PY).textContent()).toContain('py-celery');
  });

  it('a task sent now appears live, and its detail opens with its result and worker', async () => {
    const python = await app.sendTask('tools.add', [2, 3], {}, { queue: 'py-dash' });
    const node = await app.sendTask('tools.add', [20, 22], {}, { queue: 'ts-dash' });
    await taskRow(python.id).locator('.badge.SUCCESS').waitFor({ timeout: 2 * WAIT });
    await taskRow(node.id).locator('.badge.SUCCESS').waitFor({ timeout: 2 * WAIT });
    await taskRow(node.id).click();
    const detail = page.locator('#task-detail');
    await detail.locator('dd[data-field="Result"]', { hasText: '42' }).waitFor({ timeout: WAIT });
    expect(await detail.locator('dd[data-field="Worker"]').textContent()).toBe(TS);
    expect(await detail.locator('dd[data-field="Args"]').textContent()).toBe('[20, 22]');
  });

  it('revokes a waiting task from the page; its worker discards it and the page shows REVOKED', async () => {
    // An ETA far enough out that the click comes first on a loaded machine; the worker holds it until then.
    const parked = await app.sendTask('tools.add', [1, 1], {}, { queue: 'ts-dash', countdown: 40 });
    await taskRow(parked.id).locator('.badge.RECEIVED').waitFor({ timeout: WAIT });
    await taskRow(parked.id).click();
    await page.locator('#task-detail dd[data-field="UUID"]', { hasText: parked.id }).waitFor({ timeout: WAIT });
    await page.locator('#task-detail button', { hasText: 'Revoke' }).click();
    await page.locator('#flash', { hasText: `Revoked '${parked.id}'` }).waitFor({ timeout: WAIT });
    await page.screenshot({ path: join(shots, 'dashboard.png') });
    await taskRow(parked.id).locator('.badge.REVOKED').waitFor({ timeout: 2 * WAIT });
    // The open detail refreshes on its own poll, after the row's.
    await page.locator('#task-detail dd[data-field="State"]', { hasText: 'REVOKED' }).waitFor({ timeout: WAIT });
    const png = readFileSync(join(shots, 'dashboard.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.CELERIAC_UPDATE_SCREENSHOTS === '1') copyFileSync(join(shots, 'dashboard.png'), join(repoRoot, 'docs/dashboard.png'));
  });
});
