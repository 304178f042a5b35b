/**
 * Framing guard for an AEDAT 4 byte stream from the network. It walks the same units as the decoder
 * (optional version line, int32 IOHeader size, IOHeader, then `[int32 streamId][int32 size][payload]`
 * packets) without decoding anything, and says how many bytes of each chunk may be handed to the decoder.
 *
 * Why a separate pass: the decoder buffers a whole unit once it has read its size field (it trusts sizes up
 * to its `maxPacketBytes`, 256 MiB by default, which is right for files whose length bounds them), and in
 * non-strict mode an absurd size only stops it quietly. A peer is not bounded by anything, so here every
 * size field is checked against `maxBytes` BEFORE the decoder sees it; a bad one ends the stream (packets
 * carry no sync marker, so there is no resynchronising) and the caller drops the connection.
 *
 * It also counts complete packets, which is what the TCP source treats as progress (idle timeout, backoff
 * reset): a peer that trickles bytes without ever completing a packet is not making progress.
 *
 * Memory: only the IOHeader is copied (once per connection, at most `maxBytes`, parsed for the data-table
 * position); payloads are counted, never stored.
 */
import { EventFormatError, type FormatErrorKind } from '../events/errors.js';
import { MAX_IOHEADER_SIZE, MAX_PACKET_SIZE, VERSION_LINE_BYTES } from '../events/aedat4/format.js';
import { parseIoHeader } from '../events/aedat4/index.js';

export interface GuardStep {
  /** Leading bytes of the chunk that may be handed to the decoder (all of it unless `fault`). */
  pass: number;
  /** Packets (header and payload) completed within those bytes. */
  packets: number;
  /** Set when the stream cannot go on: hand over `pass` bytes, then drop the connection. */
  fault?: EventFormatError;
}

const enum S {
  Detect,
  Version,
  HeaderSize,
  Header,
  PacketHeader,
  Payload,
  Table,
  Failed,
}

export class DvPacketGuard {
  private state = S.Detect;
  /** Absolute offset of the next byte to be scanned. */
  private pos = 0;
  /** Offset where the current unit started. */
  private unitStart = 0;
  private left = 0;
  private small = new Uint8Array(8);
  private smallFill = 0;
  private header: Uint8Array | undefined;
  private headerFill = 0;
  private fileForm = false;
  private tablePos = -1;
  private tableBytes = 0;
  private packetSize = 0;
  private fault: EventFormatError | undefined;
  /** Complete packets so far. */
  packets = 0;

  constructor(
    private readonly source: string,
    /** Largest packet payload, IOHeader or data table accepted (bytes). */
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 8 || maxBytes > MAX_PACKET_SIZE) {
      throw new RangeError(`maxPacketBytes must be an integer in 8..${MAX_PACKET_SIZE}, got ${maxBytes}`);
    }
  }

  scan(chunk: Uint8Array): GuardStep {
    if (this.fault) return { pass: 0, packets: 0, fault: this.fault };
    const chunkStart = this.pos;
    const n = chunk.length;
    const before = this.packets;
    let i = 0;
    // `passTo` (absolute): a unit whose size field failed is withheld from the decoder, which would
    // otherwise allocate that size; bytes before it are passed so that their events are delivered.
    const stop = (fault: EventFormatError, passTo: number): GuardStep => {
      this.fault = fault;
      this.state = S.Failed;
      return { pass: Math.max(0, passTo - chunkStart), packets: this.packets - before, fault };
    };
    while (i < n) {
      switch (this.state) {
        case S.Detect:
          // the decoder's 'auto' rule: a leading '#' means the file form with its version line
          this.fileForm = chunk[i] === 0x23;
          this.unitStart = this.pos;
          if (this.fileForm) {
            this.state = S.Version;
            this.left = VERSION_LINE_BYTES.length;
          } else this.gatherSmall(S.HeaderSize);
          continue;
        case S.Table: {
          // a file's data table (a simple server sending a file's bytes): passed on, but bounded too
          const k = n - i;
          if (this.tableBytes + k > this.maxBytes) {
            const ok = this.maxBytes - this.tableBytes;
            return stop(this.error('corrupt-packet', this.tablePos, `a file data table of at most ${this.maxBytes} bytes (maxPacketBytes)`, `more bytes`), this.pos + ok);
          }
          this.tableBytes += k;
          i += k;
          this.pos += k;
          continue;
        }
        case S.Version:
        case S.Payload: {
          const k = Math.min(this.left, n - i);
          i += k;
          this.pos += k;
          this.left -= k;
          if (this.left > 0) continue;
          if (this.state === S.Version) this.gatherSmall(S.HeaderSize);
          else {
            this.packets++;
            this.expectPacketHeader();
          }
          continue;
        }
        case S.HeaderSize:
        case S.PacketHeader: {
          const need = this.state === S.HeaderSize ? 4 : 8;
          const k = Math.min(need - this.smallFill, n - i);
          this.small.set(chunk.subarray(i, i + k), this.smallFill);
          this.smallFill += k;
          i += k;
          this.pos += k;
          if (this.smallFill < need) continue;
          const dv = new DataView(this.small.buffer, 0, 8);
          if (this.state === S.HeaderSize) {
            const size = dv.getInt32(0, true);
            const limit = Math.min(this.maxBytes, MAX_IOHEADER_SIZE);
            if (size < 8 || size > limit) {
              const expected = this.fileForm ? `an int32 IOHeader size in 8..${limit}` : `'#!AER-DAT4.0' or an int32 IOHeader size in 8..${limit}`;
              return stop(this.error(this.fileForm ? 'bad-header' : 'bad-magic', this.unitStart, expected, String(size)), this.unitStart);
            }
            this.header = new Uint8Array(size);
            this.headerFill = 0;
            this.unitStart = this.pos;
            this.state = S.Header;
            continue;
          }
          const streamId = dv.getInt32(0, true);
          const size = dv.getInt32(4, true);
          const toTable = this.tablePos >= 0 ? this.tablePos - this.pos : Infinity;
          if (size < 0 || size > this.maxBytes || size > toTable) {
            const limit = Math.min(this.maxBytes, toTable);
            return stop(
              this.error('corrupt-packet', this.unitStart, `a packet size in 0..${limit} (stream ${streamId}; maxPacketBytes ${this.maxBytes})`, String(size)),
              this.unitStart,
            );
          }
          this.packetSize = size;
          if (size === 0) {
            this.packets++;
            this.expectPacketHeader();
          } else {
            this.state = S.Payload;
            this.left = size;
          }
          continue;
        }
        case S.Header: {
          const h = this.header!;
          const k = Math.min(h.length - this.headerFill, n - i);
          h.set(chunk.subarray(i, i + k), this.headerFill);
          this.headerFill += k;
          i += k;
          this.pos += k;
          if (this.headerFill < h.length) continue;
          this.header = undefined;
          let tablePosition: number;
          try {
            tablePosition = parseIoHeader(h).dataTablePosition;
          } catch (e) {
            // the decoder parses the same bytes and throws its own (more specific) error first
            return stop(this.error('bad-header', this.unitStart, 'an IOHeader flatbuffer', (e as Error).message), this.pos);
          }
          // dataTablePosition counts the version line; a stream without one is shifted back (as the decoder does)
          this.tablePos = tablePosition < 0 ? -1 : tablePosition - (this.fileForm ? 0 : VERSION_LINE_BYTES.length);
          if (tablePosition >= 0 && this.tablePos < this.pos) {
            return stop(this.error('bad-header', this.unitStart, `dataTablePosition after the header (>= ${this.pos})`, String(tablePosition)), this.pos);
          }
          this.expectPacketHeader();
          continue;
        }
        case S.Failed:
          return { pass: 0, packets: 0, fault: this.fault };
      }
    }
    return { pass: n, packets: this.packets - before };
  }

  /**
   * What is cut off if the stream ends now: undefined at a packet boundary, else a short description
   * (used in the "connection closed" reason).
   */
  partial(): string | undefined {
    switch (this.state) {
      case S.Detect:
        return undefined;
      case S.Version:
      case S.HeaderSize:
      case S.Header:
        return `inside the stream header (${this.pos} bytes received)`;
      case S.PacketHeader:
        return this.smallFill > 0 ? `inside a packet header at byte ${this.unitStart}` : undefined;
      case S.Payload:
        return `inside a packet of ${this.packetSize} bytes at byte ${this.unitStart} (${this.packetSize - this.left} received)`;
      default:
        return undefined;
    }
  }

  private gatherSmall(state: S.HeaderSize | S.PacketHeader): void {
    this.state = state;
    this.smallFill = 0;
    this.unitStart = this.pos;
  }

  private expectPacketHeader(): void {
    if (this.tablePos >= 0 && this.pos === this.tablePos) {
      this.state = S.Table;
      this.unitStart = this.pos;
      return;
    }
    this.gatherSmall(S.PacketHeader);
  }

  private error(kind: FormatErrorKind, offset: number, expected: string, found: string): EventFormatError {
    return new EventFormatError(kind, this.source, offset, expected, found);
  }
}
