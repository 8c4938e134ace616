/** Why a WebAuthn response is refused; logged and audited, never shown beyond `invalid_passkey`. */
export class WebAuthnRefusal extends Error {}

export const refuse = (why: string): never => {
  throw new WebAuthnRefusal(why);
};
