import pg from 'pg';

export interface ListenerOptions {
  readonly client: pg.ClientConfig;
  readonly channel: string;
  /** First reconnect delay; doubles up to maxBackoffMs (with jitter). */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** How often a live connection is checked with a query (a silently dropped one is noticed). */
  readonly heartbeatMs: number;
  readonly onNotify: (payload: string) => void;
  /** Connected and listening again after a loss: notifications in between were missed. */
  readonly onReconnect: () => void;
  readonly onLoss: (error: Error) => void;
}

/**
 * One connection that LISTENs on a channel and keeps doing so: when the connection is lost it
 * reconnects with backoff, and says so, so the owner can resynchronize what it missed.
 */
export class NotificationListener {
  readonly #options: ListenerOptions;
  #client: pg.Client | undefined;
  #up = false;
  #closed = false;
  #lastError: Error | undefined;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Connected and LISTENing now. */
  get up(): boolean {
    return this.#up;
  }

  /** Why the connection is down (the last failure). */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The first connection: throws when it cannot be made (the caller reports it). */
  async start(): Promise<void> {
    await this.#connect();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatMs);
    this.#heartbeat.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#up = false;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#options.client);
    this.#client = client;
    // Events of a connection already given up are ignored: only the current one counts.
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection was closed')));
    client.on('notification', (message) => {
      if (client === this.#client && message.channel === this.#options.channel && message.payload) this.#options.onNotify(message.payload);
    });
    try {
      await client.connect();
      // The channel name is a constant of ours, not input.
      await client.query(`LISTEN ${this.#options.channel}`);
    } catch (error) {
      this.#lost(client, error as Error);
      throw error;
    }
    if (client !== this.#client || this.#closed) return;
    this.#up = true;
    this.#attempt = 0;
  }

  #lost(client: pg.Client, error: Error): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    const wasUp = this.#up;
    this.#up = false;
    this.#lastError = error;
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.#closed) return;
    if (wasUp) this.#options.onLoss(error);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const { minBackoffMs, maxBackoffMs } = this.#options;
    const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.#attempt) * (0.75 + Math.random() * 0.5);
    this.#attempt++;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect().then(
        () => {
          if (this.#up) this.#options.onReconnect();
        },
        () => undefined, // #lost scheduled the next attempt
      );
    }, delay);
    this.#retry.unref();
  }

  /** A query on the listening connection: one that no longer answers is given up and replaced. */
  async #beat(): Promise<void> {
    const client = this.#client;
    if (!client || !this.#up) return;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${this.#options.heartbeatMs} ms`)), this.#options.heartbeatMs);
    });
    try {
      await Promise.race([client.query('SELECT 1'), silent]);
    } catch (error) {
      this.#lost(client, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }
}
