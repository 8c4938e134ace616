import type { Config } from '../config';
import { fill, strings } from '../pages/strings';
import { providers } from './providers';

const t = strings.federation;

/** "Continue with …" for every configured provider; nothing when there are none. */
export function ProviderButtons({ config, returnTo }: { config: Config; returnTo: string }) {
  const list = providers(config);
  if (list.length === 0) return null;
  return (
    <div class="providers">
      <p class="muted">{t.or}</p>
      {list.map((p) => (
        <a
          class="button secondary"
          href={`/auth/oauth/${p.config.id}/start?return_to=${encodeURIComponent(returnTo)}`}
        >
          {fill(t.continueWith, { provider: p.label })}
        </a>
      ))}
    </div>
  );
}

/** The message for `?error=` on the page a provider's callback sent the browser back to. */
export function federationError(reason: string | undefined): string | undefined {
  const errors = t.errors;
  return reason && Object.hasOwn(errors, reason)
    ? errors[reason as keyof typeof errors]
    : undefined;
}
