import type { Config } from '../config';
import type { Logger } from '../logger';

// "SUFFIX:COUNT": the 35 hex digits of the SHA-1 after the 5 of the prefix, and how often the
// corpus has seen that password. Padding lines are made-up suffixes with a count of 0.
const RANGE_LINE = /^([0-9A-Fa-f]{35}):(\d+)$/;

/**
 * Whether the Pwned Passwords corpus has seen this (NFKC) password, asked by k-anonymity: only
 * the first five hex digits of its SHA-1 leave the worker, and `Add-Padding` has the API pad
 * every answer to 800 to 1,000 lines, so the answer's size does not tell an observer of the
 * encrypted traffic which range was asked for.
 *
 * Fails open: when the API errors, is slower than BREACHED_PASSWORD_TIMEOUT_MS or answers
 * something that is not a range, the password is accepted and a warning logged. The API is a
 * third party we cannot make available, and failing closed would hand its outages every
 * registration, password change and reset (the way back into an account), while the list of
 * the most common passwords in D1, which fails closed, has already been checked.
 */
export async function isBreachedPassword(
  password: string,
  config: Config,
  log: Logger,
): Promise<boolean> {
  const hash = await sha1Hex(password);
  let body: string;
  try {
    const res = await fetch(`${config.BREACHED_PASSWORD_API_URL}/range/${hash.slice(0, 5)}`, {
      headers: { 'Add-Padding': 'true', 'User-Agent': 'edge-auth-worker' },
      signal: AbortSignal.timeout(config.BREACHED_PASSWORD_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return unavailable(log, `status ${res.status}`);
    }
    body = await res.text();
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    return unavailable(log, timedOut ? 'timeout' : 'unreachable');
  }
  const count = countOf(body, hash.slice(5));
  return count === null ? unavailable(log, 'not a range') : count > 0;
}

/** The count on the line of `suffix`, 0 when it has none, or null when `body` is no range. */
function countOf(body: string, suffix: string): number | null {
  let isRange = false;
  for (const line of body.split('\n')) {
    const match = RANGE_LINE.exec(line.trim());
    if (!match) continue;
    isRange = true;
    if (match[1]!.toUpperCase() === suffix) return Number(match[2]);
  }
  return isRange ? 0 : null;
}

function unavailable(log: Logger, reason: string): false {
  log.warn('breached-password check unavailable; password accepted without it', { reason });
  return false;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}
