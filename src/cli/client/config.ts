import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { InvalidInputError } from '../../model/errors.ts';
import { ClientError } from './errors.ts';

/**
 * Where the client finds its control plane and token. Each setting is taken from,
 * first to last: the --server / --token flags, the SUANLI_SERVER / SUANLI_TOKEN
 * variables, the config file `suanli login` writes. The file holds a secret, so it
 * is written with mode 0600 in a directory of mode 0700.
 */

/** The config file as saved: both fields are present after a login. */
export interface SavedLogin {
  readonly server?: string;
  readonly token?: string;
}

/** A control plane to talk to and the token to show it, with where each came from (for messages). */
export interface Connection {
  readonly server: string;
  readonly token: string;
  readonly serverFrom: string;
  /** A PEM file of the CA that signed the server's certificate (a private CA), for https. */
  readonly ca?: string;
}

export interface ConnectionFlags {
  readonly server?: string;
  readonly token?: string;
  /** --ca, else $SUANLI_CA. */
  readonly ca?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const LOGIN_HINT = 'run `suanli login --server URL --token TOKEN`, set SUANLI_SERVER and SUANLI_TOKEN, or pass --server and --token';

/** $SUANLI_CONFIG, else $XDG_CONFIG_HOME/suanli/config.json, else ~/.config/suanli/config.json. */
export function configPath(env: Env = process.env): string {
  if (env.SUANLI_CONFIG) return env.SUANLI_CONFIG;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'suanli', 'config.json');
}

/** The saved login; empty when there is no file. A file that is not the expected JSON is a `bad_config` error naming it. */
export async function readLogin(path: string): Promise<SavedLogin> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return {};
    throw new ClientError('bad_config', `cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ClientError('bad_config', `the config file ${path} is not JSON; fix it, or delete it and log in again`, { cause: err });
  }
  const o = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  if (o === undefined || (o.server !== undefined && typeof o.server !== 'string') || (o.token !== undefined && typeof o.token !== 'string')) {
    throw new ClientError('bad_config', `the config file ${path} is not {"server": "...", "token": "..."}; fix it, or delete it and log in again`);
  }
  return { ...(typeof o.server === 'string' ? { server: o.server } : {}), ...(typeof o.token === 'string' ? { token: o.token } : {}) };
}

/** Saves a login, replacing the file atomically (a reader never sees half of it). */
export async function writeLogin(path: string, login: Required<SavedLogin>): Promise<void> {
  await writePrivateFile(path, `${JSON.stringify(login, null, 2)}\n`);
}

/** Writes a file only its owner can read (mode 0600, in a directory of mode 0700 if it makes one), replacing it atomically. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // The mode applies only when a file is created: make a new one, so the secret is never readable by others, even briefly.
  await rm(temporary, { force: true });
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  try {
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Deletes the saved login; false when there was none. */
export async function removeLogin(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * "host:8040", "http://host:8040/", "https://host/suanli/api/v1" → the base URL the
 * API paths are appended to (scheme, host, port and any path prefix, without
 * /api/v1 or a trailing slash); undefined when it is not an http(s) URL.
 */
export function normalizeServer(text: string): string | undefined {
  // Several, comma-separated: replicas of one control plane (ApiClient tries the next when one does not answer).
  if (text.includes(',')) {
    const each = text.split(',').map((part) => normalizeOne(part));
    return each.some((x) => x === undefined) ? undefined : each.join(',');
  }
  return normalizeOne(text);
}

function normalizeOne(text: string): string | undefined {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.search !== '' || url.hash !== '') return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}`;
}

const SERVER_ACCEPTED = 'an http(s) URL such as http://127.0.0.1:8040 (replicas: several, comma-separated)';

/** The --server flag's value as a base URL; a bad one is an InvalidInputError naming the flag. */
export function serverFlag(text: string): string {
  const server = normalizeServer(text);
  if (server === undefined) throw new InvalidInputError('server', `"${text}" is not an http(s) URL`, SERVER_ACCEPTED);
  return server;
}

/**
 * The server and token to use: each from its flag, else its variable, else the
 * config file. A saved token is sent only to the server it was saved with, so
 * pointing a command at another server never leaks it there.
 */
export async function resolveConnection(flags: ConnectionFlags, env: Env = process.env): Promise<Connection> {
  const path = configPath(env);
  let saved: SavedLogin | undefined;
  const file = async () => (saved ??= await readLogin(path));

  let server: string | undefined;
  let serverFrom: string;
  if (flags.server !== undefined) {
    server = serverFlag(flags.server);
    serverFrom = '--server';
  } else if (env.SUANLI_SERVER) {
    server = normalizeServer(env.SUANLI_SERVER);
    if (server === undefined) throw new ClientError('bad_config', `SUANLI_SERVER: "${env.SUANLI_SERVER}" is not ${SERVER_ACCEPTED}`);
    serverFrom = 'SUANLI_SERVER';
  } else {
    const s = (await file()).server;
    if (s === undefined) throw new ClientError('not_logged_in', `no server to talk to: ${LOGIN_HINT}`);
    server = normalizeServer(s);
    if (server === undefined) throw new ClientError('bad_config', `the config file ${path} holds the server "${s}", which is not ${SERVER_ACCEPTED}; log in again`);
    serverFrom = `the login saved in ${path}`;
  }

  let token = flags.token ?? (env.SUANLI_TOKEN || undefined);
  if (token === undefined) {
    const s = await file();
    if (s.token !== undefined && s.server !== undefined && normalizeServer(s.server) === server) token = s.token;
  }
  if (token === undefined || token.trim() === '') throw new ClientError('not_logged_in', `not logged in to ${server}: ${LOGIN_HINT}`);
  const ca = flags.ca ?? (env.SUANLI_CA || undefined);
  return { server, token: token.trim(), serverFrom, ...(ca === undefined ? {} : { ca }) };
}
