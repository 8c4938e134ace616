import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { PASSKEY_SCRIPT } from '../passkeys/script';
import { stylesheet } from './style';

// The pages' only script: it reveals the copy buttons and copies on click, and runs the passkey
// ceremonies (WebAuthn needs a script). Every other form works without it.
const SCRIPT = `for (const button of document.querySelectorAll('[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).innerText);
    button.textContent = button.dataset.copied;
  });
}
`;

const MAX_AGE = 'public, max-age=3600';

export function serveStylesheet(c: Context<AppEnv>) {
  c.header('Cache-Control', MAX_AGE);
  c.header('Content-Type', 'text/css; charset=utf-8');
  return c.body(stylesheet(c.var.config));
}

export function serveScript(c: Context<AppEnv>) {
  c.header('Cache-Control', MAX_AGE);
  c.header('Content-Type', 'text/javascript; charset=utf-8');
  return c.body(SCRIPT + PASSKEY_SCRIPT);
}
