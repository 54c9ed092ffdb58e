// Prometheus metrics with Flower's names and labels, so Flower's Grafana dashboards read celeriac unchanged:
// flower_events_total, flower_task_runtime_seconds, flower_task_prefetch_time_seconds, flower_worker_prefetched_tasks,
// flower_worker_online, flower_worker_number_of_currently_executing_tasks. Fed by the monitor's events (prom-client).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventFields } from '../protocol/events.js';
import { isAlive, type ClusterState } from './state.js';

/** prom-client's (and Python prometheus_client's) default histogram buckets, seconds: Flower's default. */
export const DEFAULT_RUNTIME_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Flower's metrics in their own prom-client Registry (nothing is added to prom-client's global one). */
export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'worker' | 'type' | 'task'>;
  private readonly runtime: Histogram<'worker' | 'task'>;
  private readonly prefetchTime: Gauge<'worker' | 'task'>;
  private readonly prefetched: Gauge<'worker' | 'task'>;
  private readonly executing: Gauge<'worker'>;

  /**
   * @param state the monitor's state: flower_worker_online is read from it when scraped (1 while heartbeats come
   *   in time, 0 after worker-offline or missed heartbeats).
   * @param buckets flower_task_runtime_seconds buckets (Flower's --task_runtime_metric_buckets), seconds.
   */
  constructor(state: ClusterState, buckets: readonly number[] = DEFAULT_RUNTIME_BUCKETS) {
    const registers = [this.registry];
    this.events = new Counter({ name: 'flower_events_total', help: 'Number of events', labelNames: ['worker', 'type', 'task'], registers });
    this.runtime = new Histogram({ name: 'flower_task_runtime_seconds', help: 'Task runtime', labelNames: ['worker', 'task'], buckets: [...buckets], registers });
    this.prefetchTime = new Gauge({
      name: 'flower_task_prefetch_time_seconds', help: 'The time the task spent waiting at the celery worker to be executed.', labelNames: ['worker', 'task'], registers,
    });
    this.prefetched = new Gauge({ name: 'flower_worker_prefetched_tasks', help: 'Number of tasks of given type prefetched at a worker', labelNames: ['worker', 'task'], registers });
    new Gauge({
      name: 'flower_worker_online', help: 'Worker online status', labelNames: ['worker'], registers,
      collect() {
        const now = Date.now() / 1000;
        for (const worker of state.workers.values()) this.labels(worker.hostname).set(isAlive(worker, now) ? 1 : 0);
      },
    });
    this.executing = new Gauge({ name: 'flower_worker_number_of_currently_executing_tasks', help: 'Number of tasks currently executing at a worker', labelNames: ['worker'], registers });
  }

  /** Count one event, after `state` has applied it (as Flower's EventsState.event does). */
  observe(event: EventFields, state: ClusterState): void {
    const worker = event.hostname;
    if (event.type.startsWith('task-')) {
      const task = state.tasks.get(String(event.uuid));
      const name = (typeof event.name === 'string' && event.name) || task?.name || '';
      this.events.labels(worker, event.type, name).inc();
      const runtime = event.runtime;
      if (typeof runtime === 'number' && runtime > 0) this.runtime.labels(worker, name).observe(runtime);
      if (!task || task.eta) return;
      const received = typeof task.received === 'number' ? task.received : null;
      const started = typeof task.started === 'number' ? task.started : null;
      if (event.type === 'task-received' && received !== null) this.prefetched.labels(worker, name).inc();
      if (event.type === 'task-started' && received !== null && started !== null) {
        this.prefetchTime.labels(worker, name).set(started - received);
        this.prefetched.labels(worker, name).dec();
      }
      if ((event.type === 'task-succeeded' || event.type === 'task-failed') && received !== null && started !== null) this.prefetchTime.labels(worker, name).set(0);
    } else if (event.type === 'worker-heartbeat' && typeof event.active === 'number') {
      this.executing.labels(worker).set(event.active);
    }
  }

  /** The exposition text (Prometheus text format 0.0.4) and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
