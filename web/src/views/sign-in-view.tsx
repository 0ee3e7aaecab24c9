import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/page.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import type { SignedOutReason } from '../session.ts';
import type { SignInResult } from '../sign-in.ts';

/** A failed sign-in, as the form shows it. */
export type SignInProblem = Exclude<SignInResult, { kind: 'signed-in' }>;

/**
 * The sign-in form: one API token, pasted. Says where the token is kept (this
 * tab's sessionStorage) and why the form is back when the API refused the token.
 * Its heading takes the focus when it opens, as a page's does: after signing out the
 * keyboard lands here, not on <body> (the button it was on is gone).
 */
export function SignInView({ reason, problem, onSubmit }: { readonly reason: SignedOutReason; readonly problem: SignInProblem | null; readonly onSubmit: (token: string) => Promise<void> }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus({ preventScroll: true }), []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    void onSubmit(token).finally(() => setBusy(false));
  };
  return (
    <section className="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" ref={heading} tabIndex={-1}>
        {t('signIn.title')}
      </h1>
      <p>{t('signIn.intro')}</p>
      {reason === 'refused' ? (
        <div className="note note-error" role="alert">
          {t('signIn.refused')}
        </div>
      ) : null}
      {reason === 'signed-out' ? (
        <p className="note" role="status">
          {t('signIn.signedOut')}
        </p>
      ) : null}
      <form onSubmit={submit} className="form" noValidate>
        <div className="field">
          <label htmlFor="sign-in-token">{t('signIn.tokenLabel')}</label>
          <input
            id="sign-in-token"
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            required
            aria-describedby="sign-in-token-help sign-in-storage"
            aria-invalid={problem?.kind === 'malformed' ? true : undefined}
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
          <p id="sign-in-token-help" className="help">
            {t('signIn.tokenHelp')}
          </p>
          <p id="sign-in-storage" className="help">
            {t('signIn.storageNote')}
          </p>
        </div>
        {problem === null ? null : <SignInProblemNote problem={problem} />}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
            {busy ? t('signIn.checking') : t('signIn.submit')}
          </button>
        </div>
      </form>
    </section>
  );
}

function SignInProblemNote({ problem }: { readonly problem: SignInProblem }) {
  const { t } = useI18n();
  switch (problem.kind) {
    case 'malformed':
      return (
        <div className="note note-error" role="alert">
          {t('signIn.malformed')}
        </div>
      );
    case 'agent-token':
      return (
        <div className="note note-error" role="alert">
          {t('signIn.agentToken')}
        </div>
      );
    case 'failed':
      return <ErrorNote error={problem.error} />;
  }
}
