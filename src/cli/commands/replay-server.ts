import type { Command } from 'commander';
import { DEFAULT_REPLAY_MAX_CLIENTS, startReplayServer } from '../../server/dv-replay-server.js';
import { SPEED_MAX, SPEED_MIN, isValidSpeed } from '../../sources/speed.js';

export function registerReplayServer(program: Command): void {
  program
    .command('replay-server')
    .description('serve an event file as a DV-compatible live TCP stream (AEDAT 4 network form), paced in real time')
    .argument('<file>', 'event file (any supported format)')
    .option('--port <n>', 'TCP port', '7777')
    .option('--host <addr>', 'address to bind (0.0.0.0 serves every interface: anyone who can reach the port gets the recording)', '127.0.0.1')
    .option('--speed <x>', `replay speed (1 = real time, 0 = as fast as the client reads, else ${SPEED_MIN}..${SPEED_MAX})`, '1')
    .option('--max-clients <n>', 'most clients served at once; more connections are closed at once', String(DEFAULT_REPLAY_MAX_CLIENTS))
    .option('--loop', 'start over at the end of the file')
    .option('--compression <kind>', 'packet compression: none, lz4, zstd', 'lz4')
    .action(async (file: string, opts: { port: string; host: string; speed: string; maxClients: string; loop?: boolean; compression: string }) => {
      const port = Number(opts.port);
      const speed = Number(opts.speed);
      const maxClients = Number(opts.maxClients);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535 (got '${opts.port}')`);
      // a tiny positive speed would hold every client at its first packet for ever
      if (!(speed === 0 || isValidSpeed(speed))) throw new Error(`--speed must be 0 or ${SPEED_MIN}..${SPEED_MAX} (got '${opts.speed}')`);
      if (!(Number.isInteger(maxClients) && maxClients >= 1 && maxClients <= 1000)) throw new Error(`--max-clients must be 1..1000 (got '${opts.maxClients}')`);
      if (!['none', 'lz4', 'zstd'].includes(opts.compression)) throw new Error(`--compression must be none, lz4 or zstd (got '${opts.compression}')`);
      const server = await startReplayServer(file, {
        port,
        host: opts.host,
        speed,
        loop: opts.loop,
        compression: opts.compression as 'none' | 'lz4' | 'zstd',
        maxClients,
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
