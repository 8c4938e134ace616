/// <reference types="vite/client" />
// Every write of a `users` row goes through userWritten (src/profile/cache.ts), so that no write
// can leave GET /users/me serving the row as it was. This reads the source: a file that starts
// writing `users`, or one more write in a file that already does, fails here until it is looked at.
import { describe, expect, it } from 'vitest';

const sources: Record<string, string> = import.meta.glob('../../src/**/*.{ts,tsx}', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** drizzle's update/delete of `users`, an insert that may overwrite a row, and raw SQL. */
const WRITE =
  /\.(?:update|delete)\(\s*users\s*\)|\.insert\(\s*users\s*\)[^;]*onConflictDoUpdate|\b(?:UPDATE\s+users|DELETE\s+FROM\s+users|REPLACE\s+INTO\s+users)\b/gi;

/**
 * Files that write `users`: how many writes, and how many of them may change what GET /users/me
 * shows (each followed by a userWritten call); `why` says why the others need none.
 */
const WRITERS: Record<string, { writes: number; cached: number; why?: string }> = {
  'src/routes/users.ts': { writes: 1, cached: 1 },
  'src/pages/account/profile.tsx': { writes: 1, cached: 1 },
  'src/users/admin-update.ts': { writes: 1, cached: 1 },
  'src/mfa/enrolment.ts': { writes: 2, cached: 2 },
  'src/lifecycle/email-change.ts': { writes: 1, cached: 1 },
  'src/lifecycle/invitation.ts': { writes: 1, cached: 1 },
  'src/lifecycle/erasure.ts': { writes: 1, cached: 1 },
  'src/accounts/email-links.ts': {
    writes: 2,
    cached: 1,
    why: 'resetPassword sets the password hash only',
  },
  'src/accounts/password-change.ts': { writes: 1, cached: 0, why: 'the password hash only' },
  'src/mfa/factors.ts': {
    writes: 2,
    cached: 0,
    why: 'statement builders: consumeFactor sets totp_last_step (not in the profile); the callers of removeFactorStatements are checked below',
  },
  'src/accounts/rehash.ts': { writes: 1, cached: 0, why: 'the password hash only, on sign-in' },
  'src/mfa/reseal.ts': { writes: 1, cached: 0, why: 'the cron re-seals TOTP secrets' },
  'src/sessions/store.ts': {
    writes: 1,
    cached: 0,
    why: 'a sign-in records its session shard and latest session id, neither in the profile',
  },
};

const relative = (path: string) => path.replace(/^(\.\.\/)+/, '');
const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;
const calls = (text: string, fn: string) => count(text, new RegExp(`\\b${fn}\\(`, 'g'));

describe('writes of users', () => {
  it('are all in the files listed, as many as listed', () => {
    const found: Record<string, number> = {};
    for (const [path, text] of Object.entries(sources)) {
      const n = count(text, WRITE);
      if (n > 0 && !path.endsWith('src/profile/cache.ts')) found[relative(path)] = n;
    }
    const listed = Object.fromEntries(Object.entries(WRITERS).map(([f, w]) => [f, w.writes]));
    expect(found).toEqual(listed);
  });

  it('are each followed by userWritten where the profile may change', () => {
    for (const [file, writer] of Object.entries(WRITERS)) {
      const text = sources[`../../${file}`]!;
      expect(calls(text, 'userWritten'), file).toBeGreaterThanOrEqual(writer.cached);
    }
  });

  it('of two-factor removal are followed by userWritten in every caller', () => {
    const callers = Object.entries(sources).filter(
      ([path, text]) =>
        !path.endsWith('src/mfa/factors.ts') && calls(text, 'removeFactorStatements'),
    );
    expect(callers.length).toBeGreaterThanOrEqual(2);
    for (const [path, text] of callers) {
      expect(calls(text, 'userWritten'), path).toBeGreaterThanOrEqual(
        calls(text, 'removeFactorStatements'),
      );
    }
  });
});
