// Main's side of the decoder process: starts it on first use, matches replies to requests, and when the
// process dies (a crash in native code, a kill, a hung decode past the timeout) fails the requests in
// flight with a clear message and starts a fresh process for the next one.
import type { DecodeOutcome } from './decode-job';
import { isDecoderReply, type DecoderRequest } from './decoder-protocol';

/** What DecoderClient needs from a process: Electron's UtilityProcess and Node's ChildProcess both fit. */
export interface DecoderChild {
  postMessage(message: DecoderRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export type SpawnDecoder = () => DecoderChild;

export interface DecoderClientOptions {
  /** A decode that takes longer is abandoned and its process killed (default 60 s). */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly name: string;
  readonly resolve: (o: DecodeOutcome) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class DecoderClient {
  private child: DecoderChild | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** How many processes were started (1 + restarts); for tests and diagnostics. */
  spawned = 0;

  constructor(private readonly spawn: SpawnDecoder, private readonly opts: DecoderClientOptions = {}) {}

  decode(req: Omit<DecoderRequest, 'id'>): Promise<DecodeOutcome> {
    const id = this.nextId++;
    return new Promise<DecodeOutcome>((resolve) => {
      let child: DecoderChild;
      try {
        child = this.ensureChild();
      } catch (err) {
        resolve({ ok: false, error: { kind: 'internal', message: `${req.name}: cannot start the image decoder (${String(err)})` } });
        return;
      }
      const timeoutMs = this.opts.timeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        this.settle(id, { ok: false, error: { kind: 'timeout', message: `${req.name}: decoding took over ${Math.round(timeoutMs / 1000)} s and was stopped` } });
        this.restart();
      }, timeoutMs);
      this.pending.set(id, { name: req.name, resolve, timer });
      child.postMessage({ id, ...req });
    });
  }

  /** Stops the process; requests in flight fail. */
  close(): void {
    this.restart();
  }

  private ensureChild(): DecoderChild {
    if (this.child) return this.child;
    const child = this.spawn();
    this.spawned++;
    this.child = child;
    child.onMessage((m) => {
      if (isDecoderReply(m)) this.settle(m.id, m.outcome);
    });
    child.onExit((code) => {
      if (this.child !== child) return;
      this.child = undefined;
      for (const [id, p] of [...this.pending]) {
        this.settle(id, {
          ok: false,
          error: {
            kind: 'decoder-crashed',
            message: `${p.name}: the image decoder stopped unexpectedly (exit code ${code ?? 'none'}); the file may be malformed. Other images still work.`,
          },
        });
      }
    });
    return child;
  }

  private restart(): void {
    const child = this.child;
    this.child = undefined;
    for (const [id, p] of [...this.pending]) {
      this.settle(id, { ok: false, error: { kind: 'decoder-crashed', message: `${p.name}: the image decoder was restarted; try again` } });
    }
    child?.kill();
  }

  private settle(id: number, outcome: DecodeOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(outcome);
  }
}
