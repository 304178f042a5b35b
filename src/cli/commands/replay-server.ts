import type { Command } from 'commander';
import { startReplayServer } from '../../server/dv-replay-server.js';

export function registerReplayServer(program: Command): void {
  program
    .command('replay-server')
    .description('serve an event file as a DV-compatible live TCP stream (AEDAT 4 network form), paced in real time')
    .argument('<file>', 'event file (any supported format)')
    .option('--port <n>', 'TCP port', '7777')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--speed <x>', 'replay speed (1 = real time, 0 = as fast as the client reads)', '1')
    .option('--loop', 'start over at the end of the file')
    .option('--compression <kind>', 'packet compression: none, lz4, zstd', 'lz4')
    .action(async (file: string, opts: { port: string; host: string; speed: string; loop?: boolean; compression: string }) => {
      const port = Number(opts.port);
      const speed = Number(opts.speed);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535 (got '${opts.port}')`);
      if (!(speed >= 0)) throw new Error(`--speed must be >= 0 (got '${opts.speed}')`);
      if (!['none', 'lz4', 'zstd'].includes(opts.compression)) throw new Error(`--compression must be none, lz4 or zstd (got '${opts.compression}')`);
      const server = await startReplayServer(file, {
        port,
        host: opts.host,
        speed,
        loop: opts.loop,
        compression: opts.compression as 'none' | 'lz4' | 'zstd',
        log: (line) => console.error(line),
      });
      console.log(`replaying ${file} on tcp://${server.host}:${server.port} (speed ${speed || 'max'}${opts.loop ? ', looped' : ''})`);
      const stop = () => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
