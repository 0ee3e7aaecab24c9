import { useEffect, useId, useRef, type ReactNode, type RefObject } from 'react';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { useI18n } from '../i18n/i18n-context.tsx';
import type { MessageVars } from '../i18n/i18n.ts';

/**
 * What is wrong with a field's value: one of the dashboard's messages (checked before
 * anything is sent), or the API's own words when the API refused the request and
 * named this field (`{error: {field}}`).
 */
export type FieldProblem = MessageKey | { readonly key: MessageKey; readonly vars: MessageVars } | { readonly message: string };

/** What a field's control needs to be labelled and described: spread onto the input or select. */
export interface ControlProps {
  readonly id: string;
  readonly 'aria-invalid': boolean | undefined;
  readonly 'aria-describedby': string | undefined;
}

/**
 * A ref for a form whose first problem field takes the focus each time `errors` changes
 * to name one (a refused submit lands a keyboard user on what to fix, not on <body>).
 */
export function useFocusFirstProblem(errors: object): RefObject<HTMLFormElement | null> {
  const form = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (Object.keys(errors).length > 0) form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);
  return form;
}

/** A labelled form field with its help text and its problem, both tied to the control for screen readers. */
export function Field({ label, error, help, className, children }: {
  readonly label: string;
  readonly error: FieldProblem | undefined;
  readonly help?: string;
  readonly className?: string;
  readonly children: (props: ControlProps) => ReactNode;
}) {
  const { t } = useI18n();
  const id = useId();
  const described = [help === undefined ? null : `${id}-help`, error === undefined ? null : `${id}-error`].filter((x) => x !== null).join(' ');
  return (
    <div className={className === undefined ? 'field' : `field ${className}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': error === undefined ? undefined : true, 'aria-describedby': described === '' ? undefined : described })}
      {help === undefined ? null : (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      )}
      {error === undefined ? null : (
        <p id={`${id}-error`} className="field-error">
          {typeof error === 'string' ? t(error) : 'message' in error ? error.message : t(error.key, error.vars)}
        </p>
      )}
    </div>
  );
}

/** The options of an org picker: `none` first (the empty value), then each org by id. */
export function OrgOptions({ orgs, none }: { readonly orgs: readonly string[]; readonly none: string }) {
  return (
    <>
      <option value="">{none}</option>
      {orgs.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </>
  );
}

/** One of a few values, chosen with radio buttons in a fieldset named by its legend (arrow keys move between them). */
export function RadioChoice<V extends string>({ legend, value, options, onChange, className }: {
  readonly legend: string;
  readonly value: V;
  readonly options: readonly { readonly value: V; readonly label: string }[];
  readonly onChange: (value: V) => void;
  readonly className?: string;
}) {
  const name = useId();
  return (
    <fieldset className={className === undefined ? 'checks' : `checks ${className}`}>
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.value}>
          <input type="radio" name={name} value={o.value} checked={value === o.value} onChange={() => onChange(o.value)} /> {o.label}
        </label>
      ))}
    </fieldset>
  );
}
