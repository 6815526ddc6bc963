/**
 * Event callbacks: the daemon numbers each registration (callbackID, per family of objects)
 * and sends a message for each event; the hub routes each message to its listener.
 */
import type { EventTable } from './event-table.js';
import {
  DOMAIN_EVENTS,
  NETWORK_EVENTS,
  NODE_DEVICE_EVENTS,
  SECRET_EVENTS,
  STORAGE_POOL_EVENTS,
} from './events.generated.js';
import type { RpcClient } from './rpc/client.js';

export const EVENT_TABLES = {
  domain: DOMAIN_EVENTS,
  network: NETWORK_EVENTS,
  storagePool: STORAGE_POOL_EVENTS,
  nodeDevice: NODE_DEVICE_EVENTS,
  secret: SECRET_EVENTS,
} as const;
export type EventFamily = keyof typeof EVENT_TABLES;

/** Resolves once the daemon stopped sending the events (nothing to do if the connection is gone). */
export type Unsubscribe = () => Promise<void>;

type Listener = (event: unknown) => void;

export class EventHub {
  private readonly listeners = new Map<string, Listener>();
  /** Events for callback IDs not known yet: a registration's first event can arrive just
   *  before the reply that tells us its ID. */
  private readonly early = new Map<string, unknown[]>();
  private registering = 0;

  constructor(private readonly rpc: RpcClient) {
    for (const [family, table] of Object.entries(EVENT_TABLES)) {
      for (const entry of Object.values(table as EventTable<Record<string, unknown>>)) {
        rpc.onEvent(entry.procedure, (body) => {
          const { callbackID, event } = entry.decode(body);
          this.deliver(`${family}:${callbackID}`, event);
        });
      }
    }
  }

  private deliver(key: string, event: unknown): void {
    const listener = this.listeners.get(key);
    // Outside the packet parser: a listener that throws must not break the connection.
    if (listener !== undefined) queueMicrotask(() => listener(event));
    else if (this.registering > 0) this.early.set(key, [...(this.early.get(key) ?? []), event]);
  }

  /** Registers with the daemon (`register` resolves to the callback ID) and routes its events. */
  async listen(
    family: EventFamily,
    listener: Listener,
    register: () => Promise<number>,
    deregister: (callbackID: number) => Promise<void>,
  ): Promise<Unsubscribe> {
    this.registering++;
    let callbackID: number;
    try {
      callbackID = await register();
    } finally {
      this.registering--;
    }
    const key = `${family}:${callbackID}`;
    this.listeners.set(key, listener);
    for (const event of this.early.get(key) ?? []) this.deliver(key, event);
    this.early.delete(key);
    if (this.registering === 0) this.early.clear();
    return async () => {
      if (!this.listeners.delete(key)) return;
      if (this.rpc.closedReason !== null) return;
      await deregister(callbackID);
    };
  }
}
