/**
 * The one canonical form of an address: trimmed, NFC, lower-cased (in code: SQLite's lower()
 * folds ASCII only). Idempotent, so canonical(canonical(x)) === canonical(x).
 */
export function canonicalEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// No whitespace, controls, quotes or the specials that need quoting in RFC 5322.
const LOCAL_FORBIDDEN = /[\s\p{C}"(),:;<>@[\\\]]/u;

/**
 * Why a canonical address is refused, or null. Deliberately narrower than RFC 5321: no quoted
 * local parts, an ASCII (punycode) domain with a dot, and no compatibility characters (fullwidth
 * letters, ligatures) that NFKC would fold onto another user's address (THREATS C6, C7).
 */
export function emailProblem(email: string): string | null {
  if (email.length > 254) return 'must be at most 254 characters';
  const at = email.lastIndexOf('@');
  if (at < 1) return 'must be an email address';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64) return 'must have at most 64 characters before the @';
  if (
    LOCAL_FORBIDDEN.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..')
  ) {
    return 'must be an email address';
  }
  if (local.normalize('NFKC') !== local) return 'must not contain compatibility characters';
  const labels = domain.split('.');
  if (
    labels.length < 2 ||
    !labels.every((l) => DOMAIN_LABEL.test(l)) ||
    !/^[a-z]{2,63}$|^xn--/.test(labels.at(-1)!)
  ) {
    return 'must have a valid domain (internationalised domains in punycode)';
  }
  return null;
}
