import { connect, type Socket } from 'node:net';
import { BehaviorSubject, Observable } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import type { FormatWarning } from '../events/errors.js';
import { Aedat4Decoder } from '../events/aedat4/index.js';

export type DvConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface DvConnectionStatus {
  state: DvConnectionState;
  url: string;
  /** Connection attempts since the last successful connection. */
  attempt: number;
  /** Delay before the next attempt (reconnecting only). */
  retryInMs?: number;
  /** Why the last connection ended or failed. */
  reason?: string;
  /** Events received over all connections. */
  events: number;
}

export interface DvTcpOptions {
  /** First reconnect delay (default 200 ms), doubled per failed attempt up to `maxBackoffMs` (default 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
  onWarning?: (w: FormatWarning) => void;
}

/** An event source that also reports its connection state. */
export interface DvTcpSource extends Observable<EventBatch> {
  readonly status$: Observable<DvConnectionStatus>;
}

/** `tcp://host:port` or `host:port` -> { host, port }. */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(url.trim());
  if (!m) throw new Error(`bad DV TCP address '${url}': expected tcp://host:port`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`bad DV TCP address '${url}': port out of range`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Events from the DV software's TCP network output (an AEDAT 4 stream: IOHeader then packets; the
 * `#!AER-DAT4.0` version line is accepted but not required). The end of the socket means "camera gone":
 * the source reconnects with exponential backoff and a fresh decoder, so a half-sent packet is dropped,
 * never fatal; everything decoded before it has already been emitted.
 */
export function fromDvTcp(url: string, opts: DvTcpOptions = {}): DvTcpSource {
  const { host, port } = parseTcpUrl(url);
  const label = `tcp://${host}:${port}`;
  const status$ = new BehaviorSubject<DvConnectionStatus>({ state: 'stopped', url: label, attempt: 0, events: 0 });
  const events$ = new Observable<EventBatch>((subscriber) => {
    let socket: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let attempt = 0;
    let events = 0;
    const initial = opts.initialBackoffMs ?? 200;
    const max = opts.maxBackoffMs ?? 5000;

    const open = (): void => {
      if (stopped) return;
      attempt++;
      status$.next({ state: attempt === 1 && events === 0 ? 'connecting' : 'reconnecting', url: label, attempt, events });
      const decoder = new Aedat4Decoder(
        {
          batch: (b) => {
            events += b.length;
            subscriber.next(b);
          },
          warn: opts.onWarning,
        },
        { source: label, strict: false, expectVersionLine: 'auto' },
      );
      let failed = false;
      const s = connect({ host, port });
      socket = s;
      s.setNoDelay(true);
      s.on('connect', () => {
        attempt = 0;
        status$.next({ state: 'connected', url: label, attempt: 0, events });
      });
      s.on('data', (chunk: Buffer) => {
        if (failed) return;
        try {
          decoder.push(chunk);
        } catch (err) {
          // A stream we cannot parse: drop this connection and start over with a fresh decoder.
          failed = true;
          opts.onWarning?.({ kind: 'corrupt-packet', source: label, offset: -1, message: (err as Error).message });
          s.destroy();
        }
      });
      s.on('error', () => {
        /* reported through 'close' */
      });
      s.on('close', () => {
        if (socket === s) socket = undefined;
        if (stopped) return;
        if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
          status$.next({ state: 'stopped', url: label, attempt, events, reason: 'too many failed attempts' });
          subscriber.error(new Error(`${label}: no connection after ${attempt} attempts`));
          return;
        }
        const retryInMs = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
        status$.next({ state: 'reconnecting', url: label, attempt, events, retryInMs, reason: failed ? 'unparseable stream' : 'connection closed' });
        timer = setTimeout(open, retryInMs);
      });
    };
    open();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.destroy();
      status$.next({ state: 'stopped', url: label, attempt, events });
    };
  });
  return Object.assign(events$, { status$: status$.asObservable() });
}
