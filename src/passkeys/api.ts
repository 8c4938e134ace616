import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { requireAuth } from '../middleware/bearer';
import { rateLimit } from '../middleware/rate-limit';
import { createRouter } from '../router';
import { bearer, jsonBody, problem } from '../routes/openapi';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { nameField, signedInUser } from '../users/users';
import {
  authenticationOptions,
  registerPasskey,
  registrationOptions,
  signInWithPasskey,
} from './ceremonies';
import { deletePasskey, passkeysOf, renamePasskey, toPasskeyObject } from './store';

const tags = ['Passkeys'];
/**
 * The options routes count apart from sign-ins (with the same limit): /sign-in fetches options
 * for the email field's autofill on every view, which must not use up a client's login budget.
 */
export const OPTIONS_BUCKET = 'passkey_options';
// The browser's PublicKeyCredential.toJSON(): base64url fields, bounded; the ceremony checks
// decide the rest (unknown members are dropped).
const b64url = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const credentialId = b64url(1400);
export const registrationResponse = z
  .object({
    id: credentialId,
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: b64url(4096),
      attestationObject: b64url(8192),
      transports: z.array(z.string().max(32)).max(8).optional(),
    }),
  })
  .openapi('PasskeyRegistrationResponse');
export const authenticationResponse = z
  .object({
    id: credentialId,
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: b64url(4096),
      authenticatorData: b64url(4096),
      signature: b64url(1024),
      userHandle: b64url(256).nullable().optional(),
    }),
  })
  .openapi('PasskeyAuthenticationResponse');

const passkey = z
  .object({
    id: z.string(),
    name: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi('Passkey');
const options = (description: string) => ({
  description,
  content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
});
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const idParam = { params: z.object({ id: z.string().max(64) }) };

/** Passkey sign-in (anyone) and the signed-in user's passkeys (Bearer). */
export const passkeysApi = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/passkey/options',
      middleware: rateLimit('LOGIN', OPTIONS_BUCKET),
      request: jsonBody(z.object({ email: z.string().max(320).optional() }), false),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'WebAuthn request options for a passkey sign-in (email optional)',
        responses: { 200: options('PublicKeyCredentialRequestOptionsJSON'), 429: problem },
      }),
    }),
    async (c) => {
      const { email } = c.req.valid('json') ?? {};
      c.header('Cache-Control', 'no-store');
      return c.json(await authenticationOptions(c, email), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/passkey/verify',
      middleware: rateLimit('LOGIN'),
      request: jsonBody(z.object({ response: authenticationResponse })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Sign in with a passkey (the browser assertion); skips the TOTP step',
        responses: {
          200: json(tokenResponse, 'Signed in'),
          401: problem,
          403: problem,
          423: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const signedIn = await signInWithPasskey(c, c.req.valid('json').response);
      return respondWithTokens(c, signedIn.grant, signedIn.now, signedIn.persisting);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/passkeys/options',
      // Each writes a challenge row: bounded per client like the sign-in options.
      middleware: [requireAuth, rateLimit('LOGIN', OPTIONS_BUCKET)] as const,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary:
          'WebAuthn creation options to register a passkey (a confirmed email and a sign-in within 10 minutes)',
        security: bearer.security,
        responses: {
          200: options('PublicKeyCredentialCreationOptionsJSON'),
          401: problem,
          403: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      c.header('Cache-Control', 'no-store');
      return c.json(await registrationOptions(c, user, c.var.auth.sid), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/passkeys',
      middleware: bearer.middleware,
      request: jsonBody(z.object({ response: registrationResponse, name: nameField.optional() })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Register a passkey (the browser attestation); the user is mailed a notice',
        security: bearer.security,
        responses: {
          201: json(passkey, 'Registered'),
          400: problem,
          401: problem,
          403: problem,
          422: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const { response, name } = c.req.valid('json');
      const row = await registerPasskey(c, user, c.var.auth.sid, response, name);
      sendLater(c, templates.passkeyAdded(user.email, c.var.config.PRODUCT_NAME, row.name));
      return c.json(toPasskeyObject(row), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me/passkeys',
      middleware: bearer.middleware,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: "The signed-in user's passkeys, oldest first",
        security: bearer.security,
        responses: {
          200: json(z.object({ passkeys: z.array(passkey) }), 'Passkeys'),
          401: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const rows = await passkeysOf(c, user.id);
      c.header('Cache-Control', 'no-store');
      return c.json({ passkeys: rows.map(toPasskeyObject) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/users/me/passkeys/{id}',
      middleware: bearer.middleware,
      request: { ...idParam, ...jsonBody(z.object({ name: nameField })) },
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Rename a passkey',
        security: bearer.security,
        responses: { 200: json(passkey, 'Renamed'), 401: problem, 404: problem, 422: problem },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const row = await renamePasskey(
        c,
        user.id,
        c.req.valid('param').id,
        c.req.valid('json').name,
      );
      return c.json(toPasskeyObject(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/users/me/passkeys/{id}',
      middleware: bearer.middleware,
      request: idParam,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Delete a passkey (not the last way to sign in)',
        security: bearer.security,
        responses: { 204: { description: 'Deleted' }, 401: problem, 404: problem, 409: problem },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      await deletePasskey(c, user.id, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
