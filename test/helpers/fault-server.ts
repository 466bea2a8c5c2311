/**
 * A scripted raw TCP SMTP server for fault injection: it speaks just enough SMTP to lead a client
 * to one fault (a refusal at a given command, a drop in mid-DATA or after the final dot, silence,
 * a reply trickled one byte at a time, a failing STARTTLS, a reply that echoes the AUTH line) and
 * records what it received, so a test can assert on both sides.
 */
import { EventEmitter } from 'node:events';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { testCert } from './server';

/** What the server does at a point of the dialogue. */
export type Action =
  | string // a reply line (or several, joined by \r\n), sent as is
  | { reply: string; then: 'close' | 'destroy' } // a reply, then the connection ends
  | 'close' // FIN, nothing said
  | 'destroy' // RST-like: the socket destroyed
  | 'silent' // nothing, ever
  | { trickle: string; everyMs: number }; // the reply, one byte at a time

/** One fault scenario; every field has the well-behaved default. */
export interface Script {
  greeting?: Action;
  /** EHLO extension lines (default: PIPELINING-free, 8BITMIME, AUTH PLAIN LOGIN). */
  extensions?: string[];
  /** Replies by command verb: EHLO, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA, RSET, QUIT. */
  replies?: Record<string, Action | ((line: string, n: number) => Action)>;
  /** Reply to the credentials line(s) sent after `334` (AUTH LOGIN), or to AUTH PLAIN with its token. */
  authReply?: (line: string) => Action;
  /** After this many bytes of message data, what happens (the drop in mid-DATA). */
  midData?: { afterBytes: number; action: 'close' | 'destroy' | 'stall' };
  /** What happens after the final "." (default 250). */
  afterDot?: Action;
  /** STARTTLS: the TLS handshake is made with this certificate (default the test certificate). */
  tlsCert?: { key: string; cert: string };
}

/** One connection as the server saw it. */
export interface Session {
  lines: string[];
  /** Bytes of message data received (dot-stuffed, as on the wire). */
  dataBytes: number;
  /** Complete messages (up to the final dot). */
  messages: Buffer[];
  tls: boolean;
}

export interface FaultServer {
  port: number;
  sessions: Session[];
  /** Emits 'dot' (the final dot of a message was read) and 'data' (message bytes arrived). */
  events: EventEmitter;
  close(): Promise<void>;
}

export async function startFaultServer(script: Script): Promise<FaultServer> {
  const sessions: Session[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    const session: Session = { lines: [], dataBytes: 0, messages: [], tls: false };
    sessions.push(session);
    run(raw, script, session, events, sockets);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    sessions,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function run(raw: Socket, script: Script, session: Session, events: EventEmitter, sockets: Set<Socket>): void {
  let socket: Socket = raw;
  let buffer = Buffer.alloc(0);
  let inData = false;
  let dataChunks: Buffer[] = [];
  let tail = Buffer.from('\r\n');
  let pendingAuth = 0;
  let ended = false;
  const counts: Record<string, number> = {};
  const trickles: NodeJS.Timeout[] = [];
  raw.on('close', () => trickles.forEach(clearInterval));

  const act = (action: Action | undefined, fallback: string): void => {
    if (ended) return;
    const a = action ?? fallback;
    if (a === 'silent') return;
    if (a === 'close') {
      ended = true;
      socket.end();
      return;
    }
    if (a === 'destroy') {
      ended = true;
      socket.destroy();
      return;
    }
    if (typeof a === 'string') {
      socket.write(`${a}\r\n`);
      return;
    }
    if ('trickle' in a) {
      const bytes = Buffer.from(`${a.trickle}\r\n`);
      let i = 0;
      const t = setInterval(() => {
        if (i >= bytes.length || socket.destroyed) return clearInterval(t);
        socket.write(bytes.subarray(i, ++i));
      }, a.everyMs);
      trickles.push(t);
      return;
    }
    socket.write(`${a.reply}\r\n`);
    ended = true;
    if (a.then === 'close') socket.end();
    else socket.destroy();
  };

  const reply = (verb: string, line: string, fallback: string) => {
    counts[verb] = (counts[verb] ?? 0) + 1;
    const r = script.replies?.[verb];
    act(typeof r === 'function' ? r(line, counts[verb]) : r, fallback);
  };

  const extensions = script.extensions ?? ['8BITMIME', 'AUTH PLAIN LOGIN'];
  const onLine = (line: string) => {
    session.lines.push(line);
    if (pendingAuth > 0) {
      pendingAuth--;
      if (pendingAuth > 0) return act('334 UGFzc3dvcmQ6', '');
      return act(script.authReply?.(line), '235 2.7.0 Authentication successful');
    }
    const verb = line.split(/[ :]/)[0].toUpperCase();
    switch (verb) {
      case 'EHLO': {
        const lines = [`250-fault.example greets you`, ...extensions].map((l, i, all) => `250${i === all.length - 1 ? ' ' : '-'}${l.replace(/^250-/, '')}`);
        return reply(verb, line, lines.join('\r\n'));
      }
      case 'HELO':
        return reply(verb, line, '250 fault.example');
      case 'STARTTLS': {
        const r = script.replies?.STARTTLS;
        if (r !== undefined) return reply(verb, line, '');
        if (!extensions.includes('STARTTLS')) return act('502 5.5.1 STARTTLS not offered', '');
        socket.write('220 2.0.0 Ready to start TLS\r\n');
        const { key, cert } = script.tlsCert ?? testCert();
        const secure = new TLSSocket(raw, { isServer: true, key, cert });
        secure.on('error', () => raw.destroy());
        sockets.add(secure as unknown as Socket);
        socket = secure;
        session.tls = true;
        buffer = Buffer.alloc(0);
        secure.on('data', onBytes);
        raw.removeListener('data', onBytes);
        return;
      }
      case 'AUTH': {
        const r = script.replies?.AUTH;
        if (r !== undefined) return reply(verb, line, '');
        const [, mech, initial] = line.split(' ');
        if (mech?.toUpperCase() === 'LOGIN') {
          pendingAuth = initial ? 1 : 2;
          return act(initial ? '334 UGFzc3dvcmQ6' : '334 VXNlcm5hbWU6', '');
        }
        if (initial) return act(script.authReply?.(line), '235 2.7.0 Authentication successful');
        pendingAuth = 1;
        return act('334 ', '');
      }
      case 'MAIL':
        return reply(verb, line, '250 2.1.0 Ok');
      case 'RCPT':
        return reply(verb, line, '250 2.1.5 Ok');
      case 'DATA': {
        const r = script.replies?.DATA;
        const chosen = typeof r === 'function' ? r(line, 1) : r;
        if (chosen !== undefined && !(typeof chosen === 'string' && chosen.startsWith('354'))) return reply(verb, line, '');
        inData = true;
        dataChunks = [];
        tail = Buffer.from('\r\n');
        return act(chosen ?? '354 End data with <CR><LF>.<CR><LF>', '');
      }
      case 'RSET':
        return reply(verb, line, '250 2.0.0 Ok');
      case 'QUIT':
        reply(verb, line, '221 2.0.0 Bye');
        ended = true;
        return void socket.end();
      default:
        return act('502 5.5.2 Error: command not recognized', '');
    }
  };

  const onBytes = (chunk: Buffer) => {
    if (ended) return;
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length && !ended) {
      if (inData) {
        // The terminator may straddle chunks: look for it in the last bytes before plus this chunk.
        const probe = Buffer.concat([tail, buffer]);
        const idx = probe.indexOf('\r\n.\r\n');
        const take = idx < 0 ? buffer.length : idx - tail.length + 5;
        dataChunks.push(buffer.subarray(0, take));
        session.dataBytes += take;
        events.emit('data', session.dataBytes);
        if (script.midData && session.dataBytes >= script.midData.afterBytes && idx < 0) {
          ended = true;
          // 'stall': stop reading, so the client's writes back up and nothing more is said.
          if (script.midData.action === 'stall') raw.pause();
          else if (script.midData.action === 'close') socket.end();
          else socket.destroy();
          return;
        }
        if (idx < 0) {
          tail = Buffer.from(probe.subarray(Math.max(0, probe.length - 4)));
          buffer = Buffer.alloc(0);
          return;
        }
        const all = Buffer.concat(dataChunks);
        session.messages.push(all.subarray(0, all.length - 3));
        buffer = buffer.subarray(take);
        dataChunks = [];
        inData = false;
        events.emit('dot', session);
        act(script.afterDot, '250 2.0.0 Ok: queued as FAULT1');
        continue;
      }
      const nl = buffer.indexOf('\r\n');
      if (nl < 0) return;
      const line = buffer.subarray(0, nl).toString('utf8');
      buffer = buffer.subarray(nl + 2);
      onLine(line);
    }
  };

  raw.on('data', onBytes);
  act(script.greeting, '220 fault.example ESMTP');
}
