import { useEffect, useId, useRef, type ReactNode } from 'react';
import { ApiRequestError } from '../api/client.ts';
import { useI18n, type I18n } from '../i18n/i18n-context.tsx';
import { ERROR_LABEL } from '../i18n/labels.ts';
import type { Polled } from '../use-polling.ts';

/**
 * A page of the dashboard: its title as the window's title and as the one h1,
 * which takes the keyboard focus when the page opens so that a screen reader
 * announces where a link led (and Tab continues from there).
 */
export function Page({ title, actions, children }: { readonly title: string; readonly actions?: ReactNode; readonly children: ReactNode }) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const id = useId();
  useEffect(() => {
    document.title = `${title} · ${t('app.name')}`;
  }, [title, t]);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <section className="page" aria-labelledby={id}>
      <div className="page-head">
        <h1 id={id} ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A failure as the reader should see it: what went wrong in their language, then the server's own words. */
export function describeError({ t }: Pick<I18n, 't'>, err: unknown): { readonly headline: string; readonly detail: string | null } {
  if (err instanceof ApiRequestError) {
    // The API's messages usually start with the field they are about already.
    const named = err.field === undefined || err.message.startsWith(err.field);
    return { headline: t(ERROR_LABEL[err.code]), detail: named ? err.message : `${err.field}: ${err.message}` };
  }
  return { headline: t('error.unexpected'), detail: err instanceof Error ? err.message : String(err) };
}

export function ErrorNote({ error }: { readonly error: unknown }) {
  const i18n = useI18n();
  const { headline, detail } = describeError(i18n, error);
  return (
    <div className="note note-error" role="alert">
      <strong>{headline}</strong>
      {detail === null ? null : <span className="note-detail">{detail}</span>}
    </div>
  );
}

/**
 * The state of a polled view: loading before the first answer; the last failure
 * (the data from before stays shown beneath); and when the data last arrived.
 */
export function LoadStatus({ polled }: { readonly polled: Pick<Polled<unknown>, 'data' | 'error' | 'updatedAt'> }) {
  const { t, format } = useI18n();
  return (
    <div className="load-status">
      {polled.error === undefined ? null : <ErrorNote error={polled.error} />}
      {polled.data === undefined && polled.error === undefined ? <p className="muted" role="status">{t('common.loading')}</p> : null}
      {polled.updatedAt === undefined ? null : <p className="muted updated">{t('common.updatedAt', { time: format.timeOfDay(polled.updatedAt) })}</p>}
    </div>
  );
}
