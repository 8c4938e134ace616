// What the passkeys phase reads back from its worker: new accounts over the API, the D1 rows a
// sign-in writes (with the passkeys table), the audit trail and the worker's log of refusals.
import assert from 'node:assert/strict';
import { d1Rows, d1Snapshot } from './d1.mjs';
import { mailTo, verificationToken } from './flows.mjs';
import { sleep, waitFor } from './harness.mjs';
import { PASSWORD, client, expectStatus, uniqueEmail } from './http.mjs';

/**
 * A new password account, made over the API, its address confirmed through the mailed link (a
 * passkey can be added only then): { email, id }.
 */
export async function passwordUser(s, label) {
  const email = uniqueEmail(label);
  const api = client(s.direct);
  const res = await api.post('/auth/register', { email, password: PASSWORD });
  const token = verificationToken(await mailTo(s.direct, email, /confirm/i), s.base);
  expectStatus(await api.post('/auth/email/verify', { token }), 200);
  return { email, id: expectStatus(res, 201).body.id };
}

/** The passkey rows of an account, as D1 holds them. */
export const passkeyRows = (s, userId) =>
  d1Rows(
    s.worker,
    `SELECT id, credential_id, sign_count, backup_eligible, backed_up, transports, name,
      last_used_at FROM passkeys WHERE user_id = '${userId}' ORDER BY created_at`,
  );

/** What a refusal writes: its audit event, nothing else (no session, no lockout row). */
export const REFUSED = { 'audit:passkey.refused': 1 };

/** d1Snapshot with the passkeys table. */
export const snapshot = (s) => d1Snapshot(s.worker, ['passkeys']);

/** The newest passkey.refused audit event of an account, its detail parsed. */
export async function lastRefusal(s, userId) {
  const [event] = await d1Rows(
    s.worker,
    `SELECT detail FROM audit_events WHERE type = 'passkey.refused' AND user_id = '${userId}'
      ORDER BY id DESC LIMIT 1`,
  );
  assert.ok(event, 'a passkey.refused audit event');
  return JSON.parse(event.detail);
}

/** The reason of the one "passkey sign-in refused" line the worker logged after `mark`. */
export async function refusedBecause(s, mark) {
  const refusals = () =>
    s.worker
      .output()
      .slice(mark)
      .split('\n')
      .filter((line) => line.includes('passkey sign-in refused'));
  // The log trails the response by a few milliseconds.
  await waitFor('the refusal in the worker log', () => refusals().length > 0, { timeoutMs: 5_000 });
  await sleep(200);
  const lines = refusals();
  assert.equal(lines.length, 1, `one refusal logged: ${lines.join('\n')}`);
  const reason = /"reason":("(?:[^"\\]|\\.)*")/.exec(lines[0])?.[1];
  return reason ? JSON.parse(reason) : lines[0];
}
