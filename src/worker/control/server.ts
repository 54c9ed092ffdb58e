// The worker's pidbox node (kombu's Node in Celery's worker/pidbox.py): consumes <node>.celery.pidbox, bound to
// the celery.pidbox fanout exchange and declared exactly as Python declares it, runs each request meant for this
// worker and answers on the requester's reply queue. Bad requests are logged and dropped; nothing here can stop
// the worker.

import {
  buildControlReply, isForWorker, nodeQueueDeclaration, parseControlRequest, pidboxNames,
  type ControlRequest, type PidboxQueueSettings,
} from '../../protocol/control.js';
import type { IncomingMessage, Subscription, Transport } from '../../transports/transport.js';
import { NO_REPLY, type CommandTable } from './command.js';
import { workerCommands } from './commands.js';
import type { ControlHost } from './host.js';

/** Serves remote-control requests for one worker. */
export class ControlServer {
  private subscription?: Subscription;
  private readonly commands: CommandTable;

  constructor(private readonly host: ControlHost, private readonly transport: Transport, commands: CommandTable = workerCommands()) {
    this.commands = commands;
  }

  async start(): Promise<void> {
    const names = pidboxNames((this.host.setting('control_exchange') as string | null) ?? undefined);
    const declaration = nodeQueueDeclaration(names, this.host.hostname, this.queueSettings());
    await this.transport.declare(declaration);
    this.subscription = await this.transport.subscribe([declaration.name], (delivery) => {
      void delivery.ack().catch(() => undefined);
      void this.handle(delivery.message).catch((e) => this.host.logger.error(`Control command error: ${(e as Error).message}`));
    }, { prefetch: 0, noAck: true });
  }

  async stop(): Promise<void> {
    await this.subscription?.cancel();
  }

  /** control_queue_expires and control_queue_ttl, as kombu turns them into x-expires and x-message-ttl. */
  private queueSettings(): PidboxQueueSettings {
    const seconds = (name: string) => {
      const v = this.host.setting(name);
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    };
    return { expires: seconds('control_queue_expires'), messageTtl: seconds('control_queue_ttl') };
  }

  private async handle(message: IncomingMessage): Promise<void> {
    let parsed;
    try {
      parsed = parseControlRequest(message);
    } catch (error) {
      this.host.logger.warn(`Dropped a control request: ${(error as Error).message}`);
      return;
    }
    const { request, expires, clock, signed } = parsed;
    this.host.clock.adjust(clock);
    if (!signed && this.host.setting('control_require_signed') === true) {
      const replyTo = request.reply_to ? `, reply_to ${request.reply_to.exchange}/${request.reply_to.routing_key}` : '';
      this.host.logger.warn(`Refused an unsigned control request ${request.method.slice(0, 100)}${replyTo}: control_require_signed is on, so only commands signed by a certificate in security_cert_store run.`);
      return;
    }
    if (request.matcher && request.matcher !== 'glob' && !request.destination?.length) {
      this.host.logger.warn(`Control request ${request.method} uses the '${request.matcher}' matcher; only glob patterns are supported, so this worker ignores it.`);
      return;
    }
    if (!isForWorker(request, this.host.hostname)) return;
    if (expires !== null && expires * 1000 < Date.now()) {
      this.host.logger.debug(`control: ignoring expired ${request.method} request`);
      return;
    }
    const reply = await this.dispatch(request);
    if (reply === NO_REPLY) return;
    if (this.host.logger.isLevelEnabled('debug')) this.host.logger.debug(`control: ${request.method} → ${JSON.stringify(reply)?.slice(0, 200)}`);
    await this.reply(request, reply, signed ? 'auth' : 'json');
  }

  /** The handler's reply; an unknown command or a thrown error becomes `{ error: '…' }`, as kombu's Node replies. */
  private async dispatch(request: ControlRequest): Promise<unknown> {
    const command = Object.hasOwn(this.commands, request.method) ? this.commands[request.method] : undefined;
    if (!command) {
      this.host.logger.error(`No such control command: ${request.method}`);
      return { error: `No such control command: ${request.method}` };
    }
    try {
      return await command.run(this.host, request.arguments);
    } catch (error) {
      this.host.logger.error(`Control command ${request.method} failed: ${(error as Error).message}`);
      return { error: (error as Error).message };
    }
  }

  /** Answer on the requester's reply queue; a signed request gets a signed reply (a Celery client accepts only 'auth'). */
  private async reply(request: ControlRequest, reply: unknown, serializer: 'json' | 'auth'): Promise<void> {
    if (!request.reply_to) return;
    await this.transport.publish(buildControlReply(this.host.hostname, reply, request.ticket, this.host.clock.forward(), serializer), {
      exchange: request.reply_to.exchange,
      routingKey: request.reply_to.routing_key,
    });
  }
}
