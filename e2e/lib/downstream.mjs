// The downstream verifiers "nobody here wrote", each in its own process: Node with jose's
// createRemoteJWKSet, Python with PyJWT's PyJWKClient, and a Hono app with `hono/jwk`. All
// discover the JWKS through the worker's /.well-known/openid-configuration, exactly as a third
// party would.
import { join } from 'node:path';
import { freePort, root, runProcess, startProcess, waitFor } from './harness.mjs';
import { findPython } from './python.mjs';

const verifiers = join(root, 'e2e/verifiers');

/** The Python with PyJWT (and cryptography, for RS256). */
export const python = () =>
  findPython('import jwt, jwt.algorithms; assert jwt.algorithms.has_crypto', 'python3-jwt');

async function run(label, command, args, input) {
  const out = await runProcess(command, args, {
    input: JSON.stringify(input),
    timeoutMs: 30_000,
  });
  if (out.code !== 0) {
    throw new Error(`${label} verifier exited ${out.code}:\n${out.stderr || out.stdout}`);
  }
  try {
    return JSON.parse(out.stdout);
  } catch {
    throw new Error(`${label} verifier printed no JSON:\n${out.stdout}\n${out.stderr}`);
  }
}

const VERIFIERS = {
  jose: () => [process.execPath, [join(verifiers, 'jose-verify.mjs')]],
  pyjwt: () => [python(), [join(verifiers, 'pyjwt_verify.py')]],
  hono: () => [process.execPath, [join(verifiers, 'hono-jwk-verify.mjs')]],
};

/**
 * @edge-auth/verify in JWKS-only and in introspection mode on the same tokens:
 * { results: { name: { jwks: verdict, introspection: verdict } } }.
 */
export function verifyBothModes(input) {
  return run('edge-auth', process.execPath, [join(verifiers, 'edge-auth-introspect.mjs')], input);
}

/** One verifier on its own; `input` is { issuer, audience, tokens, ...its own options }. */
export function verifyWith(name, input) {
  const [command, args] = VERIFIERS[name]();
  return run(name, command, args, input);
}

/**
 * Verifies `tokens` ({ name: jwt }) in every verifier. Resolves
 * { jose: { jwks_uri, results }, pyjwt: { ... }, hono: { ... } }.
 */
export async function verifyDownstream({ issuer, audience, tokens }) {
  const names = Object.keys(VERIFIERS);
  const outcomes = await Promise.all(
    names.map((name) => verifyWith(name, { issuer, audience, tokens })),
  );
  return Object.fromEntries(names.map((name, i) => [name, outcomes[i]]));
}

/** Asserts each verifier's verdict per token: `expected` is { name: true | false }. */
export function expectVerdicts(outcome, expected) {
  const problems = [];
  for (const [verifier, { results }] of Object.entries(outcome)) {
    for (const [name, valid] of Object.entries(expected)) {
      const got = results[name];
      if (!got) problems.push(`${verifier}: no result for ${name}`);
      else if (got.valid !== valid) {
        problems.push(
          `${verifier}: ${name} should be ${valid ? 'accepted' : 'rejected'}, was ${
            got.valid ? 'accepted' : `rejected (${got.error}: ${got.message})`
          }`,
        );
      }
    }
  }
  if (problems.length) throw new Error(problems.join('\n'));
}

/**
 * e2e/verifiers/edge-auth-node.mjs, a Node API verifying with @edge-auth/verify, on a free port
 * of 127.0.0.1. Resolves { url, stop } once it answers.
 */
export async function startNodeVerifier({ name, issuer, audience, cooldownSeconds }) {
  const port = await freePort();
  const script = join(verifiers, 'edge-auth-node.mjs');
  const proc = startProcess(name, process.execPath, [
    script,
    String(port),
    issuer,
    audience,
    String(cooldownSeconds),
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} at ${url}`, async () => (await fetch(url)).status === 401, {
    timeoutMs: 15_000,
  });
  return { url, stop: () => proc.stop() };
}
