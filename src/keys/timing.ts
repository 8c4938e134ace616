import { CLOCK_TOLERANCE_SECONDS } from '../crypto/jwt';

/**
 * How long an isolate uses the key ring it read from D1 before reading it again: the bound on
 * how late an isolate sees a new `next` key or an admin's change (docs/keys.md). Never longer
 * than the JWKS cache itself, so short test settings stay short.
 */
export const ringTtlSeconds = (jwksMaxAge: number) => Math.min(30, jwksMaxAge);

/**
 * A `next` key signs only this long after it was stored: every isolate has read it (ring TTL),
 * every downstream cache that fetched the JWKS before that has expired (max-age), and a verifier
 * whose clock runs behind is covered too (the 30 s tolerance of API.md).
 */
export const publicationLeadSeconds = (jwksMaxAge: number) =>
  ringTtlSeconds(jwksMaxAge) + jwksMaxAge + CLOCK_TOLERANCE_SECONDS;

/**
 * A key that stopped signing stays published this long: its last token's lifetime and clock
 * tolerance, plus one ring TTL for isolates that learned of an earlier rotation late.
 */
export const retentionSeconds = (config: { ACCESS_TOKEN_TTL: number; JWKS_MAX_AGE: number }) =>
  config.ACCESS_TOKEN_TTL + CLOCK_TOLERANCE_SECONDS + ringTtlSeconds(config.JWKS_MAX_AGE);
