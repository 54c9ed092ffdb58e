#!/usr/bin/env node
// The celeriac command: runs the compiled CLI (npm run build creates dist/).
import { main } from '../dist/cli/main.js';

await main(process.argv);
