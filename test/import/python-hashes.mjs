// Password hashes made by implementations nobody here wrote: Debian's python3-bcrypt,
// python3-argon2 (argon2-cffi) and python3-passlib, run at test time (vitest.config.ts hands
// them to the workers project as a binding; the e2e `import` phase writes them into its JSONL).
// Costs are low so tests stay fast, except where a test needs a path (PBKDF2 above 100,000
// iterations runs in JavaScript, not WebCrypto).
import { execFileSync } from 'node:child_process';
import { findPython } from '../../e2e/lib/python.mjs';

const SCRIPT = String.raw`
import hashlib, json, sys, warnings
warnings.filterwarnings('ignore')
import bcrypt, argon2
from passlib.hash import bcrypt as passlib_bcrypt, pbkdf2_sha256, pbkdf2_sha512, django_pbkdf2_sha256, scrypt
pw = sys.argv[1]
b = pw.encode()
out = {
  'bcrypt-2b': bcrypt.hashpw(b, bcrypt.gensalt(4)).decode(),
  'bcrypt-2a': bcrypt.hashpw(b, bcrypt.gensalt(5, prefix=b'2a')).decode(),
  'bcrypt-2y': passlib_bcrypt.using(ident='2y', rounds=4).hash(pw),
  'bcrypt-prehash': 'prehash-sha256-hex:' + bcrypt.hashpw(hashlib.sha256(b).hexdigest().encode(), bcrypt.gensalt(4)).decode(),
  'argon2id': argon2.PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2).hash(pw),
  'scrypt': scrypt.using(rounds=10).hash(pw),
  'pbkdf2-sha256': pbkdf2_sha256.using(rounds=1000).hash(pw),
  'pbkdf2-sha512': pbkdf2_sha512.using(rounds=1000).hash(pw),
  'django-pbkdf2': django_pbkdf2_sha256.using(rounds=1000).hash(pw),
  'django-pbkdf2-js': django_pbkdf2_sha256.using(rounds=120000).hash(pw),
}
json.dump(out, sys.stdout)
`;

export const LEGACY_KINDS = [
  'bcrypt-2b',
  'bcrypt-2a',
  'bcrypt-2y',
  'bcrypt-prehash',
  'argon2id',
  'scrypt',
  'pbkdf2-sha256',
  'pbkdf2-sha512',
  'django-pbkdf2',
  'django-pbkdf2-js',
];

/** `{ kind: hash }` of `password`, one of each kind above. */
export function pythonHashes(password) {
  const python = findPython(
    'import bcrypt, argon2, passlib',
    'python3-bcrypt python3-argon2 python3-passlib',
  );
  return JSON.parse(execFileSync(python, ['-c', SCRIPT, password], { encoding: 'utf8' }));
}
