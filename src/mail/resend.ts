import type { Config } from '../config';
import type { Logger } from '../logger';
import type { MailTransport } from './transport';

/**
 * Resend's HTTP API (POST /emails), which Workers can call with fetch. Failures are logged and
 * swallowed: mail is sent from waitUntil, after the response, and must never turn a request
 * into an error or reveal whether an address exists.
 */
export function resend(config: Config, log: Logger): MailTransport {
  return {
    async send(message) {
      try {
        const res = await fetch(`${config.MAIL_API_URL}/emails`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${config.MAIL_API_KEY}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ from: config.MAIL_FROM, ...message, to: [message.to] }),
          signal: AbortSignal.timeout(config.MAIL_TIMEOUT_MS),
        });
        if (!res.ok) {
          log.error('mail provider refused a message', {
            status: res.status,
            subject: message.subject,
          });
          return;
        }
        await res.body?.cancel();
      } catch (err) {
        log.error('mail provider unreachable', {
          error: err instanceof Error ? err.name : String(err),
        });
      }
    },
  };
}
