/**
 * Cooperative stopping: SIGTERM/SIGINT set the reason once; waits wake up early, a running
 * statement is cancelled by whoever registered for it, and the pipeline unwinds through its
 * `finally` blocks (rollback, unlock, close) before the CLI exits 143/130.
 */
import { InterruptedError } from './errors.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export class Stop {
  private reason: StopSignal | undefined;
  private readonly listeners = new Set<() => void>();

  get stopped(): StopSignal | undefined {
    return this.reason;
  }

  trigger(signal: StopSignal): void {
    if (this.reason) return;
    this.reason = signal;
    for (const listener of [...this.listeners]) listener();
  }

  /** `consequence`: what stopping here leaves behind, in the words the operator will read. */
  throwIfStopped(consequence: string, fields?: Record<string, unknown>): void {
    if (this.reason) throw new InterruptedError(this.reason, consequence, fields);
  }

  /** Calls `listener` on stop; returns the function that unregisters it. */
  onStop(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Waits `ms`, or less if stopped; throws InterruptedError (saying `consequence`) when stopped. */
export async function sleep(ms: number, stop: Stop, consequence: string): Promise<void> {
  stop.throwIfStopped(consequence);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = stop.onStop(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  stop.throwIfStopped(consequence);
}
