import { letters } from './skeleton.mjs';

/** NIST SP 800-63B §3.1.1.2: at most 64 is the floor for what must be accepted; we take 128. */
export const MAX_PASSWORD_LENGTH = 128;

/**
 * The one form a password is measured, checked and hashed in, on every route that takes one
 * (register, login, change, reset, re-authentication): NFKC, so composed and decomposed input,
 * or full-width and ASCII, are one password.
 */
export const normalizePassword = (raw: string) => raw.normalize('NFKC');

export type PasswordCheck = { ok: true; password: string } | { ok: false; problem: string };

/**
 * The password policy of API.md that needs no lookup: length in code points after NFKC, never
 * truncated, no composition rules, and not a value an attacker tries first (one repeated
 * character or short pattern, a straight sequence, the user's own address or the service's
 * name, however punctuated). The list of common passwords is checked in D1 by fields.ts.
 * Returns the NFKC form, which is what gets hashed, so composed and decomposed input verify alike.
 */
export function checkPassword(
  raw: string,
  context: { email: string; minLength: number; productName: string },
): PasswordCheck {
  const password = normalizePassword(raw);
  const codePoints = [...password];
  if (codePoints.length < context.minLength) {
    return { ok: false, problem: `must be at least ${context.minLength} characters` };
  }
  if (codePoints.length > MAX_PASSWORD_LENGTH) {
    return { ok: false, problem: `must be at most ${MAX_PASSWORD_LENGTH} characters` };
  }
  const lowered = password.toLowerCase();
  if (new Set(codePoints).size === 1)
    return { ok: false, problem: 'must not repeat one character' };
  if (repeatsShortPattern([...lowered], context.minLength)) {
    return { ok: false, problem: 'must not repeat a short pattern' };
  }
  if (isSequence(codePoints)) return { ok: false, problem: 'must not be a simple sequence' };
  // Compared as letters only: "ana.maria" is in "AnaMaria-1990", "Edge Auth" in "edge-auth-123".
  // Parts shorter than four letters are skipped: "ana" would refuse "banana".
  const bare = letters(lowered);
  const contains = (part: string) => part.length >= 4 && bare.includes(part);
  if (contains(letters(context.email)) || contains(letters(context.email.split('@')[0] ?? ''))) {
    return { ok: false, problem: 'must not contain your email address' };
  }
  if (contains(letters(context.productName.toLowerCase()))) {
    return { ok: false, problem: 'must not contain the name of this service' };
  }
  return { ok: true, password };
}

/**
 * "abcabcabcabc", "passwordpassword": a unit too short to pass as a password on its own,
 * repeated up to the length. Cracking rules double every word; the strength is the unit's.
 */
function repeatsShortPattern(chars: string[], minLength: number): boolean {
  for (let unit = 2; unit < minLength && unit * 2 <= chars.length; unit++) {
    if (chars.length % unit === 0 && chars.every((c, i) => c === chars[i % unit])) return true;
  }
  return false;
}

/** "abcdef...", "987654...", "1234567890123" (digits wrap around). */
function isSequence(chars: string[]): boolean {
  const codes = chars.map((c) => c.codePointAt(0)!);
  const isDigit = (n: number) => n >= 48 && n <= 57;
  const step = (a: number, b: number) =>
    isDigit(a) && isDigit(b) ? (((b - a) % 10) + 10) % 10 : b - a;
  const first = step(codes[0]!, codes[1]!);
  if (first !== 1 && first !== -1 && first !== 9) return false;
  return codes.every((c, i) => i === 0 || step(codes[i - 1]!, c) === first);
}
