import { Command, InvalidArgumentError } from 'commander';
import { isLoopback } from '../../serve/access.js';
import { bundledModelDirs } from '../../models/bundled.js';
import { dtypeLoadOptions } from '../dtype-flags.js';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

interface ServeFlags {
  model?: string[];
  adapter?: string[];
  port: number;
  host: string;
  db: string;
  runs: string;
  maxConcurrent: number;
  maxQueue: number;
  maxBatch: number;
  maxTokens: number;
  log?: boolean;
  threads: number;
  dtype?: string;
  kvCacheDtype?: string;
  apiKey?: string;
  allowedHost?: string[];
}

/** Registers `muse serve`. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP: OpenAI-compatible /v1/completions, /api/*, the playground page (/) and the live training view (/train)')
    .option('--model <dir>', 'model directory to serve (repeatable; default: the bundled muse-poet-zh and muse-story-en)', collect)
    .option('--adapter <name=dir>', 'a LoRA adapter (PEFT directory) over the first --model, served as the model id NAME with the base\'s weights shared (repeatable)', collect)
    .option('--port <n>', 'port (0 = any free port)', int('--port'), 8080)
    .option('--host <addr>', 'address to listen on (0.0.0.0 to accept other machines)', '127.0.0.1')
    .option('--db <file>', 'SQLite file for ratings', 'muse-ratings.db')
    .option('--runs <dir>', 'folder of training runs shown by /train', 'runs')
    .option('--max-concurrent <n>', 'generations running at once', int('--max-concurrent'), 4)
    .option('--max-queue <n>', 'requests waiting for a slot before 429', int('--max-queue'), 64)
    .option('--max-batch <n>', 'unseeded requests with equal settings decoded together, at most (1 = no batching)', int('--max-batch'), 8)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', int('--max-tokens'), 512)
    .option('--threads <n>', 'OpenMP threads of the native kernels (1 suits interleaved generations on a shared machine)', int('--threads'), 1)
    .option('--dtype <dtype>', 'weights in memory: auto (as stored: half-precision or quantized files stay so) or float32', 'auto')
    .option('--kv-cache-dtype <dtype>', 'KV cache of half-precision/quantized models: float32 or float16', 'float32')
    .option('--log', 'log every request (JSON lines on stdout)')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1 and /api (default: $MUSE_API_KEY; none on loopback is fine)')
    .option('--allowed-host <name>', 'a host name clients may use besides loopback and --host, e.g. this machine\'s DNS name (repeatable; * turns the Host/Origin checks off)', collect)
    .action(async (flags: ServeFlags) => {
      const apiKey = flags.apiKey ?? (process.env.MUSE_API_KEY || undefined);
      // fastify and SQLite load only for this command: every other `muse` call starts faster.
      const { createServer } = await import('../../serve/server.js');
      const { parseAdapterSpec } = await import('../../serve/adapters.js');
      const server = await createServer({
        models: flags.model ?? bundledModelDirs(),
        adapters: (flags.adapter ?? []).map(parseAdapterSpec),
        db: flags.db,
        runsDir: flags.runs,
        maxConcurrent: Math.max(1, flags.maxConcurrent),
        maxQueued: flags.maxQueue,
        maxBatch: Math.max(1, flags.maxBatch),
        maxTokens: Math.max(1, flags.maxTokens),
        logger: flags.log ?? false,
        threads: Math.max(1, flags.threads),
        load: dtypeLoadOptions(flags),
        apiKey,
        allowedHosts: flags.allowedHost,
      });
      const url = await server.listen(flags.port, flags.host);
      const models = server.context.registry.causalNames.concat(server.context.registry.maskedNames);
      process.stderr.write(`muse serve: ${url}  (models: ${models.join(', ')}; ratings: ${flags.db})\n`);
      process.stderr.write(`  playground ${url}/   training view ${url}/train   OpenAI base URL ${url}/v1\n`);
      if (!isLoopback(flags.host) && apiKey === undefined) {
        process.stderr.write(
          `\nmuse serve: WARNING: listening on ${flags.host}, beyond this machine, WITHOUT an API key: anyone who can reach port ${url.split(':').pop()} ` +
            'can run generations and read every rating. Set --api-key KEY (or MUSE_API_KEY) so that clients must send "Authorization: Bearer KEY", or listen on 127.0.0.1.\n\n',
        );
      }
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          process.stderr.write('muse serve: second signal, exiting now\n');
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`muse serve: ${signal}: finishing running generations (10 s at most)…\n`);
        server.close(10_000).then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`muse serve: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
