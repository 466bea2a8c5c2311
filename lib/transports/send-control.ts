/**
 * What one SMTP send needs beyond nodemailer: an overall deadline (nodemailer's socket timeout
 * restarts on every byte, so a server answering one byte a second holds a send forever), an end
 * on `close()`, the caller's AbortSignal shared by any number of sends without piling listeners on
 * it, and the one fact that decides whether a failure is a failure: was the whole message, final
 * "." included, handed to the connection before the connection ended?
 */

/** Why a send was ended from our side. */
export type EndReason = 'aborted' | 'deadline' | 'closed';

/** The overall deadline of one send when the settings give none: 5 minutes. */
export const DEFAULT_DEADLINE_MS = 5 * 60 * 1000;
/** Bounds of smtp.deadlineMs and of the deadlineMs send option (in lib/settings.ts, which checks them first). */
export { DEADLINE_BOUNDS } from '../settings';

type Listener = () => void;

/**
 * One 'abort' listener per caller signal, whatever the number of sends sharing it: 200 sends
 * under one signal would otherwise add 200 listeners and Node warns (MaxListenersExceededWarning).
 */
const subscribers = new WeakMap<AbortSignal, Set<Listener>>();

/** Calls `fn` once when `signal` aborts; returns the function that unsubscribes. */
export function onAbort(signal: AbortSignal, fn: Listener): () => void {
  let set = subscribers.get(signal);
  if (!set) {
    const fresh = new Set<Listener>();
    set = fresh;
    subscribers.set(signal, fresh);
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal);
        for (const f of [...fresh]) f();
      },
      { once: true },
    );
  }
  set.add(fn);
  const current = set;
  return () => {
    current.delete(fn);
  };
}

/** The controls of one send: nodemailer gets `signal`; the transport reads `reason` and `messageWritten`. */
export class SendControl {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe?: () => void;
  /** Set when the send was ended from our side (caller abort, deadline, close()). */
  reason?: EndReason;
  /**
   * True once the composed message was read to its end by the SMTP connection, which then writes
   * the terminating "." at once: from here on a dropped connection leaves the outcome unknown.
   */
  messageWritten = false;

  constructor(
    readonly deadlineMs: number,
    callerSignal?: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.end('deadline'), deadlineMs);
    this.timer.unref();
    if (callerSignal?.aborted) this.end('aborted');
    else if (callerSignal) this.unsubscribe = onAbort(callerSignal, () => this.end('aborted'));
  }

  /** The signal nodemailer watches: aborted by the caller, the deadline or close(). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Settles with `work`, or rejects as soon as the send is ended (work left running is the caller's to clean up). */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.reason) return Promise.reject(this.signal.reason);
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(this.signal.reason);
      this.signal.addEventListener('abort', stop, { once: true });
      work.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', stop));
    });
  }

  /** Called once when the send is ended from our side, before nodemailer is told (and drops the connection). */
  beforeEnd?: (reason: EndReason) => void;

  /** Ends the send (the first reason wins). */
  end(reason: EndReason): void {
    if (this.reason) return;
    this.reason = reason;
    try {
      this.beforeEnd?.(reason);
    } catch {
      // only a look at what the server said so far: the send ends anyway
    }
    this.controller.abort(new Error(`send ended: ${reason}`));
  }

  /** Releases the timer and the caller signal's subscription. */
  dispose(): void {
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }
}

/**
 * How many sends of one transport compose and go to nodemailer's pool at a time; the others wait
 * their turn here, in order. nodemailer's pool sends one message per connection anyway: a message
 * composed long before a connection is free for it only sits in memory (2000 sends at once would
 * hold 2000 composed messages and their MIME trees, and the garbage collector would spend more time
 * than the sending). Twice the pool's connections keeps every connection fed.
 */
export class SendGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** A place in line: `ready` resolves when the send may go; `leave()` (always called, once) frees the place. */
  enter(): { ready: Promise<void>; leave(): void } {
    let state: 'waiting' | 'in' | 'out' = 'waiting';
    let wake!: () => void;
    const ready = new Promise<void>((resolve) => (wake = resolve));
    const grant = () => {
      state = 'in';
      this.active++;
      wake();
    };
    if (this.active < this.limit && !this.waiting.length) grant();
    else this.waiting.push(grant);
    return {
      ready,
      leave: () => {
        if (state === 'in') {
          this.active--;
          while (this.active < this.limit && this.waiting.length) (this.waiting.shift() as () => void)();
        } else if (state === 'waiting') {
          // Ended while waiting (abort, deadline, close()): its turn goes to the next.
          const i = this.waiting.indexOf(grant);
          if (i >= 0) this.waiting.splice(i, 1);
        }
        state = 'out';
      },
    };
  }
}
