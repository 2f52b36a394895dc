/**
 * Human ratings of generated text in SQLite (better-sqlite3): one row per
 * rating with the prompt, the output, the model, the decoding settings and
 * the time, so ratings can be compared per model and per setting later.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { meanInterval, type MeanInterval } from './stats.js';

/** A rating as submitted. */
export interface NewRating {
  model: string;
  /** Decoding settings the output was generated with (stored as canonical JSON: sorted keys). */
  settings: Record<string, unknown>;
  prompt: string;
  output: string;
  /** 1 (bad) … 5 (excellent). */
  rating: number;
  comment?: string | null;
}

/** A stored rating. */
export interface RatingRow extends NewRating {
  id: number;
  /** ISO 8601 UTC time of submission. */
  createdAt: string;
  comment: string | null;
}

/** Mean rating of one (model, settings) group with a 95% t interval. */
export interface RatingGroup extends MeanInterval {
  model: string;
  settings: Record<string, unknown>;
}

/** JSON with object keys sorted at every level, so equal settings give equal strings (one summary group). */
export function canonicalJSON(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = sort(x);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value));
}

const SCHEMA_VERSION = 1;

/**
 * The ratings database. Opening creates the file and the table when missing
 * (WAL journal: the server writes while `muse ratings export` reads).
 */
export class RatingsStore {
  private readonly db: Database.Database;

  /**
   * @param path database file (`:memory:` for a throwaway store); parent folders are created
   * @throws FileFormatError when the file is not a muse ratings database
   */
  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new FileFormatError(`${path} has ratings schema version ${version}, newer than this muse (${SCHEMA_VERSION}); upgrade muse`);
      }
      this.db.exec(`CREATE TABLE IF NOT EXISTS ratings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        model TEXT NOT NULL,
        settings TEXT NOT NULL,
        prompt TEXT NOT NULL,
        output TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment TEXT
      );
      CREATE INDEX IF NOT EXISTS ratings_group ON ratings (model, settings);`);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (err) {
      if (err instanceof FileFormatError) throw err;
      throw new FileFormatError(`cannot open the ratings database ${path}: ${(err as Error).message}; pass another --db file`);
    }
  }

  /**
   * Store a rating.
   * @returns the stored row (with id and time)
   * @throws ConfigError when the rating is not an integer 1–5 or a text field is missing
   */
  add(r: NewRating, now: Date = new Date()): RatingRow {
    if (!(Number.isInteger(r.rating) && r.rating >= 1 && r.rating <= 5)) {
      throw new ConfigError(`rating must be an integer from 1 to 5, got ${JSON.stringify(r.rating)}`);
    }
    for (const k of ['model', 'prompt', 'output'] as const) {
      if (typeof r[k] !== 'string') throw new ConfigError(`rating field ${k} must be a string`);
    }
    const createdAt = now.toISOString();
    const settings = canonicalJSON(r.settings ?? {});
    const comment = r.comment ?? null;
    const info = this.db
      .prepare('INSERT INTO ratings (created_at, model, settings, prompt, output, rating, comment) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(createdAt, r.model, settings, r.prompt, r.output, r.rating, comment);
    return { id: Number(info.lastInsertRowid), createdAt, model: r.model, settings: JSON.parse(settings) as Record<string, unknown>, prompt: r.prompt, output: r.output, rating: r.rating, comment };
  }

  /** Every rating, oldest first. */
  all(): RatingRow[] {
    return [...this.iterate()];
  }

  /** Every rating, oldest first, without loading the table into memory. */
  *iterate(): IterableIterator<RatingRow> {
    const stmt = this.db.prepare('SELECT id, created_at, model, settings, prompt, output, rating, comment FROM ratings ORDER BY id');
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      yield {
        id: row.id as number,
        createdAt: row.created_at as string,
        model: row.model as string,
        settings: JSON.parse(row.settings as string) as Record<string, unknown>,
        prompt: row.prompt as string,
        output: row.output as string,
        rating: row.rating as number,
        comment: (row.comment as string | null) ?? null,
      };
    }
  }

  /** Number of stored ratings. */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM ratings').get() as { n: number }).n;
  }

  /**
   * Mean rating, count and 95% t confidence interval per (model, settings),
   * best mean first.
   */
  summary(level = 0.95): RatingGroup[] {
    const rows = this.db
      .prepare('SELECT model, settings, count(*) AS n, sum(rating) AS s, sum(rating * rating) AS ss FROM ratings GROUP BY model, settings')
      .all() as { model: string; settings: string; n: number; s: number; ss: number }[];
    return rows
      .map((r) => ({ model: r.model, settings: JSON.parse(r.settings) as Record<string, unknown>, ...meanInterval(r.n, r.s, r.ss, level) }))
      .sort((a, b) => b.mean - a.mean || b.count - a.count || a.model.localeCompare(b.model));
  }

  /** Close the database (further calls throw). */
  close(): void {
    this.db.close();
  }
}

const CSV_COLUMNS = ['id', 'createdAt', 'model', 'settings', 'prompt', 'output', 'rating', 'comment'] as const;

/**
 * One CSV field, quoted per RFC 4180 when it holds a comma, quote or line
 * break. Text that a spreadsheet would run as a formula (starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return, e.g. `=HYPERLINK(…)` or
 * `+cmd|…`) gets a leading `'`, as OWASP's CSV-injection advice says, so
 * opening the export never runs a prompt or comment; numbers are left alone.
 */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'object' ? canonicalJSON(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Ratings as CSV (RFC 4180: header row, CRLF line ends, quoted fields;
 * settings as JSON) or JSON lines (one object per rating).
 */
export function* exportRatings(rows: Iterable<RatingRow>, format: 'csv' | 'jsonl'): IterableIterator<string> {
  if (format === 'csv') {
    yield CSV_COLUMNS.join(',') + '\r\n';
    for (const r of rows) yield CSV_COLUMNS.map((c) => csvField(r[c])).join(',') + '\r\n';
  } else {
    for (const r of rows) yield JSON.stringify(r) + '\n';
  }
}
