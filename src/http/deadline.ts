import type { FastifyReply } from 'fastify';
import { errors } from '../errors.js';

/**
 * The time budget of one request. Its signal aborts when the budget is spent or
 * the client disconnects, and every S3 call listens to it; `require` refuses to
 * start a step that could outlive the budget, so nothing changes after the
 * client has been answered or has gone.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly endsAt: number;

  constructor(budgetMs: number, reply: FastifyReply) {
    const controller = new AbortController();
    this.endsAt = Date.now() + budgetMs;
    const timer = setTimeout(() => controller.abort(new Error('request deadline exceeded')), budgetMs);
    timer.unref();
    reply.raw.once('close', () => {
      clearTimeout(timer);
      // Closed before the response was written: the client gave up.
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
    });
    this.signal = controller.signal;
  }

  remainingMs(): number {
    return this.endsAt - Date.now();
  }

  /** Runs a step that honours the signal; its abort becomes the same 503 as `require`. */
  async within<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (err) {
      if (this.signal.aborted) throw errors.dependencyUnavailable('service', err);
      throw err;
    }
  }

  /** Throws a 503 unless `stepMs` still fits in the budget and nobody gave up. */
  require(stepMs: number): void {
    if (this.signal.aborted || this.remainingMs() < stepMs) {
      throw errors.dependencyUnavailable('service', this.signal.reason);
    }
  }
}
