// The service in its own process, as production runs it: `node --import tsx src/server.ts` with
// the scenario's environment, on a port picked beforehand, ready once GET /healthz answers 200,
// stopped with SIGTERM (src/server.ts's graceful shutdown). Its memory is read from outside, in
// /proc/<pid>/status (Linux), so it counts the service alone, not the bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type RssSampler, sampleEvery } from './load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTUP_TIMEOUT_MS = 60_000;

const running = new Set<ChildProcess>();
/** SIGKILLs every service process still running: on Ctrl-C or the watchdog, before the services go. */
export function killServiceProcesses() {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killServiceProcesses); // never leave one behind

export interface ServiceExit {
  code: number | null;
  signal: string | null;
  /** From SIGTERM to exit. */
  stopMs: number;
  /** The process had exited before stop() was called. */
  early: boolean;
  /** Peak RSS over the process's whole life (the largest VmHWM read), bytes. */
  lifetimeHwm: number;
}

export interface ServiceProcess {
  pid: number;
  baseUrl: string;
  /** VmRSS every 50 ms, plus the run's own VmHWM (the peak is reset when sampling starts). */
  sampleRss: RssSampler;
  stop(): Promise<ServiceExit>;
}

/** VmRSS and VmHWM in bytes; NaN once the process is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {}
  const kB = (field: string) => Number(status.match(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm'))?.[1]) * 1024;
  return { rss: kB('VmRSS'), hwm: kB('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false if the kernel refuses. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A port that was free a moment ago (PORT=0 would leave us unable to find the service). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startServiceProcess(
  env: Record<string, string | undefined>,
  options: { label: string; shutdownTimeoutMs: number },
): Promise<ServiceProcess> {
  const port = await freePort();
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...env, HOST: '127.0.0.1', PORT: String(port) })) {
    if (value !== undefined) childEnv[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (code: number | null, signal: string | null) => {
      exit ??= { code, signal };
      running.delete(child);
      resolve();
    };
    child.once('exit', done).once('error', () => done(null, 'spawn error'));
  });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) forwardLines(stream, options.label, tail);

  const pid = child.pid ?? -1;
  const baseUrl = `http://127.0.0.1:${port}`;
  let lifetimeHwm = 0;
  const stop = async (): Promise<ServiceExit> => {
    const early = exit !== undefined;
    lifetimeHwm = Math.max(lifetimeHwm, procMemory(pid).hwm || 0);
    const start = performance.now();
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), options.shutdownTimeoutMs + 5_000);
    await exited;
    clearTimeout(force);
    const stopMs = performance.now() - start;
    return { code: exit?.code ?? null, signal: exit?.signal ?? null, stopMs, early, lifetimeHwm };
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await healthy(baseUrl))) {
    if (exit || Date.now() > deadline) {
      const why = exit ? `exited (code ${exit.code}, signal ${exit.signal})` : 'did not answer in time';
      await stop();
      throw new Error(
        `service ${options.label} ${why} before GET /healthz answered 200:\n${tail.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const sampleRss: RssSampler = () => {
    lifetimeHwm = Math.max(lifetimeHwm, procMemory(pid).hwm || 0);
    const reset = resetPeak(pid);
    return sampleEvery(
      () => procMemory(pid).rss,
      () => (reset ? procMemory(pid).hwm : Number.NaN),
    );
  };
  return { pid, baseUrl, sampleRss, stop };
}

function healthy(baseUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`${baseUrl}/healthz`, { timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** The service's output goes to the bench's stderr (stdout is the report); the last 20 lines are kept. */
function forwardLines(stream: Readable, label: string, tail: string[]) {
  createInterface({ input: stream }).on('line', (line) => {
    if (!line.trim()) return;
    process.stderr.write(`[service ${label}] ${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
}
