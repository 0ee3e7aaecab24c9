import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client.ts';
import type { Identity } from './api/identity.ts';

/** The signed-in session every view reads: the API client (with the token) and who the token is. */
export interface SignedIn {
  readonly client: ApiClient;
  readonly identity: Identity;
}

export const SessionContext = createContext<SignedIn | null>(null);

export function useSession(): SignedIn {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in session');
  return session;
}
