// How a password is folded before it is compared with the list of common passwords. Plain
// JavaScript (types in skeleton.d.mts) because scripts/build-password-list.mjs runs it in Node
// 20, which cannot import TypeScript: the list is folded at build time by the very function that
// folds a candidate at check time, so the two can never disagree.

// Characters written in place of a letter. 1, !, | and l all become i: a "1" may stand for
// either i or l, so the only consistent fold is one letter for all four.
const SUBSTITUTES = new Map([
  ['@', 'a'],
  ['4', 'a'],
  ['8', 'b'],
  ['3', 'e'],
  ['9', 'g'],
  ['1', 'i'],
  ['!', 'i'],
  ['|', 'i'],
  ['l', 'i'],
  ['0', 'o'],
  ['$', 's'],
  ['5', 's'],
  ['7', 't'],
  ['+', 't'],
]);
const LETTER = /\p{L}/u;
// Inside a skeleton only separators go: dropping every symbol would let a random password such
// as "{g4\^]!^An,T" fold onto a listed skeleton ("gaiant") by its letters alone.
const SEPARATOR = /[\s._-]/u;

// Below six characters a skeleton is a syllable ("love", "abc"): refusing every password that
// starts with one, whatever follows, would refuse strong passwords too. Six still catches a
// season or name plus a year ("Summer2024!!!"). Digits-only passwords have an empty skeleton
// and are only ever compared as they are.
export const MIN_SKELETON_LENGTH = 6;

/** The letters of a lower-cased text once common substitutions are undone; nothing else. */
export function letters(lowered) {
  let out = '';
  for (const char of lowered) {
    const letter = SUBSTITUTES.get(char) ?? char;
    if (LETTER.test(letter)) out += letter;
  }
  return out;
}

/**
 * What is left once the usual disguises are undone: the trailing run of digits and symbols
 * dropped ("password1234!", "summer2024"), substitutions undone and separators dropped
 * ("p@ss-w0rd" becomes "password").
 */
export function skeleton(lowered) {
  let out = '';
  for (const char of lowered.replace(/\P{L}+$/u, '')) {
    if (!SEPARATOR.test(char)) out += SUBSTITUTES.get(char) ?? char;
  }
  return out;
}

/**
 * The forms under which a lower-cased, NFKC password is both stored in and looked up in
 * `common_passwords`: itself, and its skeleton when that is long enough to mean something.
 */
export function lookupForms(lowered) {
  const bare = skeleton(lowered);
  return [...bare].length >= MIN_SKELETON_LENGTH && bare !== lowered ? [lowered, bare] : [lowered];
}
