/** A column of a table: its header and how a row shows in it. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Numbers read best right-aligned. */
  readonly align?: "left" | "right";
}

/**
 * Renders rows as an aligned plain-text table (two spaces between columns, no trailing
 * whitespace), with upper-case headers, in the style of kubectl and heroku.
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [
    columns.map((column) => column.header.toUpperCase()),
    ...rows.map((row) => columns.map((column) => oneLine(column.value(row)))),
  ];
  const widths = columns.map((_, index) =>
    Math.max(...cells.map((line) => width(line[index] ?? ""))),
  );
  return cells
    .map((line) =>
      line
        .map((cell, index) => {
          const pad = " ".repeat((widths[index] ?? 0) - width(cell));
          return columns[index]?.align === "right" ? pad + cell : cell + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/** Renders "Key:  value" lines with the values aligned. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...pairs.map(([key]) => width(key) + 1));
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(keyWidth)}  ${oneLine(value)}\n`).join("");
}

/** 512 B, 1.5 KiB, 12.3 MiB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] ?? ""}`;
}

/** An ISO timestamp to the second, in UTC: 2025-01-31T12:00:00Z. */
export function formatTime(iso: string | null): string {
  return iso === null ? "-" : iso.replace(/\.\d+Z$/, "Z");
}

/** The algorithm and first 12 hex digits of a digest: sha256:0123456789ab. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(":", 2);
  return hex === undefined ? digest.slice(0, 12) : `${algorithm ?? ""}:${hex.slice(0, 12)}`;
}

/** Pretty JSON with a trailing newline, for --json. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Table cells are single lines; control characters from the server must not redraw the terminal. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, " ");
}

const graphemes = new Intl.Segmenter();

/** Display width, counting user-perceived characters (wide CJK glyphs aside). */
function width(text: string): number {
  return Array.from(graphemes.segment(text)).length;
}
