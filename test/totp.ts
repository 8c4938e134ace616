// What an authenticator app and a phone's camera do, for tests: TOTP codes from a base32 secret,
// a user with TOTP on, and reading a QR code.
import jsQR from 'jsqr';
import { hotp, stepAt } from '../src/crypto/totp';
import { PASSWORD, call, json, login, register, withBearer } from './helpers';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32Decode(text: string): Uint8Array {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/\s/g, '')) {
    value = (value << 5) | BASE32.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** What an authenticator app shows for `secret` at a given step offset from now. */
export const codeFor = (secret: string, offset = 0) =>
  hotp(base32Decode(secret), stepAt(Date.now()) + offset);

/** A user with TOTP on (through the API): their secret, recovery codes and a session. */
export async function enrolled() {
  const account = await register();
  const tokens = await login(account.email);
  const post = (path: string, body: unknown) =>
    call(path, withBearer(tokens.access_token, json(body)));
  const setup = (await (await post('/users/me/mfa/totp/setup', { password: PASSWORD })).json()) as {
    secret: string;
    otpauth_uri: string;
  };
  const res = await post('/users/me/mfa/totp/enable', { code: await codeFor(setup.secret) });
  const { recovery_codes } = (await res.json()) as { recovery_codes: string[] };
  return { ...account, tokens, secret: setup.secret, recoveryCodes: recovery_codes };
}

/** Reads a QR code the way a phone does: rasterise the SVG's modules, then decode with jsQR. */
export function decodeQrSvg(svg: string): string | undefined {
  const size = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)![1]);
  const scale = 4;
  const px = size * scale;
  const rgba = new Uint8ClampedArray(px * px * 4).fill(255);
  for (const [, x, y] of svg.matchAll(/M(\d+),(\d+)h1v1h-1z/g)) {
    for (let dy = 0; dy < scale; dy++)
      for (let dx = 0; dx < scale; dx++) {
        const i = ((Number(y) * scale + dy) * px + Number(x) * scale + dx) * 4;
        rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
      }
  }
  return jsQR(rgba, px, px)?.data;
}
