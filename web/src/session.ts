/**
 * Where the browser keeps the signed-in token: sessionStorage, so that it lives as
 * long as this tab and is never written to disk for other tabs or later visits
 * (the sign-in page says so). The storage is a parameter for the tests.
 */
const TOKEN_KEY = 'suanli:token';

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function loadToken(storage: KeyValueStore): string | null {
  const token = storage.getItem(TOKEN_KEY);
  return token === null || token === '' ? null : token;
}

export function saveToken(storage: KeyValueStore, token: string): void {
  storage.setItem(TOKEN_KEY, token);
}

export function forgetToken(storage: KeyValueStore): void {
  storage.removeItem(TOKEN_KEY);
}

/** Why the sign-in page shows: a first visit, the user signed out, or the API refused the token (401). */
export type SignedOutReason = 'new' | 'signed-out' | 'refused';
