// Stack traces a user reads: their own frames, without celeriac's internals, Node's internals or tsx's loader frames.

import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const OWN_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INTERNAL_DIRS = ['dist', 'src', 'bin'].map((d) => `${OWN_ROOT}${d}${sep}`);
const INTERNAL_PACKAGES = ['tsx', 'esbuild', 'celeriac'].map((name) => `${sep}node_modules${sep}${name}${sep}`);

/**
 * The stack text without frames from celeriac itself, `node:` internals, tsx and anonymous built-ins; the header
 * (`Name: message`, possibly several lines) stays. With no user frame left, only the header remains.
 */
export function userStack(stack: string): string {
  return stack.split('\n').filter((line) => !isInternalFrame(line)).join('\n');
}

/**
 * What to print under a message that already names the error: the source excerpt Node puts before a SyntaxError's
 * header (`file:line`, the code, a caret), then the `    at …` lines of userStack(stack).
 */
export function userFrames(error: Error): string {
  const stack = error.stack ?? '';
  const header = stack.indexOf(`${error.name}:`);
  const excerpt = header > 0 ? stack.slice(0, header).trimEnd() : '';
  const frames = userStack(stack).split('\n').filter((line) => /^\s+at /.test(line));
  return [excerpt, ...frames].filter(Boolean).join('\n');
}

function isInternalFrame(line: string): boolean {
  const frame = /^\s+at (.*)$/.exec(line);
  if (!frame) return false;
  // `fn (location)` or a bare `location`; a location is `path:line:col`, `node:…`, `<anonymous>` or `index n`.
  const location = /\(([^()]*)\)$/.exec(frame[1]!)?.[1] ?? frame[1]!;
  if (location.startsWith('node:') || location === '<anonymous>' || location === 'native' || /^index \d+$/.test(location)) return true;
  let path = location.replace(/:\d+(:\d+)?$/, '');
  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path);
    } catch {
      return false;
    }
  }
  return INTERNAL_DIRS.some((d) => path.startsWith(d)) || INTERNAL_PACKAGES.some((p) => path.includes(p));
}
