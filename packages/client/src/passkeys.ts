// WebAuthn between the worker's JSON (base64url) and the browser's ArrayBuffers, for the
// client's passkey helpers. The browser's own PublicKeyCredential.parse*FromJSON and toJSON()
// are not everywhere yet (Safari before 18.4, Firefox before 119), so this is done here.

type Json = Record<string, unknown>;
type Described = { id: string; [key: string]: unknown };

const bytes = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const text = (buffer: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const ids = (list: unknown) =>
  ((list ?? []) as Described[]).map((c) => ({ ...c, id: bytes(c.id) }));

/** The worker's request options as `navigator.credentials.get()` takes them. */
export function requestOptions(o: Json): PublicKeyCredentialRequestOptions {
  return {
    ...o,
    challenge: bytes(o.challenge as string),
    allowCredentials: ids(o.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

/** The worker's creation options as `navigator.credentials.create()` takes them. */
export function creationOptions(o: Json): PublicKeyCredentialCreationOptions {
  const user = o.user as Described;
  return {
    ...o,
    challenge: bytes(o.challenge as string),
    user: { ...user, id: bytes(user.id) },
    excludeCredentials: ids(o.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/** The browser's answer as the worker's `{response}` takes it (the shape of toJSON()). */
export function credentialJson(credential: PublicKeyCredential): Json {
  const r = credential.response as AuthenticatorAttestationResponse &
    AuthenticatorAssertionResponse;
  const response: Json = { clientDataJSON: text(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = text(r.attestationObject);
    response.transports = r.getTransports?.() ?? [];
  } else {
    response.authenticatorData = text(r.authenticatorData);
    response.signature = text(r.signature);
    response.userHandle = r.userHandle ? text(r.userHandle) : null;
  }
  return { id: credential.id, type: credential.type, response };
}
