import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { SchedulerLike } from 'rxjs';
import { readEventFile } from '../events/read-file.js';
import { Aedat4Writer, type ByteSink, type Aedat4WriteCompression } from '../events/aedat4/index.js';
import { PacedFileSource } from '../sources/paced-file.js';
import { isValidSpeed, speedError } from '../sources/speed.js';

export interface ReplayServerOptions {
  port?: number;
  host?: string;
  /** Recorded pace times `speed` (SPEED_MIN..SPEED_MAX); 0 = as fast as the client reads. Default 1. */
  speed?: number;
  /** Start over at the end of the file (timestamps keep increasing). */
  loop?: boolean;
  compression?: Aedat4WriteCompression;
  /** Largest time span of one packet (default 10 ms): the stream's granularity. */
  packetUs?: number;
  /**
   * Most clients served at once (default 8); a connection beyond it is closed at once and logged. Each
   * client costs its own file reader and socket buffers, so this bounds what a peer can make us hold.
   */
  maxClients?: number;
  log?: (line: string) => void;
  /** Clock and timers of the pacing (default realtimeScheduler); tests pass virtual time. */
  scheduler?: SchedulerLike;
}

export const DEFAULT_REPLAY_MAX_CLIENTS = 8;

export interface ReplayServer {
  readonly port: number;
  readonly host: string;
  readonly clients: number;
  /** Connections closed at once because maxClients were already served. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Sends to a socket, waiting for 'drain' so a slow client slows only its own replay. */
class SocketSink implements ByteSink {
  constructor(private readonly socket: Socket) {}
  async append(bytes: Uint8Array): Promise<void> {
    if (this.socket.destroyed) throw new Error('client gone');
    if (!this.socket.write(bytes)) await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]);
  }
  async patch(): Promise<void> {
    // The network form has no data table, so nothing is ever patched.
  }
  async close(): Promise<void> {}
}

/**
 * Serves an event file as a DV-compatible live TCP stream (AEDAT 4 network form: IOHeader and packets, no
 * version line, no data table). Every client gets its own replay from the start of the file, paced in real
 * time (or `speed` times faster), like a camera that starts when you connect: a PacedFileSource per client,
 * whose packet is sent when its last event is due. A slow client slows only its own replay (the source waits
 * for the socket to drain before it reads on), so memory per client stays bounded.
 */
export async function startReplayServer(file: string, opts: ReplayServerOptions = {}): Promise<ReplayServer> {
  const speed = opts.speed ?? 1;
  if (!(speed === 0 || isValidSpeed(speed))) throw speedError('speed', speed, true);
  const packetUs = opts.packetUs ?? 10_000;
  const log = opts.log ?? (() => {});
  const maxClients = opts.maxClients ?? DEFAULT_REPLAY_MAX_CLIENTS;
  if (!(Number.isInteger(maxClients) && maxClients >= 1)) throw new RangeError(`maxClients must be an integer >= 1, got ${maxClients}`);
  const sockets = new Set<Socket>();
  let refused = 0;
  // Sensor size comes from the file's header; read it once (cheap) before accepting clients.
  const probe = new AbortController();
  let size = { width: 0, height: 0 };
  await readEventFile(
    file,
    (b) => {
      size = { width: b.width, height: b.height };
      probe.abort();
    },
    { signal: probe.signal },
  )
    .then((info) => (size = { width: info.width, height: info.height }))
    .catch((err: unknown) => {
      if (!probe.signal.aborted) throw err;
    });

  const serve = async (socket: Socket, abort: AbortController): Promise<void> => {
    const writer = await Aedat4Writer.create(new SocketSink(socket), {
      ...size,
      compression: opts.compression ?? 'lz4',
      versionLine: false,
      dataTable: false,
      maxPacketDurationUs: packetUs,
      sourceName: 'evstream-replay',
    });
    const replay = new PacedFileSource(file, { speed, loop: opts.loop, maxBatchUs: packetUs, scheduler: opts.scheduler });
    await replay.run(async (part) => {
      await writer.write(part);
      await writer.flush();
    }, abort.signal);
    abort.signal.throwIfAborted(); // the client left: not a finished replay
    await writer.close();
  };

  const server: Server = createServer((socket) => {
    const who = `${socket.remoteAddress}:${socket.remotePort}`;
    if (sockets.size >= maxClients) {
      refused++;
      log(`client ${who} refused: ${maxClients} clients already connected (--max-clients)`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    sockets.add(socket);
    log(`client ${who} connected`);
    const abort = new AbortController();
    socket.on('error', () => abort.abort());
    socket.on('close', () => {
      abort.abort();
      sockets.delete(socket);
      log(`client ${who} disconnected`);
    });
    serve(socket, abort)
      .then(() => {
        log(`replay to ${who} finished`);
        socket.end();
      })
      .catch((err: unknown) => {
        if (!abort.signal.aborted) log(`replay to ${who} failed: ${(err as Error).message}`);
        socket.destroy();
      });
  });
  server.listen(opts.port ?? 7777, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 7777);
  return {
    port,
    // the address actually bound (127.0.0.1 unless told otherwise: a recording is not served to the LAN by default)
    host: typeof addr === 'object' && addr ? addr.address : (opts.host ?? '127.0.0.1'),
    get clients() {
      return sockets.size;
    },
    get refused() {
      return refused;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
