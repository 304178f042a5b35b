import { connect, type Socket } from 'node:net';
import { BehaviorSubject, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { realtimeScheduler } from '../util/clock.js';
import type { EventBatch } from '../events/types.js';
import { EventFormatError, warningFrom, type FormatWarning } from '../events/errors.js';
import { Aedat4Decoder } from '../events/aedat4/index.js';
import { DvPacketGuard } from './dv-packet-guard.js';

export type DvConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/**
 * Why a connection ended: the peer closed it ('closed'), a socket error such as ECONNREFUSED ('error'),
 * bytes that are not a valid or acceptable AEDAT 4 stream ('corrupt'), or no complete packet within the
 * idle timeout, including a connect that does not complete ('idle').
 */
export type DvDisconnectCause = 'closed' | 'error' | 'corrupt' | 'idle';

export interface DvConnectionStatus {
  state: DvConnectionState;
  url: string;
  /**
   * Connection attempts since the last connection that delivered a complete packet and did not end in a
   * corrupt stream (this one included; 0 right after such a connection ended). Only such a connection
   * resets it, so a server that accepts and closes at once backs off like a dead one.
   */
  attempt: number;
  /** Delay before the next attempt (reconnecting only). */
  retryInMs?: number;
  /** Why the last connection ended or failed (human readable). */
  reason?: string;
  /** The same, as a category (reconnecting / stopped after a connection ended). */
  cause?: DvDisconnectCause;
  /** Events received over all connections. */
  events: number;
}

/** Defaults of the network-path limits (also documented in README "Live input: DV over TCP"). */
export const DV_TCP_DEFAULTS = {
  initialBackoffMs: 200,
  maxBackoffMs: 5000,
  /** DV packets are small (kB to a few MB); 16 MiB leaves room for large frames. */
  maxPacketBytes: 16 * 1024 * 1024,
  idleTimeoutMs: 5000,
} as const;

export interface DvTcpOptions {
  /** First reconnect delay (default 200 ms), doubled per failed attempt (see `attempt`) up to `maxBackoffMs` (default 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this many consecutive failed attempts (no complete packet, or a corrupt stream; default: never). */
  maxAttempts?: number;
  /**
   * Largest packet payload (and IOHeader) accepted from the peer, in bytes (default 16 MiB). A larger size
   * field is a corrupt stream: the connection is dropped before anything of that size is buffered.
   */
  maxPacketBytes?: number;
  /**
   * Drop the connection and reconnect when no complete packet has arrived for this long (default 5000 ms;
   * 0 = never). Counts from the start of each connection attempt, so it also bounds a hanging connect.
   * Bytes that do not complete a packet are not progress.
   */
  idleTimeoutMs?: number;
  /** Timers (backoff, idle timeout) run on this scheduler (default realtimeScheduler, src/util/clock.ts); tests pass virtual time. */
  scheduler?: SchedulerLike;
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
 *
 * Hostile or broken peers cannot stall it or exhaust memory:
 * - every size field is checked against `maxPacketBytes` before the decoder sees it (DvPacketGuard); a bad
 *   one, or any error the decoder throws, is a corrupt stream: a warning, then the connection is dropped
 *   and retried (`reconnecting`, cause 'corrupt');
 * - no complete packet for `idleTimeoutMs` (trickling, silent or never-connecting peer): dropped and
 *   retried (cause 'idle');
 * - the backoff counter resets only when a connection that delivered a complete packet ends other than
 *   in a corrupt stream.
 */
export function fromDvTcp(url: string, opts: DvTcpOptions = {}): DvTcpSource {
  const { host, port } = parseTcpUrl(url);
  const label = `tcp://${host}:${port}`;
  const initial = opts.initialBackoffMs ?? DV_TCP_DEFAULTS.initialBackoffMs;
  const max = opts.maxBackoffMs ?? DV_TCP_DEFAULTS.maxBackoffMs;
  const maxPacketBytes = opts.maxPacketBytes ?? DV_TCP_DEFAULTS.maxPacketBytes;
  const idleMs = opts.idleTimeoutMs ?? DV_TCP_DEFAULTS.idleTimeoutMs;
  const scheduler = opts.scheduler ?? realtimeScheduler;
  if (!(idleMs >= 0)) throw new RangeError(`idleTimeoutMs must be >= 0, got ${idleMs}`);
  new DvPacketGuard(label, maxPacketBytes); // validates maxPacketBytes now rather than on the first connection
  const status$ = new BehaviorSubject<DvConnectionStatus>({ state: 'stopped', url: label, attempt: 0, events: 0 });
  const events$ = new Observable<EventBatch>((subscriber) => {
    let socket: Socket | undefined;
    let retryTimer: Subscription | undefined;
    let idleTimer: Subscription | undefined;
    let stopped = false;
    let attempt = 0;
    let events = 0;

    const open = (): void => {
      if (stopped) return;
      attempt++;
      status$.next({ state: attempt === 1 && events === 0 ? 'connecting' : 'reconnecting', url: label, attempt, events });
      let warned = false;
      const decoder = new Aedat4Decoder(
        {
          batch: (b) => {
            events += b.length;
            subscriber.next(b);
          },
          warn: (w) => {
            warned = true;
            opts.onWarning?.(w);
          },
        },
        // The packet guard below refuses oversize packets before they are buffered; the decoder holds the
        // same cap (and its own decompressed-size cap) in case a packet slips past.
        { source: label, strict: false, expectVersionLine: 'auto', maxPacketBytes },
      );
      const guard = new DvPacketGuard(label, maxPacketBytes);
      let connected = false;
      let delivered = false; // at least one complete packet on this connection
      let ended: { cause: DvDisconnectCause; reason: string } | undefined;
      let lastError: Error | undefined;
      let lastProgress = scheduler.now();
      let bytesSinceProgress = 0;
      const s = connect({ host, port });
      socket = s;
      s.setNoDelay(true);

      const drop = (cause: DvDisconnectCause, reason: string): void => {
        ended ??= { cause, reason };
        s.destroy();
      };
      const corrupt = (err: unknown): void => {
        const w: FormatWarning =
          err instanceof EventFormatError ? warningFrom(err) : { kind: 'corrupt-packet', source: label, offset: -1, message: `${label}: ${(err as Error).message}` };
        opts.onWarning?.(w);
        // the status already names the url
        drop('corrupt', `corrupt stream: ${w.message.startsWith(`${label}: `) ? w.message.slice(label.length + 2) : w.message}`);
      };
      // One timer per idle period, not per packet: packets only move `lastProgress`; when the timer fires
      // early (progress happened meanwhile) it re-arms for the rest of the period.
      const idleCheck = (): void => {
        if (ended || stopped) return;
        const quiet = scheduler.now() - lastProgress;
        if (quiet < idleMs) {
          idleTimer = scheduler.schedule(idleCheck, idleMs - quiet);
          return;
        }
        drop(
          'idle',
          connected
            ? `stalled: no complete packet for ${quiet} ms (${bytesSinceProgress} bytes since the last one)`
            : `connect timed out after ${quiet} ms`,
        );
      };
      if (idleMs > 0 && Number.isFinite(idleMs)) idleTimer = scheduler.schedule(idleCheck, idleMs);

      s.on('connect', () => {
        connected = true;
        status$.next({ state: 'connected', url: label, attempt, events });
      });
      s.on('data', (chunk: Buffer) => {
        if (ended || stopped) return;
        bytesSinceProgress += chunk.length;
        const step = guard.scan(chunk);
        try {
          // events of every whole packet before a fault are delivered first
          if (step.pass > 0) decoder.push(step.pass === chunk.length ? chunk : chunk.subarray(0, step.pass));
        } catch (err) {
          corrupt(err);
          return;
        }
        if (stopped) return; // unsubscribed from inside a batch
        if (step.packets > 0) {
          lastProgress = scheduler.now();
          bytesSinceProgress = 0;
          delivered = true;
        }
        if (step.fault) {
          corrupt(step.fault);
          return;
        }
        // Safety net: the guard checks every size field the decoder would stop on, but if the decoder ever
        // stops quietly (non-strict, unrecoverable fault) the stream is dead: do not sit "connected" on it.
        if (warned) {
          warned = false;
          if ((decoder.info().skipped['unparsedBytes'] ?? 0) > 0) corrupt(new Error('the decoder stopped after an unrecoverable fault (see the warning before)'));
        }
      });
      s.on('error', (err) => {
        lastError = err; // reported through 'close'
      });
      s.on('close', () => {
        idleTimer?.unsubscribe();
        if (socket === s) socket = undefined;
        if (stopped) return;
        const cut = guard.partial();
        const end = ended ?? (lastError
          ? { cause: 'error' as const, reason: lastError.message }
          : { cause: 'closed' as const, reason: `connection closed by the peer${delivered ? '' : ' before a complete packet'}${cut ? ` ${cut}` : ''}` });
        // Only a connection that delivered a packet and did not end in a corrupt stream resets the backoff:
        // a server that accepts and closes, or that sends a little and then garbage every time, backs off.
        if (delivered && end.cause !== 'corrupt') attempt = 0;
        if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
          status$.next({ state: 'stopped', url: label, attempt, events, reason: `too many failed attempts (last: ${end.reason})`, cause: end.cause });
          subscriber.error(new Error(`${label}: no connection after ${attempt} attempts (last: ${end.reason})`));
          return;
        }
        // attempt 0 here means this connection delivered: retry after the first delay again
        const retryInMs = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
        status$.next({ state: 'reconnecting', url: label, attempt, events, retryInMs, reason: end.reason, cause: end.cause });
        retryTimer = scheduler.schedule(open, retryInMs);
      });
    };
    open();
    return () => {
      stopped = true;
      retryTimer?.unsubscribe();
      idleTimer?.unsubscribe();
      socket?.destroy();
      status$.next({ state: 'stopped', url: label, attempt, events });
    };
  });
  return Object.assign(events$, { status$: status$.asObservable() });
}
