import { strings } from '../pages/strings';

/** The way from the password form to a mailed code, keeping where the sign-in leads. */
export const EmailCodeLink = ({ returnTo }: { returnTo: string }) => (
  <p class="muted">
    <a href={`/sign-in/email-code?return_to=${encodeURIComponent(returnTo)}`}>
      {strings.emailCode.link}
    </a>
  </p>
);
