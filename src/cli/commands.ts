import { displayPrefix, generateApiKey, hashApiKey } from '../auth/api-keys.js';
import type { Db } from '../db/client.js';
import { Prisma, type Role } from '../generated/prisma/client.js';

/** A failure the operator caused (bad flag, unknown id): printed as a sentence. */
export class CommandError extends Error {}

const ROLES: readonly Role[] = ['ADMIN', 'MEMBER'];

export function parseRole(value: string | undefined): Role {
  if (!value || !ROLES.includes(value as Role)) throw new CommandError('--role must be ADMIN or MEMBER.');
  return value as Role;
}

function parseDate(value: string, flag: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new CommandError(`${flag} must be an ISO date, e.g. 2030-01-31T00:00:00Z.`);
  return date;
}

const isUuid = (value: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

function requireId(value: string | undefined, flag: string): string {
  if (!value) throw new CommandError(`${flag} is required.`);
  if (!isUuid(value)) throw new CommandError(`${flag} must be an id printed by an earlier command.`);
  return value;
}

/** Turns Prisma's constraint errors into sentences an operator can act on. */
async function explain<T>(fn: () => Promise<T>, notFound: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError) {
      if (err.code === 'P2002')
        throw new CommandError('That record already exists (email or membership is taken).');
      if (err.code === 'P2003' || err.code === 'P2025') throw new CommandError(notFound);
    }
    throw err;
  }
}

export async function createOrg(db: Db, args: { name?: string }) {
  if (!args.name?.trim()) throw new CommandError('--name is required.');
  const org = await db.organization.create({ data: { name: args.name.trim() }, select: { id: true } });
  return { id: org.id };
}

export async function createUser(
  db: Db,
  args: { email?: string; org?: string; role?: string; embedded?: boolean; loggedInIndependently?: boolean },
) {
  const email = args.email?.trim();
  if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new CommandError('--email must be an email address.');
  const orgId = requireId(args.org, '--org');
  const role = parseRole(args.role);
  const user = await explain(
    () =>
      db.user.create({
        data: {
          email,
          ssoOrganizationId: args.embedded ? orgId : null,
          lastIndependentLoginAt: args.loggedInIndependently ? new Date() : null,
          memberships: { create: { organizationId: orgId, role } },
        },
        select: { id: true },
      }),
    'Organization not found.',
  );
  return { id: user.id };
}

export async function addMember(db: Db, args: { org?: string; user?: string; role?: string }) {
  const orgId = requireId(args.org, '--org');
  const userId = requireId(args.user, '--user');
  const role = parseRole(args.role);
  const membership = await explain(
    () =>
      db.membership.upsert({
        where: { organizationId_userId: { organizationId: orgId, userId } },
        create: { organizationId: orgId, userId, role },
        update: { role },
      }),
    'Organization or user not found.',
  );
  return { orgId: membership.organizationId, userId: membership.userId, role: membership.role };
}

export async function createKey(db: Db, args: { user?: string; org?: string; expiresAt?: string }) {
  const userId = requireId(args.user, '--user');
  const organizationId = args.org === undefined ? null : requireId(args.org, '--org');
  const expiresAt = args.expiresAt === undefined ? null : parseDate(args.expiresAt, '--expires-at');
  const key = generateApiKey();
  const row = await explain(
    () =>
      db.apiKey.create({
        data: { userId, organizationId, expiresAt, keyHash: hashApiKey(key), prefix: displayPrefix(key) },
        select: { id: true },
      }),
    'User or organization not found.',
  );
  return { id: row.id, key };
}

export async function revokeKey(db: Db, args: { id?: string }) {
  const id = requireId(args.id, '--id');
  const row = await explain(
    () =>
      db.apiKey.update({
        where: { id },
        data: { revokedAt: new Date() },
        select: { id: true, revokedAt: true },
      }),
    'API key not found.',
  );
  return { id: row.id, revokedAt: row.revokedAt?.toISOString() ?? null };
}

export async function getUser(db: Db, args: { id?: string }) {
  const id = requireId(args.id, '--id');
  const user = await db.user.findUnique({
    where: { id },
    select: { id: true, email: true, avatarUrl: true },
  });
  if (!user) throw new CommandError('User not found.');
  return user;
}
