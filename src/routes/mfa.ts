import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { failureStatements } from '../abuse/lockout';
import { authenticate } from '../accounts/authenticate';
import { auditContext, auditEvent } from '../audit/audit';
import { seal } from '../crypto/secret-box';
import { base32Encode, matchTotp, newTotpSecret, otpauthUri, qrSvg } from '../crypto/totp';
import { database } from '../db/client';
import { recoveryCodes, users } from '../db/schema';
import { ApiError } from '../errors';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { verifyChallenge } from '../mfa/challenge';
import {
  consumeFactor,
  newRecoveryCodes,
  readFactor,
  recoveryCodeHash,
  recoveryCodeRows,
  removeFactorStatements,
  totpSecretOf,
} from '../mfa/factors';
import { rateLimit } from '../middleware/rate-limit';
import { passwordField } from '../policy/fields';
import { clientMeta } from '../request-meta';
import { createRouter } from '../router';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { assertSessionLive, revokeUserSessions } from '../sessions/store';
import { signedInUser } from '../users/users';
import { bearer, jsonBody, problem } from './openapi';

const code = z.string().max(64).openapi({
  description: 'A 6-digit TOTP code (a string: leading zeros count) or a recovery code',
});
const tags = ['Two-factor authentication'];

export const mfa = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/mfa/verify',
      tags,
      summary: 'Second login step: the mfa_token from /auth/login and a TOTP or recovery code',
      middleware: rateLimit('MFA_VERIFY'),
      request: jsonBody(z.object({ mfa_token: z.string().max(256), code })),
      responses: {
        200: {
          description: 'Signed in',
          content: { 'application/json': { schema: tokenResponse } },
        },
        401: problem,
        429: problem,
      },
    }),
    async (c) => {
      const { mfa_token, code } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const now = Date.now();
      const { user, session } = await verifyChallenge(
        db,
        config,
        ctx,
        mfa_token,
        code,
        now,
        clientMeta(c),
      );
      const grant = {
        ...session,
        userId: user.id,
        role: user.role,
        emailVerified: user.emailVerifiedAt !== null,
      };
      return respondWithTokens(c, grant, now);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/setup',
      tags,
      summary: 'Start TOTP enrolment (needs the password): a new secret, its URI and QR code, once',
      ...bearer,
      request: jsonBody(z.object({ password: passwordField })),
      responses: {
        200: {
          description: 'Scan the QR code (or type the secret), then confirm with /enable',
          content: {
            'application/json': {
              schema: z.object({
                secret: z.string(),
                otpauth_uri: z.string(),
                qr_svg: z.string().openapi({ description: 'The otpauth:// URI as an SVG QR code' }),
              }),
            },
          },
        },
        401: problem,
        403: problem,
        409: problem,
        423: problem,
      },
    }),
    async (c) => {
      const { password } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const user = await signedInUser(c);
      if (user.totpEnabledAt !== null)
        throw new ApiError('mfa_already_enabled', 'Two-factor authentication is already on.');
      // A stolen access token alone must not be able to put a factor on the account and lock its
      // owner out: enrolment needs the password, under the lockout like every proof.
      const auth = await authenticate(
        db,
        config,
        auditContext(c),
        user.email,
        password,
        'mfa_setup',
      );
      const secret = newTotpSecret();
      const sealed = await seal(config.TOTP_ENCRYPTION_KEY, secret, user.id);
      const [pending] = await db.batch([
        db
          .update(users)
          .set({
            totpSecret: sealed.ciphertext,
            totpKeyVersion: sealed.version,
            totpLastStep: null,
            updatedAt: Date.now(),
          })
          .where(and(eq(users.id, user.id), isNull(users.totpEnabledAt)))
          .returning({ id: users.id }),
        auth.clearFailures,
      ]);
      if (pending.length === 0)
        throw new ApiError('mfa_already_enabled', 'Two-factor authentication is already on.');
      const uri = otpauthUri(secret, config.PRODUCT_NAME, user.email);
      c.header('Cache-Control', 'no-store');
      return c.json({ secret: base32Encode(secret), otpauth_uri: uri, qr_svg: qrSvg(uri) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/enable',
      tags,
      summary: 'Confirm enrolment with a current code; returns 10 one-time recovery codes, once',
      ...bearer,
      request: jsonBody(z.object({ code })),
      responses: {
        200: {
          description: 'Two-factor authentication is on',
          content: {
            'application/json': { schema: z.object({ recovery_codes: z.array(z.string()) }) },
          },
        },
        400: problem,
        401: problem,
        409: problem,
      },
    }),
    async (c) => {
      const { code } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const user = await signedInUser(c);
      if (user.totpEnabledAt !== null)
        throw new ApiError('mfa_already_enabled', 'Two-factor authentication is already on.');
      const secret = await totpSecretOf(config, user);
      const now = Date.now();
      const step = secret && (await matchTotp(secret, code, now));
      const wrong = new ApiError(
        'invalid_mfa_code',
        'The code is not valid; check the time on your device.',
        { status: 400 },
      );
      if (step === null || step === undefined) {
        await db.batch([
          auditEvent(db, auditContext(c), 'mfa.failed', user.id, { during: 'enable' }),
        ]);
        throw wrong;
      }
      const codes = newRecoveryCodes();
      const hashes = await Promise.all(codes.map((rc) => recoveryCodeHash(config, user.id, rc)));
      // Enabled only if the secret is still the one this code was checked against; the
      // confirming code's step counts as used (THREATS H6).
      const enabledNow = sql`EXISTS (SELECT 1 FROM users WHERE id = ${user.id} AND totp_enabled_at = ${now})`;
      const [enabled] = await db.batch([
        db
          .update(users)
          .set({ totpEnabledAt: now, totpLastStep: step, updatedAt: now })
          .where(
            and(
              eq(users.id, user.id),
              isNull(users.totpEnabledAt),
              eq(users.totpSecret, user.totpSecret!),
            ),
          )
          .returning({ id: users.id }),
        db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), sql`${enabledNow}`)),
        ...recoveryCodeRows(db, user.id, hashes, now, enabledNow),
        auditEvent(db, auditContext(c), 'mfa.enabled', user.id, {}, enabledNow),
      ]);
      if (enabled.length === 0) throw wrong;
      sendLater(c, templates.mfaEnabled(user.email, config.PRODUCT_NAME));
      c.header('Cache-Control', 'no-store');
      return c.json({ recovery_codes: codes }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/disable',
      tags,
      summary: 'Turn TOTP off with the password and a current code; other sessions are revoked',
      ...bearer,
      request: jsonBody(z.object({ password: passwordField, code })),
      responses: {
        204: { description: 'Two-factor authentication is off' },
        401: problem,
        403: problem,
        423: problem,
      },
    }),
    async (c) => {
      const { password, code } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const { sid } = c.var.auth;
      const user = await signedInUser(c);
      await assertSessionLive(db, sid, Date.now());
      const auth = await authenticate(db, config, ctx, user.email, password, 'mfa_disable');
      const now = Date.now();
      const factor = user.totpEnabledAt !== null ? await readFactor(config, user, code, now) : null;
      const consumed = factor ? (await db.batch([consumeFactor(db, user.id, factor, now)]))[0] : [];
      if (consumed.length !== 1) {
        // The attempt this request claimed for the password stays counted: a wrong code is a
        // failure like a wrong password, under the same threshold.
        await db.batch([
          auditEvent(db, ctx, 'mfa.failed', user.id, { during: 'disable', attempt: auth.attempt }),
          ...failureStatements(db, config, ctx, user.email, user.id, auth.attempt, now),
        ]);
        throw new ApiError('invalid_mfa_code', 'The code is not valid.', { status: 403 });
      }
      await revokeUserSessions(db, c.env.KV, config, user.id, 'mfa_disabled', now, {
        keep: sid,
        alsoRun: [
          ...removeFactorStatements(db, user.id, now),
          auth.clearFailures,
          auditEvent(db, ctx, 'mfa.disabled', user.id, { session_id: sid }),
        ],
      });
      sendLater(c, templates.mfaDisabled(user.email, config.PRODUCT_NAME));
      return c.body(null, 204);
    },
  );
