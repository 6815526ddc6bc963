/** How the generated event tables (events.generated.ts) describe each event of a family. */
export type EventTable<Events> = {
  readonly [K in keyof Events]: {
    /** The event ID registered with the daemon (virDomainEventID...). */
    readonly id: number;
    /** The procedure number of the message the daemon sends for it. */
    readonly procedure: number;
    /** The message decoded: which registration it answers, and the event. */
    decode(body: Uint8Array): { callbackID: number; event: Events[K] };
  };
};
