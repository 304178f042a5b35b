/**
 * Fan-out of processed frames to websocket clients, with per-client backpressure.
 *
 * Each frame is encoded once and the same buffers go to every client. A client whose socket is backed up
 * (`bufferedAmount` above `maxBufferedBytes`, or `maxInFlight` frames not yet written to the kernel) is not
 * sent to: its newest frame is parked in a one-slot mailbox (an older parked frame is dropped and counted)
 * and sent as soon as the socket drains. Memory per client is therefore bounded by
 * maxBufferedBytes + one frame in flight + one parked frame, whatever the client does, and a slow client
 * never delays the pipeline or the other clients (nothing here waits).
 */
import type WebSocket from 'ws';
import { encodeFrame, type FrameStats } from './protocol.js';
import type { FrameResult } from '../pipeline/runner.js';

export interface HubOptions {
  maxBufferedBytes?: number;
  maxInFlight?: number;
  log?: (msg: string) => void;
}

interface Outgoing {
  bin: Buffer;
  stats: Omit<FrameStats, 'clientDropped' | 'sentAt'>;
}

export interface ClientInfo {
  id: number;
  sent: number;
  dropped: number;
  bufferedAmount: number;
  remote: string;
}

class Client {
  sent = 0;
  dropped = 0;
  inFlight = 0;
  parked: Outgoing | undefined;
  rejected = 0;
  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    readonly remote: string,
  ) {}
}

export class FrameHub {
  private clients = new Map<number, Client>();
  private nextId = 1;
  private readonly maxBuffered: number;
  private readonly maxInFlight: number;
  /** Frames not sent to some client because it was slow (all clients, ever). */
  totalDropped = 0;
  framesBroadcast = 0;

  constructor(private readonly opts: HubOptions = {}) {
    this.maxBuffered = opts.maxBufferedBytes ?? 256 * 1024;
    this.maxInFlight = opts.maxInFlight ?? 2;
  }

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket, remote = ''): number {
    const c = new Client(this.nextId++, socket, remote);
    this.clients.set(c.id, c);
    socket.on('close', () => this.clients.delete(c.id));
    return c.id;
  }

  remove(id: number): void {
    this.clients.delete(id);
  }

  info(): ClientInfo[] {
    return [...this.clients.values()].map((c) => ({ id: c.id, sent: c.sent, dropped: c.dropped, bufferedAmount: c.socket.bufferedAmount, remote: c.remote }));
  }

  /** Send a JSON message to one client (or all), unless its socket is backed up (control messages are tiny). */
  sendJson(msg: object, id?: number): void {
    const text = JSON.stringify(msg);
    for (const c of id === undefined ? this.clients.values() : [this.clients.get(id)].filter((x): x is Client => !!x)) {
      if (c.socket.readyState !== 1 || c.socket.bufferedAmount > this.maxBuffered * 2) continue;
      c.socket.send(text);
    }
  }

  /** Hand one processed frame to every client (never waits). */
  broadcast(r: FrameResult, stats: Omit<FrameStats, 'clientDropped' | 'sentAt'>, classes: number): void {
    this.framesBroadcast++;
    if (this.clients.size === 0) return;
    const out: Outgoing = { bin: encodeFrame(r, classes), stats };
    for (const c of this.clients.values()) this.offer(c, out);
  }

  /** Send one frame to one client (e.g. the newest frame on connect). */
  broadcastTo(id: number, r: FrameResult, stats: Omit<FrameStats, 'clientDropped' | 'sentAt'>, classes: number): void {
    const c = this.clients.get(id);
    if (c) this.offer(c, { bin: encodeFrame(r, classes), stats });
  }

  private ready(c: Client): boolean {
    return c.inFlight < this.maxInFlight && c.socket.bufferedAmount <= this.maxBuffered;
  }

  private offer(c: Client, out: Outgoing): void {
    if (c.socket.readyState !== 1) return;
    if (!this.ready(c)) {
      if (c.parked) {
        c.dropped++;
        this.totalDropped++;
      }
      c.parked = out;
      return;
    }
    if (c.parked) {
      // an older parked frame is superseded by this one
      c.parked = undefined;
      c.dropped++;
      this.totalDropped++;
    }
    this.send(c, out);
  }

  private send(c: Client, out: Outgoing): void {
    c.inFlight++;
    c.sent++;
    const stats: FrameStats = { ...out.stats, clientDropped: c.dropped, sentAt: Date.now() };
    c.socket.send(out.bin);
    c.socket.send(JSON.stringify(stats), (err) => {
      c.inFlight--;
      if (err || c.socket.readyState !== 1) return;
      // drained enough: the newest parked frame goes now
      if (c.parked && this.ready(c)) {
        const p = c.parked;
        c.parked = undefined;
        this.send(c, p);
      }
    });
  }

  /** A client that sent a bad message. */
  noteRejected(id: number): number {
    const c = this.clients.get(id);
    if (!c) return 0;
    return ++c.rejected;
  }

  closeAll(): void {
    for (const c of this.clients.values()) c.socket.close(1001, 'server shutting down');
    this.clients.clear();
  }
}
