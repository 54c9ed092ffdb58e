#!/usr/bin/env node
// The celeriac command: runs the compiled CLI in this process (npm run build creates dist/). A clone that has not
// been installed or built gets the command to run instead of a stack trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = existsSync(new URL('../dist/cli/main.js', import.meta.url));
  process.stderr.write(built
    ? `Error: celeriac cannot start: ${error.message}\nInstall its dependencies: run \`npm install\` in ${root}\n`
    : `Error: celeriac is not built yet (${root}dist/ is missing).\nRun \`npm install && npm run build\` in ${root}, then try again.\n`);
  process.exit(78);
}
await cli.main(process.argv);
