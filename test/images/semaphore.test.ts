import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/images/semaphore.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('never lets more than `permits` holders run at once, and serves waiters in order', async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const release = await semaphore.acquire();
        order.push(i);
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        release();
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('drops a waiter whose signal aborts, without consuming a permit', async () => {
    const semaphore = new Semaphore(1);
    const first = await semaphore.acquire();
    const controller = new AbortController();
    const queued = semaphore.acquire(controller.signal);
    const next = semaphore.acquire();
    expect(semaphore.waiting).toBe(2);

    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(semaphore.waiting).toBe(1);

    first();
    const second = await next;
    second();
    // The permit came back: an immediate acquire succeeds.
    (await semaphore.acquire())();
  });

  it('rejects at once when the signal is already aborted', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.acquire(AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    (await semaphore.acquire())();
  });

  it('ignores a second call of the same release', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    release();
    release();
    const a = await semaphore.acquire();
    let gotSecond = false;
    void semaphore.acquire().then(() => {
      gotSecond = true;
    });
    await tick();
    expect(gotSecond).toBe(false);
    a();
  });

  it('refuses a non-positive permit count', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
