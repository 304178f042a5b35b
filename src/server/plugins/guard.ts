/**
 * Who may talk to the viewer server: one onRequest hook on the whole app (registered before the other
 * plugins), so it covers the API, the static files, 404s and the websocket upgrade alike. The websocket
 * upgrade is routed through fastify by @fastify/websocket before `ws` completes the handshake, so a
 * refused upgrade gets a plain HTTP 403 and never becomes a websocket.
 *
 * 1. Host (every request). A web page cannot choose the Host header; a DNS-rebinding page (evil.example
 *    re-resolved to 127.0.0.1) sends `Host: evil.example`. Allowed: `localhost`, `127.0.0.1`, `[::1]` and
 *    the bound address, each with the port the request arrived on; plus `allowHosts` entries (`name` =
 *    any port, e.g. behind a reverse proxy; `name:port` = that port only). Bound to a wildcard address
 *    (0.0.0.0 / ::), the "bound address" is every address of this machine's interfaces: IP literals
 *    cannot be rebound, so they are safe to accept, while LAN names (`mybox.lan`) need `allowHosts`.
 *    0.0.0.0 itself is never a valid Host (browsers have reached local servers through it).
 * 2. Origin (every request that carries one: websocket upgrades, POSTs, CORS fetches). Browsers always
 *    send it there, and pages cannot forge it. Allowed: no Origin (curl, scripts, non-browser clients),
 *    the viewer's own origin (Origin's host and port equal the request's Host, http or https), and
 *    `allowOrigins` entries (exact `scheme://host[:port]`). `Origin: null` (sandboxed frames, file://)
 *    is refused.
 *
 * A refused request gets 403 with a short JSON body and one log line (method, url, the refused value),
 * rate-limited so a hostile page cannot flood the log.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

export interface GuardOptions {
  /** The address the server listens on (default 127.0.0.1). */
  boundHost?: string;
  /**
   * The port a Host must name. Default: the local port of the connection the request came in on (exact,
   * also for port 0); requests without a socket port (app.inject) then accept any port.
   */
  port?: number;
  /** More Host values: `name` (any port) or `name:port`; IPv6 in brackets, `[fe80::1]:8080`. */
  allowHosts?: readonly string[];
  /** More origins: `http(s)://host[:port]`. */
  allowOrigins?: readonly string[];
  /** Where a refusal is reported (default: the fastify logger at warn level). */
  log?: (line: string) => void;
  /** Refusals logged per `logWindowMs` before the rest are only counted (default 20 per 10 s). */
  logBurst?: number;
  logWindowMs?: number;
  /** Clock for the log rate limit (tests). */
  now?: () => number;
}

/** A parsed Host value: lower-case name (IPv6 in brackets) and port (undefined = none given). */
export interface HostSpec {
  name: string;
  port: number | undefined;
}

export class GuardOptionError extends Error {
  override readonly name = 'GuardOptionError';
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
// a DNS name (labels of letters, digits, '-', '_'), an IPv4 literal, or a bracketed IPv6 literal
const NAME_RE = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Parse a Host header / `--allow-host` value; undefined when it is not one. */
export function parseHost(value: string): HostSpec | undefined {
  const v = value.trim().toLowerCase();
  if (v.length === 0 || v.length > 260) return undefined;
  let name: string;
  let rest: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return undefined;
    const inner = v.slice(1, end);
    if (isIP(inner) !== 6) return undefined;
    name = `[${inner}]`;
    rest = v.slice(end + 1);
  } else {
    const colon = v.indexOf(':');
    name = colon < 0 ? v : v.slice(0, colon);
    rest = colon < 0 ? '' : v.slice(colon);
    // `localhost.` is the same name as `localhost`
    if (name.endsWith('.')) name = name.slice(0, -1);
    if (!NAME_RE.test(name)) return undefined;
  }
  if (rest === '') return { name, port: undefined };
  if (!/^:[0-9]{1,5}$/.test(rest)) return undefined;
  const port = Number(rest.slice(1));
  if (port < 1 || port > 65535) return undefined;
  return { name, port };
}

/** Parse an Origin header / `--allow-origin` value to `scheme://host[:port]`; undefined when it is not one. */
export function parseOrigin(value: string): { origin: string; host: HostSpec } | undefined {
  if (value.length > 300) return undefined;
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return undefined;
  // URL drops default ports: give them back so that the comparison with Host is by number
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return { origin: u.origin, host: { name: u.hostname.toLowerCase(), port } };
}

/** A host as written in a URL / Host header: IPv6 in brackets, lower case. */
function hostName(addr: string): string {
  const a = addr.toLowerCase().replace(/%.*$/, '');
  return isIP(a) === 6 ? `[${a}]` : a;
}

const isWildcard = (h: string): boolean => h === '0.0.0.0' || h === '::' || h === '[::]' || h === '';

function interfaceNames(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(hostName(a.address));
  return out;
}

/** The checks, independent of fastify (unit-testable). */
export class RequestGuard {
  readonly boundHost: string;
  private readonly names = new Set<string>(LOOPBACK_NAMES);
  private readonly extraHosts: HostSpec[];
  private readonly origins: Set<string>;
  private readonly wildcard: boolean;
  private ifaceNames = new Set<string>();
  private ifaceCheckedAt = -Infinity;

  constructor(private readonly opts: GuardOptions = {}) {
    this.boundHost = opts.boundHost ?? '127.0.0.1';
    this.wildcard = isWildcard(this.boundHost);
    if (!this.wildcard) {
      const bound = parseHost(hostName(this.boundHost.replace(/^\[(.*)\]$/, '$1')));
      if (!bound || bound.port !== undefined) throw new GuardOptionError(`bound host '${this.boundHost}' is not an address or host name`);
      this.names.add(bound.name);
    }
    if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 1 && opts.port <= 65535)) throw new GuardOptionError(`guard port must be 1..65535, got ${opts.port}`);
    this.extraHosts = (opts.allowHosts ?? []).map((h) => {
      const spec = parseHost(h);
      if (!spec) throw new GuardOptionError(`--allow-host '${h}' is not a host name or address with an optional port (e.g. viewer.lan, 192.168.1.20:8080, [fe80::1]:8080)`);
      if (spec.name === '0.0.0.0' || spec.name === '[::]') throw new GuardOptionError(`--allow-host '${h}': a wildcard address is not a host a browser should use`);
      return spec;
    });
    this.origins = new Set(
      (opts.allowOrigins ?? []).map((o) => {
        const p = parseOrigin(o);
        if (!p) throw new GuardOptionError(`--allow-origin '${o}' is not an origin (scheme://host[:port], e.g. http://dashboard.lan:3000)`);
        return p.origin;
      }),
    );
    if (this.wildcard) this.refreshInterfaces(0);
  }

  private refreshInterfaces(now: number): void {
    this.ifaceNames = interfaceNames();
    this.ifaceCheckedAt = now;
  }

  private knownName(name: string): boolean {
    if (this.names.has(name)) return true;
    if (!this.wildcard) return false;
    if (this.ifaceNames.has(name)) return true;
    // an address this machine gained since the last look (DHCP, VPN): look again, at most once a second
    const bare = name.replace(/^\[(.*)\]$/, '$1');
    const now = performance.now();
    if (isIP(bare) && now - this.ifaceCheckedAt > 1000) {
      this.refreshInterfaces(now);
      return this.ifaceNames.has(name);
    }
    return false;
  }

  /** Why this Host is refused, or undefined when it is allowed. `localPort`: the port the request came in on. */
  checkHost(host: string | undefined, localPort: number | undefined): string | undefined {
    if (host === undefined || host === '') return 'no Host header';
    const h = parseHost(host);
    if (!h) return `Host ${quote(host)} is not a host name`;
    if (this.extraHosts.some((e) => e.name === h.name && (e.port === undefined || e.port === (h.port ?? 80)))) return undefined;
    if (!this.knownName(h.name)) return `Host ${quote(host)} is not allowed (add it with --allow-host)`;
    const want = this.opts.port ?? localPort;
    if (want !== undefined && (h.port ?? 80) !== want) return `Host ${quote(host)} names another port than ${want}`;
    return undefined;
  }

  /** Why this Origin is refused, or undefined when it is allowed (`host`: the request's Host, already checked). */
  checkOrigin(origin: string | undefined, host: string | undefined): string | undefined {
    if (origin === undefined) return undefined;
    const o = parseOrigin(origin);
    if (!o) return `Origin ${quote(origin)} is not allowed`;
    if (this.origins.has(o.origin)) return undefined;
    const h = host === undefined ? undefined : parseHost(host);
    // same origin: the page was loaded from this server under the same name and port
    if (h && h.name === o.host.name && (h.port ?? (o.origin.startsWith('https:') ? 443 : 80)) === o.host.port) return undefined;
    return `Origin ${quote(origin)} is not allowed (add it with --allow-origin)`;
  }
}

/** Quote an untrusted value for a message: JSON escapes, at most 120 characters. */
function quote(v: string): string {
  return JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v);
}

/** Rate-limited log: `burst` lines per window, then a count of the rest in the next line. */
class ThrottledLog {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;
  constructor(
    private readonly out: (line: string) => void,
    private readonly burst: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}
  line(text: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    const more = this.suppressed ? ` (${this.suppressed} more refused requests not logged)` : '';
    this.suppressed = 0;
    this.out(text + more);
  }
}

const guardPluginImpl: FastifyPluginAsync<GuardOptions> = async (app, opts) => {
  // validated here, at registration: a bad --allow-host fails the start, not the first request
  const guard = new RequestGuard(opts);
  const log = new ThrottledLog(opts.log ?? ((l) => app.log.warn(l)), opts.logBurst ?? 20, opts.logWindowMs ?? 10_000, opts.now ?? Date.now);

  const refuse = (req: FastifyRequest, reply: FastifyReply, why: string): FastifyReply => {
    const url = req.url.length > 200 ? `${req.url.slice(0, 200)}...` : req.url;
    log.line(`evstream: refused ${req.method} ${JSON.stringify(url)} from ${req.socket?.remoteAddress ?? '?'}: ${why}`);
    // An upgrade request's socket left node's HTTP handling when 'upgrade' fired: nothing closes it after
    // the 403 (and @fastify/websocket's own clean-up hook never ran for a request refused this early), so
    // a refused websocket would stay half-open and hold up server.close(). Close it once the 403 is out.
    const socket = req.raw.socket;
    if (req.headers.upgrade !== undefined && socket) reply.raw.once('finish', () => socket.destroy());
    // other requests: `connection: close` makes node end the connection after the 403
    return reply.code(403).header('connection', 'close').send({ statusCode: 403, error: 'Forbidden', message: why });
  };

  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    const badHost = guard.checkHost(host, req.socket?.localPort);
    if (badHost) return refuse(req, reply, badHost);
    const origin = req.headers.origin;
    const badOrigin = guard.checkOrigin(Array.isArray(origin) ? origin.join(',') : origin, host);
    if (badOrigin) return refuse(req, reply, badOrigin);
  });
};

// skip-override (what fastify-plugin sets): the hook applies to the whole app, not only inside this plugin
export const guardPlugin = Object.assign(guardPluginImpl, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'evstream-guard' });
