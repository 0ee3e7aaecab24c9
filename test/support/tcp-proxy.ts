// A TCP proxy to put between an agent and the control plane, to cut the link under
// it as a WAN partition would: `cut()` drops every open connection and refuses (or
// blackholes) new ones, `heal()` forwards again.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** How a cut link treats new connections: closed at once, or accepted and never answered (packets lost). */
export type CutMode = 'refuse' | 'blackhole';

export class TcpProxy {
  private readonly open = new Set<Socket>();
  private mode: CutMode | null = null;
  private readonly server: Server;
  /** `http://127.0.0.1:<port>` once listening. */
  url = '';

  private constructor(private target: URL) {
    this.server = createServer((client) => this.accept(client));
  }

  /** Listens on 127.0.0.1 (a free port) and forwards to `target` (`http://host:port`). */
  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(new URL(target));
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.url = `${proxy.target.protocol}//127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
    return proxy;
  }

  /** Drops every open connection; new ones are refused or blackholed until `heal()`. */
  cut(mode: CutMode = 'refuse'): void {
    this.mode = mode;
    this.dropAll();
  }

  /** Forwards new connections again; blackholed ones are dropped (the client sees them fail and retries). */
  heal(): void {
    this.mode = null;
    this.dropAll();
  }

  /** Forwards new connections to `target` from now on (what a virtual IP does when a standby is promoted); open ones are dropped. */
  retarget(target: string): void {
    this.target = new URL(target);
    this.heal();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    if (this.mode === 'blackhole') {
      // Read and drop what the client sends; answer nothing.
      client.resume();
      return;
    }
    const upstream = connect(Number(this.target.port), this.target.hostname);
    this.track(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  private track(socket: Socket): void {
    this.open.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.open.delete(socket));
  }

  private dropAll(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}
