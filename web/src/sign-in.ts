import { createApiClient } from './api/client.ts';
import { identify, tokenIdOf } from './api/identity.ts';
import type { SignedIn } from './session-context.tsx';

/** How a sign-in ended; every way but `signed-in` keeps the sign-in page and says why. */
export type SignInResult =
  | { readonly kind: 'signed-in'; readonly session: SignedIn }
  /** Not of the form `sl_<id>_<secret>`: nothing was sent. */
  | { readonly kind: 'malformed' }
  /** An agent's token, which the API lets read nothing the dashboard shows. */
  | { readonly kind: 'agent-token' }
  /** The API refused the token (401) or could not be asked. */
  | { readonly kind: 'failed'; readonly error: unknown };

/**
 * Checks `token` against the API and finds out who it is. `onRefused` is called
 * when the API refuses the token later in the session (a 401 on any request: it
 * was revoked); not for the refusals during sign-in itself, which the result reports.
 */
export async function signIn(token: string, onRefused: () => void, options: { readonly fetch?: typeof fetch; readonly baseUrl?: string } = {}): Promise<SignInResult> {
  const trimmed = token.trim();
  const tokenId = tokenIdOf(trimmed);
  if (tokenId === null) return { kind: 'malformed' };
  let signedIn = false;
  const client = createApiClient({
    token: trimmed,
    onUnauthorized: () => {
      if (signedIn) onRefused();
    },
    ...options,
  });
  try {
    const outcome = await identify(client, tokenId);
    if (outcome.kind === 'agent-token') return { kind: 'agent-token' };
    signedIn = true;
    return { kind: 'signed-in', session: { client, identity: outcome.identity } };
  } catch (error) {
    return { kind: 'failed', error };
  }
}
