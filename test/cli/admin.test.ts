import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';

// The admin CLI is part of the public interface: these tests run the real
// command (`npm run -s admin -- ...`) against a fresh database and check both
// what it prints and what it wrote.

const root = fileURLToPath(new URL('../../', import.meta.url));
const SPAWN_TIMEOUT_MS = 60_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let databaseUrl: string;
let dropDatabase: (() => Promise<void>) | undefined;
let client: pg.Client;

beforeAll(async () => {
  const database = await createTestDatabase();
  databaseUrl = database.url;
  dropDatabase = database.drop;
  client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await dropDatabase?.();
});

/** A minimal environment: what npm needs to run, plus the given variables. */
function baseEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'SystemRoot', 'npm_config_cache']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...vars };
}

function admin(args: string[], env: Record<string, string> = { DATABASE_URL: databaseUrl }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'admin', '--', ...args], {
      cwd: root,
      env: baseEnv(env),
      timeout: SPAWN_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Exit 0, exactly one JSON object on stdout (one line) with exactly these keys. */
function expectJson(run: Run, keys: string[]): Record<string, unknown> {
  expect(run.stderr, `stderr of a successful command: ${run.stderr}`).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout.endsWith('\n')).toBe(true);
  expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
  const value = JSON.parse(run.stdout) as unknown;
  expect(value).toBeTypeOf('object');
  expect(Array.isArray(value)).toBe(false);
  expect(Object.keys(value as object).sort()).toEqual([...keys].sort());
  return value as Record<string, unknown>;
}

/** Non-zero exit, nothing on stdout, a readable sentence (no stack trace) on stderr. */
function expectFailure(run: Run, sentence: RegExp) {
  expect(run.status).not.toBe(0);
  expect(run.status).not.toBeNull(); // exited, not killed by the timeout
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().length).toBeGreaterThan(0);
  expect(run.stderr).toMatch(sentence);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toMatch(/prisma|SELECT|INSERT|node_modules/i);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const email = (label: string) => `${label}-${randomUUID()}@example.test`;

async function row<T>(sql: string, params: unknown[]): Promise<T> {
  const result = await client.query(sql, params);
  expect(result.rows).toHaveLength(1);
  return result.rows[0] as T;
}

// Each spawn costs about a second (npm, then tsx); the groups below run several.
describe('admin CLI: commands', { timeout: 120_000 }, () => {
  // Filled by the tests in order, as an operator would.
  let orgId: string;
  let otherOrgId: string;
  let adminId: string;
  let adminEmail: string;
  let embeddedId: string;
  let embeddedEmail: string;

  it('org:create prints {"id"} and creates the organization', async () => {
    const [acme, other] = await Promise.all([
      admin(['org:create', '--name', 'Acme Corp']),
      admin(['org:create', '--name', 'Other']),
    ]);
    orgId = expectJson(acme, ['id']).id as string;
    otherOrgId = expectJson(other, ['id']).id as string;
    expect(orgId).toMatch(UUID);
    expect(otherOrgId).toMatch(UUID);
    expect(otherOrgId).not.toBe(orgId);
    const org = await row<{ name: string }>('SELECT name FROM organizations WHERE id = $1', [orgId]);
    expect(org.name).toBe('Acme Corp');
  });

  it('user:create creates the user and its membership; --embedded and --logged-in-independently set their columns', async () => {
    adminEmail = email('admin');
    embeddedEmail = email('embedded');
    const independentEmail = email('independent');
    const [adminRun, embeddedRun, independentRun] = await Promise.all([
      admin(['user:create', '--email', adminEmail, '--org', orgId, '--role', 'ADMIN']),
      admin(['user:create', '--email', embeddedEmail, '--org', orgId, '--role', 'MEMBER', '--embedded']),
      admin([
        'user:create',
        ...['--email', independentEmail, '--org', orgId, '--role', 'MEMBER'],
        '--embedded',
        '--logged-in-independently',
      ]),
    ]);
    adminId = expectJson(adminRun, ['id']).id as string;
    embeddedId = expectJson(embeddedRun, ['id']).id as string;
    const independentId = expectJson(independentRun, ['id']).id as string;
    for (const id of [adminId, embeddedId, independentId]) expect(id).toMatch(UUID);

    type UserRow = {
      email: string;
      sso_organization_id: string | null;
      last_independent_login_at: Date | null;
      avatar_url: string | null;
      role: string;
      organization_id: string;
    };
    const user = (id: string) =>
      row<UserRow>(
        `SELECT u.email, u.sso_organization_id, u.last_independent_login_at, u.avatar_url, m.role, m.organization_id
         FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.id = $1`,
        [id],
      );
    expect(await user(adminId)).toEqual({
      email: adminEmail,
      sso_organization_id: null,
      last_independent_login_at: null,
      avatar_url: null,
      role: 'ADMIN',
      organization_id: orgId,
    });
    expect(await user(embeddedId)).toEqual({
      email: embeddedEmail,
      sso_organization_id: orgId,
      last_independent_login_at: null,
      avatar_url: null,
      role: 'MEMBER',
      organization_id: orgId,
    });
    const independent = await user(independentId);
    expect(independent.sso_organization_id).toBe(orgId);
    expect(independent.last_independent_login_at).toBeInstanceOf(Date);
    expect(independent.role).toBe('MEMBER');
  });

  it('member:add adds a membership, and a second call upserts its role', async () => {
    const added = expectJson(
      await admin(['member:add', '--org', otherOrgId, '--user', adminId, '--role', 'MEMBER']),
      ['orgId', 'userId', 'role'],
    );
    expect(added).toEqual({ orgId: otherOrgId, userId: adminId, role: 'MEMBER' });

    const promoted = expectJson(
      await admin(['member:add', '--org', otherOrgId, '--user', adminId, '--role', 'ADMIN']),
      ['orgId', 'userId', 'role'],
    );
    expect(promoted).toEqual({ orgId: otherOrgId, userId: adminId, role: 'ADMIN' });

    const memberships = await client.query(
      'SELECT organization_id, role FROM memberships WHERE user_id = $1 ORDER BY role, organization_id',
      [adminId],
    );
    expect(memberships.rows).toHaveLength(2);
    expect(memberships.rows).toEqual(
      expect.arrayContaining([
        { organization_id: orgId, role: 'ADMIN' },
        { organization_id: otherOrgId, role: 'ADMIN' },
      ]),
    );
  });

  it('key:create prints the key once and stores only its hash and a short prefix', async () => {
    const [plainRun, expiredRun] = await Promise.all([
      admin(['key:create', '--user', adminId]),
      admin(['key:create', '--user', adminId, '--org', orgId, '--expires-at', '2001-02-03T04:05:06Z']),
    ]);
    const plain = expectJson(plainRun, ['id', 'key']);
    const expired = expectJson(expiredRun, ['id', 'key']);
    for (const created of [plain, expired]) {
      expect(created.id).toMatch(UUID);
      expect(created.key).toMatch(/^bd_key_[A-Za-z0-9]{32,}$/);
    }
    expect(plain.key).not.toBe(expired.key);

    for (const created of [plain, expired]) {
      const key = created.key as string;
      const stored = await row<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [created.id]);
      expect(stored.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
      const prefix = stored.prefix as string;
      expect(key.startsWith(prefix)).toBe(true);
      expect(prefix.length).toBeGreaterThanOrEqual('bd_key_'.length);
      expect(prefix.length).toBeLessThanOrEqual(16);
      expect(key.length - prefix.length).toBeGreaterThanOrEqual(32);
      // The secret part of the key is in no column, in any form pg returns it.
      const secret = key.slice(prefix.length);
      expect(JSON.stringify(stored)).not.toContain(secret);
      expect(stored.user_id).toBe(adminId);
      expect(stored.revoked_at).toBeNull();
    }

    const plainRow = await row<{ organization_id: string | null; expires_at: Date | null }>(
      'SELECT organization_id, expires_at FROM api_keys WHERE id = $1',
      [plain.id],
    );
    expect(plainRow).toEqual({ organization_id: null, expires_at: null });
    const expiredRow = await row<{ organization_id: string | null; expires_at: Date | null }>(
      'SELECT organization_id, expires_at FROM api_keys WHERE id = $1',
      [expired.id],
    );
    expect(expiredRow.organization_id).toBe(orgId);
    expect(expiredRow.expires_at?.toISOString()).toBe('2001-02-03T04:05:06.000Z');

    // No table holds the key in clear.
    const dump = await client.query('SELECT row_to_json(k)::text AS json FROM api_keys k');
    for (const { json } of dump.rows as { json: string }[]) {
      expect(json).not.toContain(plain.key as string);
      expect(json).not.toContain(expired.key as string);
    }

    const revokeRun = await admin(['key:revoke', '--id', plain.id as string]);
    const revoked = expectJson(revokeRun, ['id', 'revokedAt']);
    expect(revoked.id).toBe(plain.id);
    expect(new Date(revoked.revokedAt as string).toISOString()).toBe(revoked.revokedAt);
    const revokedRow = await row<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM api_keys WHERE id = $1',
      [plain.id],
    );
    expect(revokedRow.revoked_at?.toISOString()).toBe(revoked.revokedAt);
    // Only that key was revoked.
    const other = await row<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE id = $1', [
      expired.id,
    ]);
    expect(other.revoked_at).toBeNull();
  });

  it('user:get prints id, email and avatarUrl (null before any upload)', async () => {
    const user = expectJson(await admin(['user:get', '--id', embeddedId]), ['id', 'email', 'avatarUrl']);
    expect(user).toEqual({ id: embeddedId, email: embeddedEmail, avatarUrl: null });
  });

  describe.concurrent('errors: non-zero exit, a sentence on stderr, nothing on stdout, nothing written', () => {
    it('an unknown command', async () => {
      const run = await admin(['org:destroy', '--name', 'x']);
      expectFailure(run, /unknown command/i);
      expect(run.stderr).toMatch(/org:destroy/);
    });

    it('a missing required flag', async () => {
      expectFailure(await admin(['user:create', '--email', email('x'), '--role', 'ADMIN']), /--org/);
    });

    it('an unknown flag', async () => {
      expectFailure(await admin(['org:create', '--name', 'x', '--colour', 'red']), /colour/);
    });

    it('a bad role', async () => {
      const badEmail = email('badrole');
      expectFailure(
        await admin(['user:create', '--email', badEmail, '--org', orgId, '--role', 'OWNER']),
        /role/i,
      );
      const users = await client.query('SELECT id FROM users WHERE email = $1', [badEmail]);
      expect(users.rows).toHaveLength(0);
    });

    it('an unknown organization id', async () => {
      const lostEmail = email('lost');
      const run = await admin([
        'user:create',
        '--email',
        lostEmail,
        '--org',
        randomUUID(),
        '--role',
        'ADMIN',
      ]);
      expectFailure(run, /not found/i);
      const users = await client.query('SELECT id FROM users WHERE email = $1', [lostEmail]);
      expect(users.rows).toHaveLength(0);
    });

    it('a duplicate email', async () => {
      const run = await admin(['user:create', '--email', adminEmail, '--org', orgId, '--role', 'ADMIN']);
      expectFailure(run, /already exists|taken/i);
      const users = await client.query('SELECT id FROM users WHERE email = $1', [adminEmail]);
      expect(users.rows).toEqual([{ id: adminId }]);
    });

    it('a malformed id', async () => {
      expectFailure(await admin(['key:revoke', '--id', "1' OR '1'='1"]), /--id/);
    });

    it('an unknown key id', async () => {
      expectFailure(await admin(['key:revoke', '--id', randomUUID()]), /not found/i);
    });

    it('no DATABASE_URL', async () => {
      const run = await admin(['org:create', '--name', 'Nowhere'], {});
      expectFailure(run, /DATABASE_URL/);
      const orgs = await client.query('SELECT id FROM organizations WHERE name = $1', ['Nowhere']);
      expect(orgs.rows).toHaveLength(0);
    });
  });
});
