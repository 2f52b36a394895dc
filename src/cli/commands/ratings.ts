import { createWriteStream } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { writeFileAtomic } from '../../io/atomic.js';
import type { RatingsStore } from '../../serve/ratings-store.js';

function format(v: string): 'csv' | 'jsonl' {
  if (v !== 'csv' && v !== 'jsonl') throw new InvalidArgumentError(`--format must be csv or jsonl, got "${v}"`);
  return v;
}

function fmt(x: number | null, digits = 2): string {
  return x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);
}

/** Registers `muse ratings export|summary`. */
export function register(program: Command): void {
  const ratings = program.command('ratings').description('human ratings collected by `muse serve` (SQLite)');
  ratings
    .command('export')
    .description('write every rating as CSV or JSON lines (prompt, output, model, settings, rating, comment, time)')
    .option('--db <file>', 'ratings database', 'muse-ratings.db')
    .option('--format <fmt>', 'csv or jsonl', format, 'jsonl' as const)
    .option('--out <file>', 'output file (default: stdout)')
    .action(async (flags: { db: string; format: 'csv' | 'jsonl'; out?: string }) => {
      const { exportRatings } = await import('../../serve/ratings-store.js');
      const store = await openStore(flags.db);
      try {
        if (flags.out) {
          writeFileAtomic(flags.out, [...exportRatings(store.iterate(), flags.format)].join(''));
          process.stderr.write(`muse: wrote ${store.count()} ratings to ${flags.out}\n`);
        } else {
          const out = createWriteStream('', { fd: 1 });
          for (const chunk of exportRatings(store.iterate(), flags.format)) {
            if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
          }
          await new Promise<void>((r) => out.end(r));
        }
      } finally {
        store.close();
      }
    });
  ratings
    .command('summary')
    .description('mean rating with count and 95% confidence interval per model and settings')
    .option('--db <file>', 'ratings database', 'muse-ratings.db')
    .option('--json', 'print JSON')
    .action(async (flags: { db: string; json?: boolean }) => {
      const store = await openStore(flags.db);
      try {
        const groups = store.summary();
        if (flags.json) {
          process.stdout.write(JSON.stringify({ total: store.count(), level: 0.95, groups }, null, 2) + '\n');
          return;
        }
        if (groups.length === 0) {
          process.stdout.write(`no ratings in ${flags.db} yet\n`);
          return;
        }
        process.stdout.write('mean   95% CI          n  model  settings\n');
        for (const g of groups) {
          const ci = g.low === null ? 'n/a'.padEnd(13) : `[${fmt(g.low)}, ${fmt(g.high)}]`.padEnd(13);
          process.stdout.write(`${fmt(g.mean)}   ${ci} ${String(g.count).padStart(4)}  ${g.model}  ${JSON.stringify(g.settings)}\n`);
        }
      } finally {
        store.close();
      }
    });
}

/** The ratings database; better-sqlite3 loads only for `muse ratings` (other commands start faster). */
async function openStore(db: string): Promise<RatingsStore> {
  const { RatingsStore: Store } = await import('../../serve/ratings-store.js');
  return new Store(db);
}
