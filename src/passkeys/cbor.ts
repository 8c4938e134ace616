// The CBOR (RFC 8949) that WebAuthn hands a relying party, and nothing more: the attestation
// object, the credential's COSE key and the authenticator's extension outputs (WebAuthn Level 3
// §6.1, §6.5; CTAP2 §8 "Message Encoding"). Every item has a definite length (CTAP2's canonical
// form has no other), so indefinite lengths are refused, and so are tags, floats and simple values
// other than false, true and null, which none of these structures uses. Bounded: nesting stops at
// `maxDepth`, a declared length is checked against the bytes left before anything is read or
// allocated, and every item takes at least one byte, so the work is linear in the input.
// Unambiguous: a map's keys are all integers or all text strings (COSE labels or names), never
// repeated. Not enforced: the shortest-form integers and sorted keys of CTAP2's canonical form;
// nothing here compares encodings, and refusing them would only refuse authenticators.

export type CBORMap = Map<number | string, CBORValue>;
export type CBORValue = number | string | Uint8Array | boolean | null | CBORValue[] | CBORMap;

export class CBORError extends Error {}

const fail = (why: string): never => {
  throw new CBORError(why);
};

// Fatal: text that is not UTF-8 is refused, not repaired. ignoreBOM keeps a leading U+FEFF, so
// "\uFEFFfmt" is not read as "fmt".
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The one data item that starts at `start`, and the offset just after it. Throws CBORError for
 * anything malformed or outside the subset above; never reads past `bytes`.
 */
export function decodeCBOR(bytes: Uint8Array, start = 0, maxDepth = 4): [CBORValue, number] {
  let at = start;
  const item = (depth: number): CBORValue => {
    if (depth > maxDepth) fail('nested too deeply');
    const initial = bytes[at++] ?? fail('truncated');
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      return fail(info === 31 ? 'break outside an indefinite length' : 'float or simple value');
    }
    if (major === 6) fail('tag');
    let n = info;
    if (info >= 24) {
      if (info > 27) fail(info === 31 ? 'indefinite length' : 'reserved additional information');
      const size = 1 << (info - 24);
      if (size > bytes.length - at) fail('truncated');
      n = 0;
      for (let i = 0; i < size; i++) n = n * 256 + bytes[at++]!;
      // Exact up to 2^53; anything larger (no WebAuthn field comes close) is refused.
      if (n > Number.MAX_SAFE_INTEGER) fail('integer too large');
    }
    if (major === 0) return n;
    if (major === 1) return -1 - n;
    const left = bytes.length - at;
    if (major === 2 || major === 3) {
      if (n > left) fail('length beyond the end');
      const content = bytes.slice(at, at + n);
      at += n;
      if (major === 2) return content;
      try {
        return utf8.decode(content);
      } catch {
        return fail('text is not UTF-8');
      }
    }
    if (major === 4) {
      if (n > left) fail('length beyond the end');
      const array: CBORValue[] = [];
      for (let i = 0; i < n; i++) array.push(item(depth + 1));
      return array;
    }
    // major 5, a map
    if (n > left / 2) fail('length beyond the end');
    const map: CBORMap = new Map();
    for (let i = 0; i < n; i++) {
      const key = item(depth + 1);
      if (typeof key !== 'number' && typeof key !== 'string') fail('map key of another type');
      const first = map.keys().next();
      if (!first.done && typeof first.value !== typeof key) fail('map keys of mixed types');
      if (map.has(key as number | string)) fail('duplicate map key');
      map.set(key as number | string, item(depth + 1));
    }
    return map;
  };
  return [item(0), at];
}

/** A data item that must fill `bytes` exactly: trailing bytes are refused. */
export function decodeCBORExactly(bytes: Uint8Array, maxDepth = 4): CBORValue {
  const [value, end] = decodeCBOR(bytes, 0, maxDepth);
  if (end !== bytes.length) fail('trailing bytes');
  return value;
}
