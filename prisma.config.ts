import { defineConfig } from 'prisma/config';

// The Prisma CLI only needs the schema to generate the client. Migrations are
// applied by `npm run db:migrate` (src/db/migrate.ts), which records them in
// `_prisma_migrations` the way `prisma migrate deploy` does.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/postgres' },
});
