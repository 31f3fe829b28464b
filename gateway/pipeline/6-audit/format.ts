import { type CallRow, callColumns } from './calls.ts';
import { type AuditRow, jsonColumns } from './row.ts';
import { columnNames } from './schema.ts';

type Cell = string | number | null;

/**
 * What the formats need to know about one kind of row: every column (json, csv), the readable subset
 * a terminal table shows, and which columns hold JSON text (json parses them).
 */
export interface RowShape<R> {
  readonly columns: readonly (keyof R & string)[];
  readonly table: readonly (readonly [string, (row: R) => Cell])[];
  readonly jsonColumns: readonly (keyof R & string)[];
}

const resourceCell = (r: { resource_type: string | null; resource_id: string | null }): Cell =>
  r.resource_id === null ? null : [r.resource_type, r.resource_id].filter(Boolean).join(':');

/** Audit events, as stored. */
export const eventShape: RowShape<AuditRow> = {
  columns: columnNames,
  table: [
    ['seq', (r) => r.seq],
    ['time', (r) => r.time],
    ['kind', (r) => r.kind],
    ['decision', (r) => r.decision],
    ['status', (r) => r.status],
    ['user', (r) => r.user],
    ['agent', (r) => r.agent],
    ['action', (r) => r.action],
    ['resource', resourceCell],
    ['reason', (r) => r.reason],
  ],
  jsonColumns,
};

/** Rows of the `calls` view: one per proxy call. */
export const callShape: RowShape<CallRow> = {
  columns: callColumns,
  table: [
    ['seq', (r) => r.seq],
    ['time', (r) => r.time],
    ['user', (r) => r.user],
    ['agent', (r) => r.agent],
    ['action', (r) => r.action],
    ['resource', (r) => r.resource],
    ['decision', (r) => r.decision],
    ['status', (r) => r.status],
    ['reason', (r) => r.reason],
    ['txn', (r) => r.txn],
  ],
  jsonColumns: ['actor_chain', 'policy_reasons'],
};

/** The output formats of `mandate audit query`. */
export const formats = {
  table: formatTable,
  json: formatJson,
  csv: formatCsv,
} as const;

export type Format = keyof typeof formats;

const maxCellWidth = 48;

/**
 * Aligned columns for a terminal. Values come from tokens and requests, i.e. from callers, so control
 * and invisible format characters are shown escaped: a crafted value must not be able to drive the
 * auditor's terminal (cf. CVE-2009-4487) or hide text behind bidi overrides. Long values are cut at
 * 48 characters; null shows as `-`.
 */
export function formatTable<R>(rows: readonly R[], shape: RowShape<R>): string {
  const tableColumns = shape.table;
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
  const text = showControls(String(value));
  return text.length > maxCellWidth ? `${text.slice(0, maxCellWidth - 1)}…` : text;
}

/** An array of complete rows, JSON columns parsed (kept as text if a row holds invalid JSON). */
export function formatJson<R>(rows: readonly R[], shape: RowShape<R>): string {
  const parsed = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const column of shape.columns) out[column] = row[column];
    for (const column of shape.jsonColumns) out[column] = parseOrKeep(row[column] as string | null);
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
export function formatCsv<R>(rows: readonly R[], shape: RowShape<R>): string {
  const { columns } = shape;
  const lines = [columns.join(','), ...rows.map((row) => columns.map((c) => csvField(row[c] as Cell)).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * `text` with every control and invisible format character (C0, DEL, C1, bidi overrides, zero-width…)
 * written as `\uXXXX`: a stored value cannot drive a terminal or reorder the text around it.
 */
export function showControls(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, escapeControl);
}

/** A control or format character as `\uXXXX` (`\u{XXXXX}` beyond the BMP). */
function escapeControl(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  const hex = code.toString(16).padStart(4, '0');
  return code > 0xffff ? `\\u{${hex}}` : `\\u${hex}`;
}
