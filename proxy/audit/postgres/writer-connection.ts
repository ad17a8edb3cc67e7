import pg from 'pg';
import { retryDelay } from './retry-policy.js';
import type { StoreLocation } from './store-location.js';

// The store's one write connection, kept up: when it fails (the server restarted, the network
// was cut, a statement timed out), it is dropped and a new one is dialled in the background with
// backoff, whether or not anything waits to be written, so `down` says at every moment whether
// the store can write (strict durability reports it as the store's failure).

/** Given to whoever waits on a connection the store has closed. */
export class WriterClosedError extends Error {
  constructor(location: string) {
    super(`the audit store ${location} is closed`);
    this.name = 'WriterClosedError';
  }
}

export class WriterConnection {
  #client: pg.Client | undefined;
  #dialling: Promise<pg.Client> | undefined;
  #down: Error | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  /** A connection being dialled: closed at once by close(), which must not wait out its timeout. */
  #pending: pg.Client | undefined;
  #reconnects = 0;

  private constructor(private readonly location: StoreLocation) {}

  /** Opens the first connection; throws (redacted) when the server cannot be reached now. */
  static async open(location: StoreLocation): Promise<WriterConnection> {
    const connection = new WriterConnection(location);
    connection.#client = await connection.dial();
    return connection;
  }

  /** Why the store cannot write now, while it cannot: undefined when it is connected. */
  get down(): Error | undefined {
    return this.#down;
  }

  /** Connections made after the first: each one an outage ridden out (or a statement that failed with its connection). */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** The connected client; while there is none, waits for the reconnection. Rejects only once closed. */
  ready(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new WriterClosedError(this.location.display));
    if (this.#client) return Promise.resolve(this.#client);
    this.#dialling ??= this.redial();
    return this.#dialling;
  }

  /** `client` failed at the connection level: drop it and reconnect. Later reports of the same client change nothing. */
  lost(client: pg.Client, error: unknown): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    void client.end().catch(() => undefined);
    this.#down = this.location.describe(`the audit store ${this.location.display} lost its connection`, error);
    if (!this.#closed && !this.#dialling) {
      this.#dialling = this.redial();
      // Nobody may be waiting in ready(): its rejection at close must not go unhandled.
      this.#dialling.catch(() => undefined);
    }
  }

  /** Stops reconnecting, closes the connection; whoever waits in ready() is told. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    // Its socket, not end(): node-postgres never settles connect() once end() was called meanwhile.
    this.#pending?.connection.stream.destroy();
    const client = this.#client;
    this.#client = undefined;
    // A client dialled but not yet handed over is closed by redial once it sees #closed.
    await this.#dialling?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private async redial(): Promise<pg.Client> {
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.#closed) throw new WriterClosedError(this.location.display);
        try {
          const client = await this.dial();
          if (this.#closed) {
            await client.end().catch(() => undefined);
            throw new WriterClosedError(this.location.display);
          }
          this.#client = client;
          this.#reconnects++;
          this.#down = undefined;
          return client;
        } catch (error) {
          if (error instanceof WriterClosedError) throw error;
          this.#down = error as Error;
        }
        await new Promise<void>((resolve) => {
          if (this.#closed) return resolve();
          const timer = setTimeout(resolve, retryDelay(attempt));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    } finally {
      this.#dialling = undefined;
    }
  }

  /** One connection attempt; its errors are redacted. */
  private async dial(): Promise<pg.Client> {
    const client = new pg.Client(this.location.clientConfig('writer'));
    // An idle connection that dies reports here, not through a query: without a listener it
    // would crash the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the server closed the connection')));
    this.#pending = client;
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw this.location.describe(`the audit store ${this.location.display} cannot be reached`, error);
    } finally {
      this.#pending = undefined;
    }
  }
}
