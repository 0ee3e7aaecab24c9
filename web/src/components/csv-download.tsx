import { csvText, type CsvValue } from '../model/csv.ts';

/**
 * A button that downloads a table as a CSV file built in the browser (nothing is asked of
 * the server): the text is made at the click, from what the page shows then. A UTF-8 byte
 * order mark leads the file, so that spreadsheets read Chinese headers as such.
 */
export function CsvDownload({ label, fileName, header, rows }: {
  readonly label: string;
  readonly fileName: string;
  readonly header: readonly string[];
  readonly rows: () => readonly (readonly CsvValue[])[];
}) {
  const download = () => {
    const url = URL.createObjectURL(new Blob(['\uFEFF', csvText(header, rows())], { type: 'text/csv;charset=utf-8' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    document.body.append(a);
    a.click();
    a.remove();
    // After the click has been handled: the download holds the blob by then.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };
  return (
    <button type="button" className="csv" onClick={download}>
      {label}
    </button>
  );
}
