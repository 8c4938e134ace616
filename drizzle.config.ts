import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes the next flat NNNN_name.sql into migrations/, which both
// `wrangler d1 migrations apply` and the test setup read.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './migrations',
});
