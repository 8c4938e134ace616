// Types of authenticator.mjs, which the end-to-end suite also runs (in Node, over real HTTP).
export declare const b64url: (bytes: Uint8Array) => string;
type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;
export declare function cbor(value: Cbor): Uint8Array;
export type Algorithm = 'ES256' | 'EdDSA' | 'RS256';
export type Credential = {
  id: Uint8Array;
  algorithm: Algorithm;
  keys: CryptoKeyPair;
  userHandle: string;
  signCount: number;
};
/** Flags and values an authenticator (or an attacker) puts in its answer. */
export type Knobs = {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  crossOrigin?: boolean;
  userPresent?: boolean;
  userVerified?: boolean;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** The counter to send (default: one more than the last). */
  signCount?: number;
  /** Sign with another key than the credential's. */
  wrongKey?: boolean;
  fmt?: string;
};
/** One authenticator holding discoverable credentials for one origin. */
export declare class Authenticator {
  readonly origin: string;
  readonly rpId: string;
  /** A fixed credential id (base64url) for the next credential, as a hostile client could. */
  private readonly fixedId?;
  readonly credentials: Credential[];
  constructor(
    origin: string,
    rpId?: string,
    /** A fixed credential id (base64url) for the next credential, as a hostile client could. */
    fixedId?: string,
  );
  /** Changes the COSE public key bytes before they are attested (a broken or hostile key). */
  tamperKey: ((cose: Uint8Array) => void) | undefined;
  tampered(cose: Uint8Array): Uint8Array;
  /** navigator.credentials.create() with the worker's creation options. */
  create(
    options: {
      challenge: string;
      user: {
        id: string;
      };
    },
    knobs?: Knobs,
    algorithm?: Algorithm,
  ): Promise<{
    credential: Credential;
    json: {
      id: string;
      rawId: string;
      type: 'public-key';
      response: {
        clientDataJSON: string;
        attestationObject: string;
        transports: string[];
      };
      clientExtensionResults: {
        credProps: {
          rk: boolean;
        };
      };
      authenticatorAttachment: string;
    };
  }>;
  /** navigator.credentials.get() with the worker's request options, for one credential. */
  get(
    options: {
      challenge: string;
    },
    credential?: Credential,
    knobs?: Knobs,
  ): Promise<{
    id: string;
    rawId: string;
    type: 'public-key';
    response: {
      clientDataJSON: string;
      authenticatorData: string;
      signature: string;
      userHandle: string;
    };
    clientExtensionResults: {};
    authenticatorAttachment: string;
  }>;
}
export {};
