// Python-style repr() of plain data, for argsrepr/kwargsrepr and event fields that Python tools display.

const MAX = 1024; // Celery truncates argsrepr/kwargsrepr for display at about this size.

/** Python's repr() of plain data (`[1, 'a']`, `{'k': None}`), cut to `maxLength` characters with '...'. */
export function pyRepr(value: unknown, maxLength = MAX): string {
  const text = repr(value, 0);
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}

function repr(v: unknown, depth: number): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return quote(v);
  if (depth > 8) return '...';
  if (Array.isArray(v)) return `[${v.map((x) => repr(x, depth + 1)).join(', ')}]`;
  if (v instanceof Date) return quote(v.toISOString());
  if (v instanceof Uint8Array) return `b${quote(Buffer.from(v).toString('latin1'))}`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${quote(k)}: ${repr(x, depth + 1)}`).join(', ')}}`;
  }
  return quote(String(v));
}

function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}
