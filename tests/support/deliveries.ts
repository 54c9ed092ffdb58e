// Helpers for transport tests: a plain JSON test message and an inbox that collects deliveries and waits for them.

import { randomUUID } from 'node:crypto';
import type { Delivery, OutgoingMessage } from '../../src/transports/transport.js';

/** A message whose body is the JSON string `body`. */
export function testMessage(body: string, extra: Partial<OutgoingMessage> = {}, task = 'test.echo'): OutgoingMessage {
  return {
    body: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: randomUUID(), task },
    properties: { delivery_mode: 2, priority: 0, correlation_id: randomUUID() },
    ...extra,
  };
}

/** The JSON string body of a delivery made from testMessage. */
export const bodyOf = (d: Delivery): string => JSON.parse(Buffer.from(d.message.body).toString('utf8')) as string;

/** Collects deliveries; waitFor(n) resolves once n arrived. */
export class Inbox {
  readonly deliveries: Delivery[] = [];
  private waiters: Array<() => void> = [];
  readonly push = (d: Delivery) => {
    this.deliveries.push(d);
    for (const w of this.waiters.splice(0)) w();
  };
  async waitFor(count: number, timeoutMs = 10_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} deliveries, got ${this.deliveries.length} (${this.bodies.join(', ')}) within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.deliveries;
  }
  get bodies(): string[] {
    return this.deliveries.map(bodyOf);
  }
}
