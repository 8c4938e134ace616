// Offline checks that the migrations a deploy applies can build the schema the code uses:
// the folder exists; files are NNNN_name.sql numbered 0000, 0001, ... without a gap; drizzle's
// journal lists exactly those files in order, each with its snapshot; the last snapshot has the
// tables and columns of src/db/schema.ts (a schema edit without `npm run db:generate` shows up
// here); and every table of the schema is created by some migration.
import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

async function schemaTables(root) {
  const { outputFiles } = await build({
    stdin: {
      contents: `export * as schema from './src/db/schema.ts';
                 export { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
  });
  const code = Buffer.from(outputFiles[0].contents).toString('base64');
  const { schema, getTableConfig, SQLiteTable } = await import(
    `data:text/javascript;base64,${code}`
  );
  const tables = new Map();
  for (const value of Object.values(schema)) {
    if (!(value instanceof SQLiteTable)) continue;
    const config = getTableConfig(value);
    tables.set(config.name, new Set(config.columns.map((c) => c.name)));
  }
  return tables;
}

/** Problems with the local migrations folder, one line each. */
export async function migrationProblems(root, dir, name) {
  if (!existsSync(dir)) return [`migrations: folder ${name}/ does not exist`];
  const problems = [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  if (files.length === 0) problems.push(`migrations: no .sql files in ${name}/`);
  files.forEach((file, i) => {
    const match = FILE.exec(file);
    if (!match) problems.push(`migrations: ${file} is not named NNNN_name.sql`);
    else if (Number(match[1]) !== i) {
      problems.push(
        `migrations: ${file} is number ${Number(match[1])} but is file ${i} in order (a gap or a duplicate number)`,
      );
    }
  });

  const journalPath = join(dir, 'meta/_journal.json');
  let lastSnapshot;
  if (existsSync(journalPath)) {
    const tags = JSON.parse(readFileSync(journalPath, 'utf8')).entries.map((e) => e.tag);
    const names = files.map((f) => f.replace(/\.sql$/, ''));
    for (const name of names.filter((n) => !tags.includes(n))) {
      problems.push(`migrations: ${name}.sql is not in meta/_journal.json (made by hand?)`);
    }
    for (const tag of tags.filter((t) => !names.includes(t))) {
      problems.push(`migrations: meta/_journal.json lists ${tag} but ${tag}.sql does not exist`);
    }
    if (tags.join() !== names.filter((n) => tags.includes(n)).join()) {
      problems.push('migrations: meta/_journal.json lists the files in another order');
    }
    for (const tag of tags) {
      const snapshot = join(dir, `meta/${tag.slice(0, 4)}_snapshot.json`);
      if (!existsSync(snapshot)) problems.push(`migrations: no snapshot for ${tag} in meta/`);
      else lastSnapshot = snapshot;
    }
  }

  const code = await schemaTables(root);
  const sql = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  for (const table of code.keys()) {
    const create = new RegExp(`CREATE TABLE (IF NOT EXISTS )?[\`"]?${table}[\`"]?[\\s(]`, 'i');
    if (!create.test(sql)) {
      problems.push(`migrations: table ${table} (src/db/schema.ts) is created by no migration`);
    }
  }
  if (lastSnapshot) {
    const snapshot = JSON.parse(readFileSync(lastSnapshot, 'utf8')).tables;
    for (const [table, columns] of code) {
      const known = snapshot[table];
      if (!known) continue; // reported above when no migration creates it; else a hand-written one
      for (const column of columns) {
        if (!known.columns[column]) {
          problems.push(
            `migrations: column ${table}.${column} (src/db/schema.ts) is in no migration: run npm run db:generate`,
          );
        }
      }
    }
    for (const table of Object.keys(snapshot).filter((t) => !code.has(t))) {
      problems.push(
        `migrations: table ${table} is in the last snapshot but not in src/db/schema.ts: run npm run db:generate`,
      );
    }
  }
  return problems;
}
