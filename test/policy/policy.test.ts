import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { isCommonPassword } from '../../src/policy/fields';
import { canonicalEmail, emailProblem } from '../../src/policy/email';
import { checkPassword } from '../../src/policy/password';

describe('canonicalEmail', () => {
  it.each([
    ['  Alice@Example.COM ', 'alice@example.com'],
    ['jos\u0065\u0301@example.com', 'jos\u00e9@example.com'],
    ['\u212Aelvin@example.com', 'kelvin@example.com'],
    ['ANN+tag@example.com', 'ann+tag@example.com'],
  ])('maps %j to %j', (raw, canonical) => {
    expect(canonicalEmail(raw)).toBe(canonical);
  });

  it('is idempotent, also for characters whose case mapping decomposes', () => {
    for (const raw of [
      '\u0130stanbul@example.com',
      'STRASSE\u00df@example.com',
      '\u212A@x.io',
      'Σίσυφος@example.com',
      'ı@example.com',
    ]) {
      const once = canonicalEmail(raw);
      expect(canonicalEmail(once)).toBe(once);
    }
  });

  it('keeps dotless ı distinct from i (mail goes to the stored address only)', () => {
    expect(canonicalEmail('ı@example.com')).not.toBe(canonicalEmail('i@example.com'));
  });

  it('refuses compatibility characters that NFKC would fold onto another address', () => {
    expect(emailProblem(canonicalEmail('\uff41lice@example.com'))).toBe(
      'must not contain compatibility characters',
    );
    expect(emailProblem('alice@example.com')).toBeNull();
  });
});

describe('checkPassword', () => {
  const context = { email: 'ana@example.com', minLength: 8, productName: 'Edge Auth' };

  it('finds the most common passwords in D1, in any case', async () => {
    const db = database(env.DB);
    for (const p of [
      'password',
      'PASSWORD',
      '12345678',
      'iloveyou',
      'qwertyuiop',
      'qwerty123456',
    ]) {
      expect(await isCommonPassword(db, p)).toBe(true);
    }
    expect(await isCommonPassword(db, 'correct horse battery staple')).toBe(false);
  });

  it('holds the 100,000 most common passwords of 8 or more code points (migration 0005)', async () => {
    const db = database(env.DB);
    // The 50,000th and the last of them, and values that are awkward to write in SQL.
    for (const p of ['trek5500', 'smokey24', "don'tremember", 'asdfghjkl;', '1234567890--']) {
      expect(await isCommonPassword(db, p), p).toBe(true);
    }
    const { n } = (await env.DB.prepare('SELECT COUNT(*) AS n FROM common_passwords').first<{
      n: number;
    }>())!;
    // 0004's 10,000 and 0005's 126,890 (100,000 passwords, 26,890 more skeletons), 5,418 shared.
    expect(n).toBe(131_472);
  });

  it.each([
    ['P@SSW0RD!!', 'substitutions and a symbol suffix on "password"'],
    ['Monkey2024!!', 'a year and symbols after "monkey"'],
    ['$uperman1999', 'a substitution and a year on "superman"'],
    ['Pass-Word 2024', 'separators inside "password"'],
  ])('finds %j by its skeleton: %s', async (p) => {
    expect(await isCommonPassword(database(env.DB), p)).toBe(true);
  });

  it.each([
    ['839201748372', 'digits only: no skeleton at all'],
    ['Love83920174!', 'a skeleton ("love") too short to look up'],
    ['Tuesday-Kettle-77', 'a phrase with a suffix'],
    ['correct horse battery staple', 'a passphrase'],
    ['{g4\\^]!^An,T', 'random: its letters alone spell a listed skeleton ("gaiant")'],
    [":l:%E5,9['$O", 'random: its letters alone spell a listed skeleton ("iesgso")'],
  ])('accepts %j: %s', async (p) => {
    expect(await isCommonPassword(database(env.DB), p)).toBe(false);
  });

  it('returns the NFKC form that gets hashed', () => {
    const result = checkPassword('ﬁne ﬁsh in the sea', context);
    expect(result).toEqual({ ok: true, password: 'fine fish in the sea' });
  });

  it('never truncates: 128 code points pass, 129 do not', () => {
    expect(checkPassword('abcdefghij'.repeat(12) + 'abcdefgh', context).ok).toBe(true);
    expect(checkPassword('abcdefghij'.repeat(12) + 'abcdefghi', context).ok).toBe(false);
  });

  it.each(['abcabcabcabc', 'XyXyXyXyXyXy', 'passwordpassword', 'Tr0ub4dor&3Tr0ub4dor&3'])(
    'refuses %j, a pattern shorter than the minimum length repeated',
    (p) => {
      expect(checkPassword(p, { ...context, minLength: 12 })).toEqual({
        ok: false,
        problem: 'must not repeat a short pattern',
      });
    },
  );

  it('accepts a pattern as long as the minimum length, repeated', () => {
    expect(checkPassword('Tr0ub4dor&3!Tr0ub4dor&3!', { ...context, minLength: 12 }).ok).toBe(true);
  });

  it.each(['edge-auth-123', 'Edge_Auth!', 'e.d.g.e a.u.t.h', '3dg3@uth99'])(
    'refuses %j, the service name with punctuation, spaces or substitutions',
    (p) => {
      expect(checkPassword(p, context)).toEqual({
        ok: false,
        problem: 'must not contain the name of this service',
      });
    },
  );

  it.each(['AnaMaria-1990', 'ana_maria!!', 'xx ANA-MARIA xx'])(
    'refuses %j, the email’s local part with its punctuation moved or dropped',
    (p) => {
      expect(checkPassword(p, { ...context, email: 'ana.maria@example.com' })).toEqual({
        ok: false,
        problem: 'must not contain your email address',
      });
    },
  );

  it.each(['9876543210987', 'abcdefghijklm', 'zyxwvutsrqpon'])('refuses the sequence %s', (p) => {
    expect(checkPassword(p, context)).toEqual({
      ok: false,
      problem: 'must not be a simple sequence',
    });
  });
});
