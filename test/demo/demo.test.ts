import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The README's first command, as a person runs it: `npm run demo` with no
// DATABASE_URL and no S3 settings, then the printed curl pasted into a shell.

const root = path.resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);
let workDir: string;
const running: ChildProcess[] = [];

/** Environment without any service configuration, as on a fresh machine. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, PORT: '0', DEMO_S3_PORT: '0', DEMO_PG_PORT: '0' };
}

/** Starts the demo in `workDir` and resolves with everything it printed once it is ready. */
function startDemo(): Promise<{ output: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'src/demo/main.ts')],
    {
      cwd: workDir,
      env: bareEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Stop with Ctrl-C.')) resolve({ output, child });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('npm run demo (embedded default)', () => {
  it('prints a curl that uploads an avatar whose URL opens, and reuses its seed on the next run', async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'avatar-demo-'));
    const first = await startDemo();
    expect(first.output).toContain('demo org, admin key and embedded user: created');
    const curl = first.output.split('\n').find((line) => line.trim().startsWith('curl '));
    expect(curl).toBeDefined();

    // Paste it into a shell, exactly as printed.
    const { stdout } = await exec('bash', ['-c', curl as string], { cwd: tmpdir() });
    const body = JSON.parse(stdout);
    expect(Object.keys(body)).toEqual(['data']);
    const avatar = await fetch(body.data.avatarUrl);
    expect(avatar.status).toBe(200);
    expect(avatar.headers.get('content-type')).toBe('image/jpeg');
    expect((await avatar.arrayBuffer()).byteLength).toBeGreaterThan(100);
    await stop(first.child);

    const second = await startDemo();
    expect(second.output).toContain('reused from .data/demo-seed.json');
    const key = (s: string) => s.match(/Bearer (bd_key_\w+)/)?.[1];
    expect(key(second.output)).toBe(key(first.output));
    await stop(second.child);
  }, 180_000);
});
