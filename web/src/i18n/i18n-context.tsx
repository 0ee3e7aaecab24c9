import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { MessageKey } from './catalog-en.ts';
import { Formatter, initialLocale, translate, type Locale, type MessageVars } from './i18n.ts';

/** What every view reads to speak the chosen language. */
export interface I18n {
  readonly locale: Locale;
  readonly setLocale: (locale: Locale) => void;
  readonly t: (key: MessageKey, vars?: MessageVars) => string;
  readonly format: Formatter;
}

/** localStorage, unlike the token: the language is a preference to remember across visits. */
const LOCALE_KEY = 'suanli:locale';

const I18nContext = createContext<I18n | null>(null);

function i18nFor(locale: Locale, setLocale: (locale: Locale) => void): I18n {
  return { locale, setLocale, t: (key, vars) => translate(locale, key, vars), format: new Formatter(locale) };
}

/**
 * Provides the language: the one remembered in localStorage, else the browser's.
 * Switching stores the choice and sets `<html lang>` so that screen readers and
 * fonts follow. `fixed` pins a language without storage (server-side rendering in tests).
 */
export function I18nProvider({ children, fixed }: { readonly children: ReactNode; readonly fixed?: Locale }) {
  const [locale, setLocale] = useState<Locale>(() => fixed ?? initialLocale(readStored(), navigator.languages));
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const value = useMemo(
    () =>
      i18nFor(locale, (next) => {
        setLocale(next);
        try {
          localStorage.setItem(LOCALE_KEY, next);
        } catch {
          // Storage refused (a private window's quota): the choice holds for this page only.
        }
      }),
    [locale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

function readStored(): string | null {
  try {
    return localStorage.getItem(LOCALE_KEY);
  } catch {
    return null;
  }
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (i18n === null) throw new Error('useI18n outside I18nProvider');
  return i18n;
}
