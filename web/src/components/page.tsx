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

/**
 * A failure as the reader should see it: what went wrong in their language (by the API's error
 * `code`), the field the API named, in a sentence of their language too; then the server's own
 * words, which are English (the API's messages are), kept for the details and for a report.
 */
export interface DescribedError {
  readonly headline: string;
  /** "The field at fault: gpus." when the API named one; else null. */
  readonly field: string | null;
  /** The server's (or the browser's) own message; null when there is none. */
  readonly detail: string | null;
  /** The language of `detail`: `en` for the API's messages, undefined when unknown (the browser's). */
  readonly detailLang: 'en' | undefined;
}

export function describeError({ t }: Pick<I18n, 't'>, err: unknown): DescribedError {
  if (err instanceof ApiRequestError) {
    return { headline: t(ERROR_LABEL[err.code]), field: err.field === undefined ? null : t('error.fieldNamed', { field: err.field }), detail: err.message, detailLang: 'en' };
  }
  return { headline: t('error.unexpected'), field: null, detail: err instanceof Error ? err.message : String(err), detailLang: undefined };
}

/** What the server said in its own words, labelled as such (and marked English for screen readers and fonts). */
export function ServerWords({ text, lang }: { readonly text: string; readonly lang?: 'en' | undefined }) {
  const { t } = useI18n();
  return (
    <span className="note-detail">
      {t('common.serverWords')} <span lang={lang}>{text}</span>
    </span>
  );
}

export function ErrorNote({ error }: { readonly error: unknown }) {
  const i18n = useI18n();
  const { headline, field, detail, detailLang } = describeError(i18n, error);
  return (
    <div className="note note-error" role="alert">
      <strong>{headline}</strong>
      {field === null ? null : <span className="note-field">{field}</span>}
      {detail === null ? null : <ServerWords text={detail} lang={detailLang} />}
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
