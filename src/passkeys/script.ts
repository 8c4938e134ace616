// The pages' passkey ceremonies, appended to /pages.js (a file of ours: the CSP allows no inline
// script). WebAuthn needs a script; every other form works without one. The options come from a
// page route (form token checked), the browser's answer goes back in an ordinary form post, so
// the session cookie is set by a navigation exactly as a password sign-in sets it.
//
// On /sign-in: passkeys offered in the email field's autofill (conditional mediation) and by a
// button. On /account: "Add a passkey". Elements carry data-passkey="sign-in" | "register".
/** The only routes the pages' script may fetch (the CSP's connect-src names exactly these). */
export const PASSKEY_OPTION_ROUTES = ['/sign-in/passkey/options', '/account/passkeys/options'];

export const PASSKEY_SCRIPT = `(() => {
  if (!window.PublicKeyCredential) return;
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const text = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const ids = (list) => (list || []).map((c) => ({ ...c, id: bytes(c.id) }));
  async function optionsFrom(form) {
    const body = new URLSearchParams({ _csrf: form.elements._csrf.value });
    if (form.elements.mfa_token) body.set('mfa_token', form.elements.mfa_token.value);
    const res = await fetch(form.dataset.options, { method: 'POST', body, credentials: 'same-origin' });
    if (!res.ok) throw new Error('options ' + res.status);
    return res.json();
  }
  function send(form, credential) {
    const r = credential.response;
    const response = { id: credential.id, type: credential.type, response: { clientDataJSON: text(r.clientDataJSON) } };
    if (r.attestationObject) {
      response.response.attestationObject = text(r.attestationObject);
      response.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.response.authenticatorData = text(r.authenticatorData);
      response.response.signature = text(r.signature);
      response.response.userHandle = r.userHandle ? text(r.userHandle) : null;
    }
    form.elements.response.value = JSON.stringify(response);
    form.submit();
  }
  function failed(form, error) {
    if (error && error.name === 'AbortError') return;
    const message = form.querySelector('[data-passkey-error]');
    if (message) message.hidden = false;
  }
  let pending;
  async function signIn(form, conditional) {
    if (pending) pending.abort();
    const controller = (pending = new AbortController());
    const o = await optionsFrom(form);
    const publicKey = { ...o, challenge: bytes(o.challenge), allowCredentials: ids(o.allowCredentials) };
    const credential = await navigator.credentials.get({
      publicKey, signal: controller.signal, ...(conditional ? { mediation: 'conditional' } : {}),
    });
    if (credential) send(form, credential);
  }
  async function register(form) {
    const o = await optionsFrom(form);
    const publicKey = { ...o, challenge: bytes(o.challenge), user: { ...o.user, id: bytes(o.user.id) }, excludeCredentials: ids(o.excludeCredentials) };
    send(form, await navigator.credentials.create({ publicKey }));
  }
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const run = form.dataset.passkey === 'register' ? register(form) : signIn(form, false);
      run.catch((error) => failed(form, error));
    });
    if (form.dataset.passkey === 'sign-in' && form.dataset.autofill !== undefined && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((yes) => {
        // Nobody asked for this one: a failure stays quiet (the button remains).
        if (yes) signIn(form, true).catch(() => {});
      });
    }
  }
})();
`;
