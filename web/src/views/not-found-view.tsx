import { Page } from '../components/page.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { Link } from '../router.tsx';

export function NotFoundView({ path }: { readonly path: string }) {
  const { t } = useI18n();
  return (
    <Page title={t('notFound.title')}>
      <p>{t('notFound.text', { path })}</p>
      <p>
        <Link to="/">{t('notFound.back')}</Link>
      </p>
    </Page>
  );
}
