// celeriac dashboard page: preact + htm from node_modules (no build step). Everything it shows comes from the
// dashboard's REST API (Flower's paths), polled once a second; actions POST to the same API.

import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const POLL_MS = 1000;

/** The token this page was served with: its API calls carry it, so they work where the API is closed to scripts. */
const PAGE_TOKEN = document.querySelector('meta[name="celeriac-page-token"]')?.content ?? '';

/** Call the API; the header tells the dashboard the call comes from its own page. */
async function api(path, { method = 'GET', body, form } = {}) {
  const headers = { 'X-Celeriac-Dashboard': PAGE_TOKEN };
  let payload;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  if (!res.ok) throw new Error(text || `${res.status} ${res.statusText}`);
  return text ? JSON.parse(text) : null;
}

/** Poll `path` every second while mounted; returns [data, error, reload]. */
function usePoll(path) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(() => {
    if (!path) return;
    api(path).then((d) => { setData(d); setError(null); }, (e) => setError(e.message));
  }, [path]);
  useEffect(() => {
    load();
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, [load]);
  return [data, error, load];
}

const time = (s) => (typeof s === 'number' ? new Date(s * 1000).toLocaleTimeString() : '');
const secs = (s) => (typeof s === 'number' ? `${s.toFixed(3)} s` : '');
const short = (id) => (id ? id.slice(0, 8) : '');

function Badge({ text }) {
  return html`<span class=${`badge ${text}`}>${text}</span>`;
}

function Workers({ flash }) {
  const [rows, error] = usePoll('api/dashboard/workers');
  const [open, setOpen] = useState(null);
  const act = (path, message) => api(path, { method: 'POST' }).then((r) => flash(r.message ?? message), (e) => flash(e.message));
  const refresh = () => api('api/workers?refresh=1').then(() => flash('Workers inspected'), (e) => flash(e.message));
  // An online worker that has not answered inspect yet (busy, or slow to start) is asked again, at most every 5 s.
  const asked = useRef(0);
  useEffect(() => {
    if (!(rows ?? []).some((w) => w.online && w.inspected === null) || Date.now() - asked.current < 5000) return;
    asked.current = Date.now();
    api('api/workers?refresh=1').catch(() => undefined);
  }, [rows]);
  return html`<section>
    <div class="bar"><h2>Workers</h2><button class="act" onClick=${refresh}>Refresh</button>${error && html`<span class="FAILURE">${error}</span>`}</div>
    <table id="workers">
      <thead><tr><th>Worker</th><th>Status</th><th>Software</th><th>Pool</th><th>Active</th><th>Processed</th><th>Succeeded</th><th>Failed</th><th>Retried</th><th>Load</th><th>Queues</th><th></th></tr></thead>
      <tbody>${(rows ?? []).map((w) => html`
        <tr class=${`row ${open === w.hostname ? 'sel' : ''}`} data-worker=${w.hostname} onClick=${() => setOpen(open === w.hostname ? null : w.hostname)}>
          <td class="mono">${w.hostname}</td>
          <td><${Badge} text=${w.online ? 'online' : 'offline'} /></td>
          <td>${w.sw_ident ?? ''} ${w.sw_ver ?? ''}</td>
          <td>${(w.pool ?? '').split(/[.:]/).slice(-2).join(':')} ${w.concurrency ?? ''}</td>
          <td>${w.active ?? ''}</td><td>${w.processed ?? ''}</td><td>${w.succeeded}</td><td>${w.failed}</td><td>${w.retried}</td>
          <td>${(w.loadavg ?? []).join(' ')}</td><td>${w.queues.join(', ')}</td>
          <td onClick=${(e) => e.stopPropagation()}>
            <button class="act" onClick=${() => act(`api/worker/pool/grow/${encodeURIComponent(w.hostname)}`)}>Grow</button>
            <button class="act" onClick=${() => act(`api/worker/pool/shrink/${encodeURIComponent(w.hostname)}`)}>Shrink</button>
            <button class="act danger" onClick=${() => confirm(`Shut down ${w.hostname}?`) && act(`api/worker/shutdown/${encodeURIComponent(w.hostname)}`)}>Shut down</button>
          </td>
        </tr>
        ${open === w.hostname && html`<tr><td colspan="12"><div class="grid2">
          <div><b>Registered tasks</b><pre>${w.registered.join('\n')}</pre></div>
          <div><b>Active</b> ${w.activeTasks.length} · <b>Reserved</b> ${w.reserved.length} · <b>Scheduled</b> ${w.scheduled.length}
            <pre>${JSON.stringify(w.activeTasks.map((t) => ({ id: t.id, name: t.name, args: t.args })), null, 1)}</pre></div>
        </div></td></tr>`}`)}
      </tbody>
    </table>
    ${rows && rows.length === 0 && html`<p class="muted">No worker seen yet.</p>`}
  </section>`;
}

function Actions({ flash }) {
  const [types] = usePoll('api/task/types');
  const [name, setName] = useState('');
  const [args, setArgs] = useState('[]');
  const [queue, setQueue] = useState('');
  const [rate, setRate] = useState('');
  const [soft, setSoft] = useState('');
  const [hard, setHard] = useState('');
  const apply = () => {
    let parsed;
    try { parsed = JSON.parse(args); } catch { return flash('Arguments must be a JSON array, e.g. [1, 2]'); }
    const body = queue ? { args: parsed, queue } : { args: parsed };
    api(`api/task/send-task/${encodeURIComponent(name)}`, { method: 'POST', body }).then((r) => flash(`Sent ${r['task-id']}`), (e) => flash(e.message));
  };
  const limit = (kind, form) => api(`api/task/${kind}/${encodeURIComponent(name)}`, { method: 'POST', form }).then((r) => flash(r.message), (e) => flash(e.message));
  return html`<section><h2>Task actions</h2>
    <div class="bar">
      <input list="task-names" placeholder="task name" value=${name} onInput=${(e) => setName(e.target.value)} id="action-task" />
      <datalist id="task-names">${(types?.['task-types'] ?? []).map((t) => html`<option value=${t} />`)}</datalist>
      <input placeholder="args (JSON)" value=${args} onInput=${(e) => setArgs(e.target.value)} size="14" id="action-args" />
      <input placeholder="queue" value=${queue} onInput=${(e) => setQueue(e.target.value)} size="10" id="action-queue" />
      <button class="act" onClick=${apply} disabled=${!name}>Apply</button>
      <span class="muted">|</span>
      <input placeholder="rate, e.g. 10/m" value=${rate} onInput=${(e) => setRate(e.target.value)} size="10" />
      <button class="act" disabled=${!name} onClick=${() => limit('rate-limit', { ratelimit: rate })}>Set rate limit</button>
      <input placeholder="soft s" value=${soft} onInput=${(e) => setSoft(e.target.value)} size="5" />
      <input placeholder="hard s" value=${hard} onInput=${(e) => setHard(e.target.value)} size="5" />
      <button class="act" disabled=${!name} onClick=${() => limit('timeout', { soft, hard })}>Set time limits</button>
    </div></section>`;
}

const STATES = ['All', 'PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];
const SORTS = [['', 'newest'], ['name', 'name'], ['state', 'state'], ['-received', 'received ↓'], ['-started', 'started ↓'], ['-runtime', 'runtime ↓']];

function Tasks({ flash, selected, select }) {
  const [search, setSearch] = useState('');
  const [state, setState] = useState('All');
  const [sort, setSort] = useState('');
  const query = new URLSearchParams({ limit: '100', state, ...(search ? { search } : {}), ...(sort ? { sort_by: sort } : {}) });
  const [tasks, error] = usePoll(`api/tasks?${query}`);
  const rows = Object.values(tasks ?? {});
  return html`<section>
    <div class="bar"><h2>Tasks</h2>
      <input type="search" placeholder="search (name, id, args, result:…, state:…)" size="36" value=${search} onInput=${(e) => setSearch(e.target.value)} id="task-search" />
      <select value=${state} onChange=${(e) => setState(e.target.value)} id="task-state">${STATES.map((s) => html`<option>${s}</option>`)}</select>
      <select value=${sort} onChange=${(e) => setSort(e.target.value)} id="task-sort">${SORTS.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select>
      ${error && html`<span class="FAILURE">${error}</span>`}
    </div>
    <table id="tasks">
      <thead><tr><th class="sort" onClick=${() => setSort(sort === 'name' ? '' : 'name')}>Name</th><th>UUID</th><th class="sort" onClick=${() => setSort(sort === 'state' ? '' : 'state')}>State</th><th>Args</th><th>Result</th><th class="sort" onClick=${() => setSort('-received')}>Received</th><th class="sort" onClick=${() => setSort('-runtime')}>Runtime</th><th>Worker</th></tr></thead>
      <tbody>${rows.map((t) => html`
        <tr class=${`row ${selected === t.uuid ? 'sel' : ''}`} data-task=${t.uuid} onClick=${() => select(t.uuid)}>
          <td>${t.name ?? ''}</td><td class="mono">${short(t.uuid)}</td><td><${Badge} text=${t.state} /></td>
          <td class="mono">${t.args ?? ''} ${t.kwargs && t.kwargs !== '{}' ? t.kwargs : ''}</td><td class="mono">${t.result ?? t.exception ?? ''}</td>
          <td>${time(t.received)}</td><td>${secs(t.runtime)}</td><td class="mono">${t.worker ?? ''}</td>
        </tr>`)}</tbody>
    </table>
    ${tasks && rows.length === 0 && html`<p class="muted">No task matches.</p>`}
  </section>`;
}

function TaskDetail({ id, flash, select }) {
  const [task, error] = usePoll(`api/task/info/${encodeURIComponent(id)}`);
  const revoke = (terminate) => api(`api/task/revoke/${encodeURIComponent(id)}${terminate ? '?terminate=true' : ''}`, { method: 'POST' })
    .then((r) => flash(r.message), (e) => flash(e.message));
  if (error) return html`<section id="task-detail"><p class="FAILURE">${error}</p></section>`;
  if (!task) return null;
  const fields = [
    ['UUID', task.uuid], ['Name', task.name], ['State', html`<${Badge} text=${task.state} />`], ['Worker', task.worker], ['Args', task.args], ['Kwargs', task.kwargs],
    ['Result', task.result], ['Exception', task.exception], ['Retries', task.retries], ['Sent', time(task.sent)], ['Received', time(task.received)],
    ['Started', time(task.started)], ['Succeeded', time(task.succeeded)], ['Failed', time(task.failed)], ['Revoked', time(task.revoked)], ['Runtime', secs(task.runtime)],
    ['ETA', task.eta], ['Expires', task.expires], ['Queue / key', [task.exchange, task.routing_key].filter((x) => x !== null).join(' / ')],
  ];
  const link = (tid) => html`<a href="#" class="mono" onClick=${(e) => { e.preventDefault(); select(tid); }}>${tid}</a>`;
  return html`<section id="task-detail">
    <div class="bar"><h2>Task ${task.name ?? ''}</h2>
      <button class="act danger" onClick=${() => revoke(false)}>Revoke</button>
      <button class="act danger" onClick=${() => revoke(true)}>Terminate</button>
      <button class="act" onClick=${() => select(null)}>Close</button></div>
    <dl>${fields.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => html`<dt>${k}</dt><dd data-field=${k}>${v}</dd>`)}
      ${task.parent_id && html`<dt>Parent</dt><dd>${link(task.parent_id)}</dd>`}
      ${task.root_id && task.root_id !== task.uuid && html`<dt>Root</dt><dd>${link(task.root_id)}</dd>`}
      ${task.children.length > 0 && html`<dt>Children</dt><dd>${task.children.map((c) => html`<div>${link(c)}</div>`)}</dd>`}
    </dl>
    ${task.traceback && html`<b>Traceback</b><pre>${task.traceback}</pre>`}
  </section>`;
}

function Queues() {
  const [data, error] = usePoll('api/queues/length');
  return html`<section><h2>Queues</h2>${error && html`<p class="FAILURE">${error}</p>`}
    <table id="queues"><thead><tr><th>Queue</th><th>Messages waiting</th></tr></thead>
      <tbody>${(data?.active_queues ?? []).map((q) => html`<tr data-queue=${q.name}><td class="mono">${q.name}</td><td>${q.messages}</td></tr>`)}</tbody></table>
  </section>`;
}

function App() {
  const [tab, setTab] = useState('overview');
  const [message, setMessage] = useState(null);
  const [selected, select] = useState(null);
  const flash = useCallback((text) => {
    setMessage(text);
    setTimeout(() => setMessage((m) => (m === text ? null : m)), 4000);
  }, []);
  const tabs = [['overview', 'Overview'], ['tasks', 'Tasks'], ['queues', 'Queues']];
  return html`
    <header><h1>celeriac</h1><nav>${tabs.map(([k, label]) => html`<button class=${tab === k ? 'on' : ''} onClick=${() => setTab(k)}>${label}</button>`)}</nav></header>
    <main>
      ${tab === 'overview' && html`<${Workers} flash=${flash} /><${Actions} flash=${flash} /><${Tasks} flash=${flash} selected=${selected} select=${select} />`}
      ${tab === 'tasks' && html`<${Tasks} flash=${flash} selected=${selected} select=${select} />`}
      ${selected && tab !== 'queues' && html`<${TaskDetail} id=${selected} flash=${flash} select=${select} />`}
      ${(tab === 'queues' || tab === 'overview') && html`<${Queues} />`}
    </main>
    ${message && html`<div id="flash">${message}</div>`}`;
}

render(html`<${App} />`, document.getElementById('app'));
