// Reads a V8 .cpuprofile (node --cpu-prof) into a short self-time table: the drain window only (from the first to
// the last sample inside a task execution, so start-up and shutdown do not count), by function and by area.

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
/** The parts of V8's profile format this reads. */
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Where a frame's code lives: our source, a package, Node itself, or V8's pseudo-frames. */
function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/dist\/(.+)$/.exec(url);
  return own ? `celeriac ${own[1].split('/').slice(0, -1).join('/') || '.'}` : url;
}

function place(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
  return file ? `${file}:${frame.lineNumber + 1}` : '';
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1).padStart(5)} %`;

/** The top `top` functions by self time and the share of each area, as a Markdown-ready text table. */
export function summarize(profile: CpuProfile, top: number, marker = 'executeTask'): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inside = new Map<number, boolean>();
  const isInside = (id: number): boolean => {
    let known = inside.get(id);
    if (known === undefined) {
      const p = parent.get(id);
      known = byId.get(id)!.callFrame.functionName === marker || (p !== undefined && isInside(p));
      inside.set(id, known);
    }
    return known;
  };
  const { samples, timeDeltas } = profile;
  let from = samples.findIndex((s) => isInside(s));
  let to = samples.length - 1;
  while (to > from && !isInside(samples[to])) to--;
  if (from < 0) from = 0;
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = from; i <= to; i++) {
    const dt = timeDeltas[i + 1] ?? 0;
    const frame = byId.get(samples[i])!.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${place(frame)}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    areas.set(area(frame), (areas.get(area(frame)) ?? 0) + dt);
    total += dt;
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `| ${pct(v, total)} | ${k} |`).join('\n');
  return [
    `Drain window ${(total / 1e6).toFixed(2)} s of samples. Self time by area:`,
    '', '| share | area |', '|---:|---|', rows(areas, 15), '',
    `Top ${top} functions by self time:`,
    '', '| share | function |', '|---:|---|', rows(self, top),
  ].join('\n');
}
