import { useEffect, useRef, useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import { useI18n } from '../i18n/i18n-context.tsx';
import { useOverflow } from './table.tsx';

/**
 * Draws a Vega-Lite spec as SVG. Vega is loaded on first use, in its own chunk,
 * so that signing in does not wait for it. The chart is an image to assistive
 * technology, labelled with `description`; each chart on the dashboard sits next
 * to a table with the same figures, which is what a screen reader reads.
 */
export function VegaChart({ spec, title }: { readonly spec: TopLevelSpec; readonly title: string }) {
  const { t } = useI18n();
  const container = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const [drawn, setDrawn] = useState(0);
  // A chart wider than a narrow screen scrolls in its frame, which then takes the keyboard (arrow keys scroll it).
  const overflows = useOverflow(container, drawn);

  useEffect(() => {
    let cancelled = false;
    let finalize: (() => void) | undefined;
    const draw = async () => {
      const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
      if (cancelled || container.current === null) return;
      const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: container.current, hover: true });
      finalize = () => view.finalize();
      await view.runAsync();
      setFailed(false);
      setDrawn((n) => n + 1);
    };
    draw().catch(() => {
      if (!cancelled) setFailed(true);
    });
    return () => {
      cancelled = true;
      finalize?.();
    };
  }, [spec]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={container} className="chart-canvas" role="img" aria-label={spec.description ?? title} {...(overflows ? { tabIndex: 0 } : {})} />
      {failed ? <p className="muted">{t('chart.failed')}</p> : null}
    </figure>
  );
}
