import type { ReactNode } from 'react';

/**
 * Named figures in a description list: a `Stat` (in `dl.stats`, a large number in a
 * box) or a `Fact` (in `dl.facts`, a plain value). The name is the `dt`, so a screen
 * reader reads each value with its name.
 */
export function Stat({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return <Term className="stat" label={label}>{children}</Term>;
}

export function Fact({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return <Term className="fact" label={label}>{children}</Term>;
}

function Term({ className, label, children }: { readonly className: string; readonly label: string; readonly children: ReactNode }) {
  return (
    <div className={className}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
