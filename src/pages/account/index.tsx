import { Hono } from 'hono';
import type { AppEnv } from '../../env';
import { identitiesSection } from '../../federation/account';
import { deleteSection, emailSection, exportSection } from '../../lifecycle/pages';
import { passkeysSection } from '../../passkeys/pages';
import { password } from './password';
import { profile } from './profile';
import { sessions } from './sessions';
import { twoFactor } from './two-factor';
import { addSection, renderAccount } from './view';

// The sections of /account in the order they show; each brings its own form routes.
const parts = [
  profile,
  emailSection,
  password,
  sessions,
  twoFactor,
  passkeysSection,
  identitiesSection,
  exportSection,
  deleteSection,
];
for (const part of parts) addSection(part.section);

export const account = new Hono<AppEnv>().get('/account', (c) => renderAccount(c));
for (const part of parts) account.route('/', part.routes);
