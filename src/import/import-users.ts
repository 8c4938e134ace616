import { auditEvent, type AuditContext } from '../audit/audit';
import { parseLegacyHash, type LegacyProblem } from '../crypto/legacy/formats';
import { NO_PASSWORD } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { users } from '../db/schema';
import { canonicalEmail, emailProblem } from '../policy/email';

export type ImportEntry = {
  email: string;
  name?: string | undefined;
  email_verified?: boolean | undefined;
  role?: 'user' | 'admin' | undefined;
  password_hash?: string | undefined;
};

export type SkipReason = 'invalid_email' | 'duplicate' | 'exists' | LegacyProblem;
export type ImportResult = { created: number; skipped: { email: string; reason: SkipReason }[] };

// Eight bound values a row: twelve rows stay under D1's 100 parameters a statement.
const ROWS_PER_INSERT = 12;

/**
 * Creates the accounts of one import batch. Each user is one row, written whole or not at all;
 * every statement is in one D1 batch (one transaction). An email that already has an account,
 * now or by a registration racing this batch, is skipped as `exists` by the UNIQUE index, so
 * re-sending a batch is harmless. Emails are canonicalised and checked as registration does;
 * each password hash is parsed and its cost bounded, never evaluated, logged or audited.
 */
export async function importUsers(
  db: Database,
  ctx: AuditContext,
  actorId: string,
  entries: ImportEntry[],
  now: number,
): Promise<ImportResult> {
  const skipped: ImportResult['skipped'] = [];
  const seen = new Set<string>();
  const rows: (typeof users.$inferInsert)[] = [];
  for (const entry of entries) {
    const email = canonicalEmail(entry.email);
    if (emailProblem(email)) {
      skipped.push({ email: entry.email, reason: 'invalid_email' });
      continue;
    }
    if (seen.has(email)) {
      skipped.push({ email, reason: 'duplicate' });
      continue;
    }
    seen.add(email);
    let passwordHash = NO_PASSWORD;
    if (entry.password_hash !== undefined) {
      const parsed = parseLegacyHash(entry.password_hash);
      if (!parsed.ok) {
        skipped.push({ email, reason: parsed.problem });
        continue;
      }
      passwordHash = entry.password_hash;
    }
    rows.push({
      id: uuidv7(now),
      email,
      name: entry.name ?? null,
      passwordHash,
      role: entry.role ?? 'user',
      emailVerifiedAt: entry.email_verified ? now : null,
      createdAt: now,
      updatedAt: now,
    });
  }
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    inserts.push(
      db
        .insert(users)
        .values(chunk)
        .onConflictDoNothing({ target: users.email })
        .returning({ email: users.email }),
    );
  }
  const results = inserts.length > 0 ? await db.batch(inserts as [(typeof inserts)[0]]) : [];
  const created = new Set(results.flat().map((r) => r.email));
  for (const row of rows)
    if (!created.has(row.email)) skipped.push({ email: row.email, reason: 'exists' });
  const reasons: Record<string, number> = {};
  for (const s of skipped)
    reasons[`skipped_${s.reason}`] = (reasons[`skipped_${s.reason}`] ?? 0) + 1;
  // Written after the batch because its counts come from the batch's RETURNING; counts only.
  await db.batch([
    auditEvent(db, ctx, 'users.imported', actorId, {
      received: entries.length,
      created: created.size,
      // Accounts created with the admin role: worth seeing on their own in the audit log.
      admins: rows.filter((r) => r.role === 'admin' && created.has(r.email)).length,
      skipped: skipped.length,
      ...reasons,
    }),
  ]);
  return { created: created.size, skipped };
}
