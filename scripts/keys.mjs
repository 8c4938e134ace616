#!/usr/bin/env node
// Signing keys for JWT_SIGNING_KEYS (a JWK Set: the first key signs, every key is published).
//
//   npm run keys:generate                    print a new set with one fresh key
//   npm run keys:generate -- --add < set     print the set with a fresh key appended (published,
//                                            not yet signing)
//   npm run keys:generate -- --promote KID < set   move KID first: it signs from now on
//   npm run keys:generate -- --remove KID < set    drop KID (only once its tokens have expired)
import { readFileSync } from 'node:fs';
import { generateSigningKey } from './lib/keys.mjs';

const [command, kid] = process.argv.slice(2);

function readSet() {
  const set = JSON.parse(readFileSync(0, 'utf8'));
  if (!Array.isArray(set?.keys)) throw new Error('stdin is not a JWK Set ({"keys": [...]})');
  return set;
}

function byKid(set, wanted) {
  const key = set.keys.find((k) => k.kid === wanted);
  if (!key) throw new Error(`no key with kid ${wanted} in the set`);
  return key;
}

let set;
switch (command) {
  case undefined:
    set = { keys: [await generateSigningKey()] };
    break;
  case '--add':
    set = readSet();
    set.keys.push(await generateSigningKey());
    break;
  case '--promote': {
    set = readSet();
    const key = byKid(set, kid);
    set.keys = [key, ...set.keys.filter((k) => k !== key)];
    break;
  }
  case '--remove': {
    set = readSet();
    const key = byKid(set, kid);
    set.keys = set.keys.filter((k) => k !== key);
    if (set.keys.length === 0) throw new Error('refusing to remove the last key');
    break;
  }
  default:
    console.error(`unknown option ${command}; see the comment at the top of scripts/keys.mjs`);
    process.exit(2);
}
process.stdout.write(JSON.stringify(set) + '\n');
console.error(`kids: ${set.keys.map((k) => k.kid).join(', ')} (the first signs)`);
