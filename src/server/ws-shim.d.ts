/**
 * Minimal types for `ws` 8 (the package ships none and @types/ws is not installable offline here).
 * Covers what evstream uses: the server-side socket given by @fastify/websocket and the test/bench client.
 * Delete this file if @types/ws is ever added.
 */
declare module 'ws' {
  import { EventEmitter } from 'node:events';

  namespace WebSocket {
    type RawData = Buffer | ArrayBuffer | Buffer[];
    interface ClientOptions {
      maxPayload?: number;
      perMessageDeflate?: boolean;
      headers?: Record<string, string>;
      /** Origin header of the handshake. */
      origin?: string;
    }
  }

  class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    readonly readyState: 0 | 1 | 2 | 3;
    readonly bufferedAmount: number;
    binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments';
    constructor(address: string, options?: WebSocket.ClientOptions);
    send(data: string | Buffer | ArrayBuffer | ArrayBufferView, cb?: (err?: Error) => void): void;
    send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options: { binary?: boolean; compress?: boolean }, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    ping(data?: unknown): void;
    /** Stop reading from the socket (ws >= 8.7). */
    pause(): void;
    resume(): void;
    on(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'open', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
    once(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
    once(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    once(event: 'open', listener: () => void): this;
    once(event: 'error', listener: (err: Error) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
  }

  export = WebSocket;
}
