import { useState, type FormEvent } from 'react';
import { ApiRequestError } from './api/client.ts';
import type { FieldProblem } from './components/field.tsx';
import { formFieldOf, type Checked } from './model/admin-forms.ts';

/** A form's problems by field, as its fields show them. */
export type FormErrors<Form> = Partial<Record<keyof Form, FieldProblem>>;

/** What a form's view shows and calls back: its state as typed, its problems, a failure naming no field, a request under way. */
export interface FormViewProps<Form> {
  readonly form: Form;
  readonly errors: FormErrors<Form>;
  readonly failure: unknown;
  readonly busy: boolean;
  readonly onChange: (form: Form) => void;
  readonly onSubmit: (e: FormEvent) => void;
}

/**
 * Sending a checked form: its problems (the form's own checks, then the API's refusal put
 * on the field it names, through `apiFields`), a failure that names no field of the form
 * (shown above it), and whether a request is under way (one at a time).
 */
export function useFormRequest<Form, Body, Answer>(apiFields: readonly (readonly [string, keyof Form])[], send: (body: Body) => Promise<Answer>) {
  const [errors, setErrors] = useState<FormErrors<Form>>({});
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  /** Sends the body when the form is valid; the answer, or undefined when the form or the API refused. */
  const run = async (checked: Checked<Form, Body>): Promise<Answer | undefined> => {
    if (busy) return undefined;
    setErrors(checked.ok ? {} : checked.errors);
    setFailure(undefined);
    if (!checked.ok) return undefined;
    setBusy(true);
    try {
      return await send(checked.body);
    } catch (err) {
      const field = err instanceof ApiRequestError ? formFieldOf(err.field, apiFields) : null;
      if (field !== null && err instanceof ApiRequestError) setErrors({ [field]: { message: err.message } } as FormErrors<Form>);
      else setFailure(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  const reset = () => {
    setErrors({});
    setFailure(undefined);
  };
  return { errors, failure, busy, run, reset };
}
