// The module a benchmark worker loads with `celeriac worker -A`: the app from tasks.mjs, configured by environment.
import { createApp } from './tasks.mjs';

export const { app } = createApp(process.env.BENCH_REDIS, { acksLate: process.env.BENCH_ACKS_LATE === '1' });
