import { readFile, writeFile } from 'node:fs/promises';
import { createKey, createOrg, createUser } from '../cli/commands.js';
import type { Db } from '../db/client.js';

export interface DemoSeed {
  orgId: string;
  adminId: string;
  userId: string;
  keyId: string;
  /** Kept in the git-ignored data folder so the printed curl works on every run. */
  key: string;
}

/**
 * Creates the demo org, its admin with an API key and one embedded user, or
 * reuses them when the saved ids still exist in the database (second run).
 */
export async function ensureDemoSeed(db: Db, file: string): Promise<{ seed: DemoSeed; reused: boolean }> {
  const saved = await readSaved(file);
  if (saved && (await stillThere(db, saved))) return { seed: saved, reused: true };

  const org = await createOrg(db, { name: 'Demo Org' });
  const suffix = org.id.slice(0, 8);
  const admin = await createUser(db, { email: `admin-${suffix}@demo.test`, org: org.id, role: 'ADMIN' });
  const user = await createUser(db, {
    email: `embedded-${suffix}@demo.test`,
    org: org.id,
    role: 'MEMBER',
    embedded: true,
  });
  const key = await createKey(db, { user: admin.id, org: org.id });
  const seed: DemoSeed = { orgId: org.id, adminId: admin.id, userId: user.id, keyId: key.id, key: key.key };
  await writeFile(file, `${JSON.stringify(seed, null, 2)}\n`, { mode: 0o600 });
  return { seed, reused: false };
}

async function readSaved(file: string): Promise<DemoSeed | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DemoSeed;
  } catch {
    return undefined;
  }
}

async function stillThere(db: Db, seed: DemoSeed): Promise<boolean> {
  const [key, user] = await Promise.all([
    db.apiKey.findFirst({ where: { id: seed.keyId, revokedAt: null, userId: seed.adminId } }),
    db.user.findFirst({ where: { id: seed.userId, ssoOrganizationId: seed.orgId } }),
  ]);
  return Boolean(key && user);
}
