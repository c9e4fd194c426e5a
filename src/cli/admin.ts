import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/env.js';
import { createDb, type Db } from '../db/client.js';
import { addMember, CommandError, createKey, createOrg, createUser, getUser, revokeKey } from './commands.js';

// `npm run -s admin -- <command> [flags]`: one JSON object on stdout and exit 0,
// or one sentence on stderr and a non-zero exit.

type Command = {
  flags: Record<string, { type: 'string' | 'boolean' }>;
  // biome-ignore lint/suspicious/noExplicitAny: parseArgs has checked the values against this command's own flags
  run: (db: Db, values: any) => Promise<object>;
};

const COMMANDS: Record<string, Command> = {
  'org:create': { flags: { name: { type: 'string' } }, run: createOrg },
  'user:create': {
    flags: {
      email: { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      embedded: { type: 'boolean' },
      'logged-in-independently': { type: 'boolean' },
    },
    run: (db, v) => createUser(db, { ...v, loggedInIndependently: v['logged-in-independently'] }),
  },
  'member:add': {
    flags: { org: { type: 'string' }, user: { type: 'string' }, role: { type: 'string' } },
    run: addMember,
  },
  'key:create': {
    flags: { user: { type: 'string' }, org: { type: 'string' }, 'expires-at': { type: 'string' } },
    run: (db, v) => createKey(db, { ...v, expiresAt: v['expires-at'] }),
  },
  'key:revoke': { flags: { id: { type: 'string' } }, run: revokeKey },
  'user:get': { flags: { id: { type: 'string' } }, run: getUser },
};

const usage = `Usage: npm run -s admin -- <command> [flags]\nCommands: ${Object.keys(COMMANDS).join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(name ? `Unknown command "${name}".\n${usage}` : usage);
    return 2;
  }
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: rest, options: command.flags, strict: true, allowPositionals: false }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }

  let databaseUrl: string | undefined;
  try {
    databaseUrl = loadConfig(process.env).databaseUrl;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : String(err));
    return 1;
  }
  if (!databaseUrl) {
    console.error('DATABASE_URL is not set: the admin commands need the database to work on.');
    return 1;
  }

  const db = createDb({ url: databaseUrl, poolMax: 1, timeoutMs: 15_000 });
  try {
    const result = await command.run(db, values);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CommandError) console.error(err.message);
    else
      console.error(`The command failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return 1;
  } finally {
    await db.$disconnect();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
