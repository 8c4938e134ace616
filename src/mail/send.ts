import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { mailTransport, type MailMessage } from './transport';

/**
 * Sends after the response (ctx.waitUntil): response time never depends on the provider, and
 * a failure is logged, never turned into an error.
 */
export function sendLater(c: Context<AppEnv>, message: MailMessage) {
  c.executionCtx.waitUntil(deliver(c, message));
}

/** Sends now, for work that already runs after the response; a failure is logged, not thrown. */
export function deliver(c: Context<AppEnv>, message: MailMessage): Promise<void> {
  return mailTransport(c.var.config, c.env, c.var.log)
    .send(message)
    .catch((err) => c.var.log.error('mail not sent', { error: String(err) }));
}

/**
 * Links point at the web client's pages (APP_URL), or this worker's own pages under ISSUER when
 * there is no APP_URL; never at the request's Host (THREATS D7).
 */
export function appLink(c: Context<AppEnv>, page: string, token: string): string {
  const base = c.var.config.APP_URL ?? c.var.config.ISSUER;
  return `${base}/${page}?token=${encodeURIComponent(token)}`;
}
