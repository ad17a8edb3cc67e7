// The command's output on its way out of `sluice run`: to the gateway, which masks and records
// it, and to the CI log. Without --mask-output the log gets the output at once, as the command
// wrote it; with it, the log gets only what the gateway sends back masked (nothing unmasked ever
// reaches it: if the gateway cannot be reached, output is withheld and the log says so).

/** Output is sent at least this often while the command writes. */
const SEND_MS = 50;
/** ... and at once past this many characters. */
const SEND_CHARS = 256 * 1024;
/** The child is paused while this much waits to be sent. */
const MAX_PENDING = 4 * 1024 * 1024;
/** With --mask-output, the gateway holds an unfinished line up to 500 ms: ask again after that. */
const POLL_MS = 600;

export interface RelayTransport {
  output(data: string, echo: boolean): Promise<{ masked?: string }>;
}

export interface RelayOptions {
  readonly transport: RelayTransport;
  readonly print: (text: string) => void;
  readonly warn: (text: string) => void;
  readonly maskOutput: boolean;
  /** Backpressure on the child. */
  readonly pause: () => void;
  readonly resume: () => void;
}

export class OutputRelay {
  readonly #options: RelayOptions;
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #paused = false;
  #failed = false;
  #withheld = 0;

  constructor(options: RelayOptions) {
    this.#options = options;
  }

  /** Output the gateway could not take (characters); with --mask-output, also never shown. */
  get withheld(): number {
    return this.#withheld;
  }

  write(data: string): void {
    if (!this.#options.maskOutput) this.#options.print(data);
    this.#pending += data;
    if (this.#pending.length >= MAX_PENDING && !this.#paused) {
      this.#paused = true;
      this.#options.pause();
    }
    if (this.#pending.length >= SEND_CHARS) void this.#send();
    else this.#timer ??= setTimeout(() => void this.#send(), SEND_MS);
  }

  /** Everything written so far has been sent (the last echo printed). */
  async drain(): Promise<void> {
    clearTimeout(this.#poll);
    this.#poll = undefined;
    while (this.#pending.length > 0 || this.#inFlight) {
      if (this.#inFlight) await this.#inFlight;
      else await this.#send();
    }
  }

  /** Prints what the gateway echoed with the run's end (finish's tail). */
  printEcho(masked: string | undefined): void {
    if (this.#options.maskOutput && masked) this.#options.print(masked);
  }

  #send(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inFlight) return this.#inFlight;
    const data = this.#pending;
    this.#pending = '';
    const { transport, maskOutput } = this.#options;
    this.#inFlight = transport
      .output(data, maskOutput)
      .then(
        (answer) => {
          if (maskOutput && answer.masked) this.#options.print(answer.masked);
        },
        (error: unknown) => {
          this.#withheld += data.length;
          if (!this.#failed) {
            this.#failed = true;
            this.#options.warn(`sluice run: the gateway did not take the command's output (${(error as Error).message}); it is not recorded${maskOutput ? ' and, unmasked, not shown' : ''}\n`);
          }
        },
      )
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#paused && this.#pending.length < MAX_PENDING / 2) {
          this.#paused = false;
          this.#options.resume();
        }
        if (this.#pending.length > 0) this.#timer ??= setTimeout(() => void this.#send(), SEND_MS);
        else if (maskOutput && data.length > 0) this.#schedulePoll();
      });
    return this.#inFlight;
  }

  /** With --mask-output, a quiet command's unfinished line (a prompt) is fetched once the gateway lets it go. */
  #schedulePoll(): void {
    clearTimeout(this.#poll);
    this.#poll = setTimeout(() => {
      this.#poll = undefined;
      if (!this.#inFlight && this.#pending.length === 0) void this.#send();
    }, POLL_MS);
    this.#poll.unref();
  }
}
