import type { JobState, SiteHealth } from '../api/types.ts';
import { useI18n } from '../i18n/i18n-context.tsx';
import { HEALTH_LABEL, STATE_LABEL } from '../i18n/labels.ts';

/** A job's state as a word in a coloured pill; the colour only repeats the word, never replaces it. */
export function StateBadge({ state }: { readonly state: JobState }) {
  const { t } = useI18n();
  return <span className={`badge state-${state}`}>{t(STATE_LABEL[state])}</span>;
}

export function HealthBadge({ health }: { readonly health: SiteHealth }) {
  const { t } = useI18n();
  return <span className={`badge health-${health}`}>{t(HEALTH_LABEL[health])}</span>;
}
