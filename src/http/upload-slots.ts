/**
 * A hard cap on uploads in progress, so the memory held by request bodies and
 * queued images stays bounded however many clients connect: each slot holds at
 * most one 2 MB body. Load-shedding plugins (@fastify/under-pressure) react to
 * heap or event-loop delay after the fact; this refuses before the body is read.
 */
export class UploadSlots {
  private inUse = 0;

  constructor(private readonly max: number) {}

  /** A release function, or undefined when every slot is taken. */
  tryAcquire(): (() => void) | undefined {
    if (this.inUse >= this.max) return undefined;
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
    };
  }
}
