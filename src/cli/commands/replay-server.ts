import type { Command } from 'commander';
import { DEFAULT_REPLAY_MAX_CLIENTS, startReplayServer } from '../../server/dv-replay-server.js';
import { SPEED_MAX, SPEED_MIN, isValidSpeed } from '../../sources/speed.js';
import { argument, compressionOption, existingFile, EVENT_FILE, integerArg, numberArg, option, parser, refuse, type Compression, type Parse } from '../options.js';

/** 0 (as fast as the client reads) or a speed in SPEED_MIN..SPEED_MAX. */
const speedArg: Parse<number> = parser(`0 or a number from ${SPEED_MIN} to ${SPEED_MAX}`, (text, name) => {
  const v = numberArg({ min: 0 })(text, name);
  return v === 0 || isValidSpeed(v) ? v : refuse(name, speedArg.what, text);
});

export function registerReplayServer(program: Command): void {
  const cmd = program.command('replay-server').description('serve an event file as a DV-compatible live TCP stream (AEDAT 4 network form), paced in real time');
  argument(cmd, '<file>', 'event file (any supported format)', existingFile(EVENT_FILE));
  option(cmd, '--port <n>', 'TCP port (0 = any free port)', integerArg({ min: 0, max: 65535 }), '7777');
  cmd.option('--host <addr>', 'address to bind (0.0.0.0 serves every interface: anyone who can reach the port gets the recording)', '127.0.0.1');
  // a tiny positive speed would hold every client at its first packet for ever
  option(cmd, '--speed <x>', `replay speed (1 = real time, 0 = as fast as the client reads, else ${SPEED_MIN}..${SPEED_MAX})`, speedArg, '1');
  option(cmd, '--max-clients <n>', 'most clients served at once; more connections are closed at once', integerArg({ min: 1, max: 1000 }), String(DEFAULT_REPLAY_MAX_CLIENTS));
  cmd.option('--loop', 'start over at the end of the file');
  compressionOption(cmd, 'packet compression');
  cmd.action(async (file: string, opts: { port: number; host: string; speed: number; maxClients: number; loop?: boolean; compression: Compression }) => {
      const { port, speed, maxClients } = opts;
      const server = await startReplayServer(file, {
        port,
        host: opts.host,
        speed,
        loop: opts.loop,
        compression: opts.compression,
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
