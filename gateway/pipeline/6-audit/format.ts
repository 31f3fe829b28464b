import { type AuditRow, jsonColumns } from './row.ts';
import { columnNames } from './schema.ts';

/** The output formats of `mandate audit query`. */
export const formats = {
  table: formatTable,
  json: formatJson,
  csv: formatCsv,
} as const satisfies Record<string, (rows: readonly AuditRow[]) => string>;

export type Format = keyof typeof formats;

type Cell = string | number | null;

/** The readable subset shown by the table format; json and csv carry every column. */
const tableColumns: readonly (readonly [string, (row: AuditRow) => Cell])[] = [
  ['seq', (r) => r.seq],
  ['time', (r) => r.time],
  ['kind', (r) => r.kind],
  ['decision', (r) => r.decision],
  ['status', (r) => r.status],
  ['user', (r) => r.user],
  ['agent', (r) => r.agent],
  ['action', (r) => r.action],
  ['resource', (r) => (r.resource_id === null ? null : [r.resource_type, r.resource_id].filter(Boolean).join(':'))],
  ['reason', (r) => r.reason],
];

const maxCellWidth = 48;

/**
 * Aligned columns for a terminal. Values come from tokens and requests, i.e. from callers, so control
 * and invisible format characters are shown escaped: a crafted value must not be able to drive the
 * auditor's terminal (cf. CVE-2009-4487) or hide text behind bidi overrides. Long values are cut at
 * 48 characters; null shows as `-`.
 */
export function formatTable(rows: readonly AuditRow[]): string {
  const lines = [
    tableColumns.map(([name]) => name),
    ...rows.map((row) => tableColumns.map(([, cell]) => displayCell(cell(row)))),
  ];
  const widths = tableColumns.map((_, i) => lines.reduce((widest, line) => Math.max(widest, line[i]?.length ?? 0), 0));
  return `${lines
    .map((line) =>
      line
        .map((text, i) => text.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function displayCell(value: Cell): string {
  if (value === null) return '-';
  const text = String(value).replace(/[\p{Cc}\p{Cf}]/gu, escapeControl);
  return text.length > maxCellWidth ? `${text.slice(0, maxCellWidth - 1)}…` : text;
}

/** An array of complete rows, JSON columns parsed (kept as text if a row holds invalid JSON). */
export function formatJson(rows: readonly AuditRow[]): string {
  const parsed = rows.map((row) => {
    const out: Record<string, unknown> = { ...row };
    for (const column of jsonColumns) out[column] = parseOrKeep(row[column]);
    return out;
  });
  // JSON.stringify escapes C0 controls inside strings, but not DEL and C1 (U+009B is a one-byte CSI).
  return `${JSON.stringify(parsed, null, 2).replace(/[\u007f-\u009f]/g, escapeControl)}\n`;
}

function parseOrKeep(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * RFC 4180: a header line, every column, CRLF line ends; a field containing a comma, a double quote,
 * CR or LF is quoted with inner quotes doubled; null is an empty field. Values are written exactly as
 * stored (no escaping), so the export can be checked against the chain.
 */
export function formatCsv(rows: readonly AuditRow[]): string {
  const lines = [columnNames.join(','), ...rows.map((row) => columnNames.map((c) => csvField(row[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A control or format character as `\uXXXX` (`\u{XXXXX}` beyond the BMP). */
function escapeControl(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = code.toString(16).padStart(4, '0');
  return code > 0xffff ? `\\u{${hex}}` : `\\u${hex}`;
}
