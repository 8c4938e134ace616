// Reads the enrolment page's QR code the way a phone camera does: from pixels, not from the
// page's markup. The PNG is Chromium's screenshot of the element; pngjs turns it into RGBA and
// jsQR, a decoder that shares no code with the worker's encoder (uqr), finds and reads the code.
import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

/** The text encoded in the QR code of a PNG. */
export function decodeQrPng(png) {
  const { data, width, height } = PNG.sync.read(png);
  const rgba = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const found = jsQR(rgba, width, height);
  assert.ok(found, `no QR code found in a ${width}x${height} screenshot`);
  return found.data;
}

/**
 * What an authenticator app takes from an otpauth:// URI (Key URI Format): the account label and
 * the parameters, the base32 secret among them.
 */
export function parseOtpauth(uri) {
  const url = new URL(uri);
  assert.equal(url.protocol, 'otpauth:', uri);
  assert.equal(url.host, 'totp', uri);
  return {
    label: decodeURIComponent(url.pathname.slice(1)),
    ...Object.fromEntries(url.searchParams),
  };
}
