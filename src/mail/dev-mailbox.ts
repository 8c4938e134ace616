import { desc } from 'drizzle-orm';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { devMailbox as mailbox } from '../db/schema';
import type { MailTransport } from './transport';

/** Development only (config refuses it in production): messages land in D1 for /dev/mailbox. */
export function devMailbox(d1: D1Database): MailTransport {
  return {
    async send(message) {
      const now = Date.now();
      await database(d1)
        .insert(mailbox)
        .values({ id: uuidv7(now), sentAt: now, ...message });
    },
  };
}

export function recentMessages(d1: D1Database, limit = 50) {
  return database(d1).select().from(mailbox).orderBy(desc(mailbox.id)).limit(limit);
}
