// A real OpenID Provider for the federation phase: panva's node-oidc-provider (OpenID
// Certified), run as a child process on 127.0.0.1 with its in-memory adapter and its own
// development login and consent pages. e2e/lib/oidc-op.mjs starts it with OP_CONFIG (JSON):
// { port, client: { client_id, client_secret, redirect_uris }, accounts: { login: claims } }.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const { port, client, accounts } = JSON.parse(process.env.OP_CONFIG);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'op-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      ...client,
      // A confidential web client that authenticates in the token request's body, like the
      // worker does for every provider but Apple.
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid email profile',
    },
  ],
  // PKCE (S256, the only method v9 knows) for this confidential client too: the worker sends it.
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Put the scopes' claims into the ID token as Google and Entra ID do: the worker reads the
  // email from the ID token and never calls userinfo. (The default keeps them for userinfo
  // whenever an access token is issued as well.)
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: () => ({ sub: id, ...claims }) };
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: true } },
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening at ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
