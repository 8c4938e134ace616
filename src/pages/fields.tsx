import type { Child } from './jsx/jsx-runtime';
import { fill, strings } from './strings';

// The form fields every page uses, each with its label and the attributes password managers
// and phones rely on (autocomplete, inputmode), so no page gets one of them wrong.

/** `webauthn`: the browser also offers passkeys in this field's autofill (conditional UI). */
export const EmailField = (props: { label: string; value?: string; webauthn?: boolean }) => (
  <>
    <label for="email">{props.label}</label>
    <input
      id="email"
      name="email"
      type="email"
      autocomplete={props.webauthn ? 'username webauthn' : 'username'}
      required
      value={props.value ?? ''}
    />
  </>
);

export const NameField = (props: { label: string; value?: string | null; required?: boolean }) => (
  <>
    <label for="name">{props.label}</label>
    <input
      id="name"
      name="name"
      type="text"
      autocomplete="name"
      maxlength={100}
      required={props.required ?? true}
      value={props.value ?? ''}
    />
  </>
);

/** The account a new-password form is for, for password managers (they save it with it). */
export const UsernameHint = ({ email }: { email: string }) => (
  <input type="email" name="username" autocomplete="username" value={email} hidden readonly />
);

export const CurrentPassword = (props: { id: string; name: string; label: string }) => (
  <>
    <label for={props.id}>{props.label}</label>
    <input
      id={props.id}
      name={props.name}
      type="password"
      autocomplete="current-password"
      required
    />
  </>
);

export const NewPassword = (props: { id: string; label: string; minLength: number }) => (
  <>
    <label for={props.id}>{props.label}</label>
    <input
      id={props.id}
      name={props.id}
      type="password"
      autocomplete="new-password"
      minlength={props.minLength}
      aria-describedby={`${props.id}-hint`}
      required
    />
    <p class="hint" id={`${props.id}-hint`}>
      {fill(strings.signUp.passwordHint, { min: props.minLength })}
    </p>
  </>
);

/** A 6-digit code from an authenticator app: numeric keypad, and one-time-code autofill. */
export const CodeField = (props: { id: string; label: string }) => (
  <>
    <label for={props.id}>{props.label}</label>
    <input
      id={props.id}
      name="code"
      type="text"
      inputmode="numeric"
      pattern="[0-9]{6}"
      maxlength={6}
      autocomplete="one-time-code"
      required
    />
  </>
);

/** The end of a flow: what happened, and the one place to go next. */
export const Outcome = (props: {
  title: string;
  kind?: 'notice' | 'error' | 'plain';
  message: string;
  next?: { href: string; label: string };
  children?: Child;
}) => (
  <section class="card">
    <h1>{props.title}</h1>
    <p
      class={props.kind === 'plain' ? undefined : (props.kind ?? 'notice')}
      role={props.kind === 'error' ? 'alert' : undefined}
    >
      {props.message}
    </p>
    {props.next ? (
      <p>
        <a class={props.kind === 'error' ? undefined : 'button'} href={props.next.href}>
          {props.next.label}
        </a>
      </p>
    ) : null}
  </section>
);
