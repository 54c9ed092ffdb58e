// The file-system result backend (file:///dir) against the shared contract, on a temporary directory.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openBackend } from '../../src/backends/index.js';
import { describeBackendConformance } from './backend.suite.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-file-conf-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeBackendConformance('file', {
  open: () => openBackend({ url: `file://${dir}`, serializer: 'json', options: {}, extended: false, expiresMs: 86_400_000 }),
});
