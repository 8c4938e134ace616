import type { Config } from '../config';
import type { Logger } from '../logger';
import { devMailbox } from './dev-mailbox';
import { resend } from './resend';

export type MailMessage = { to: string; subject: string; text: string; html: string };

/** Two real implementations, chosen by MAIL_TRANSPORT. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
}

export function mailTransport(config: Config, env: Env, log: Logger): MailTransport {
  return config.MAIL_TRANSPORT === 'dev-mailbox' ? devMailbox(env.DB) : resend(config, log);
}
