// Stands in for @oslojs/crypto/sha2 in the worker's bundle (wrangler.toml [alias]). The passkey
// verifier (@oslojs/webauthn) hashes the client data and authenticator data with its own SHA-256,
// while @noble/hashes' SHA-256 is already bundled for the imported password hashes (PBKDF2,
// scrypt): one audited implementation, the same function signature, 2.5 KiB gzip less.
// test/crypto/oslojs-sha2.test.ts checks it against FIPS 180-4's vectors and @oslojs's own.
export { sha256 } from '@noble/hashes/sha2.js';
