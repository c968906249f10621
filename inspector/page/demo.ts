/**
 * The demo panel (on the page served by `npm start`): create RtmClients right in the page, log
 * them in and out, cut and restore each one's network, kick one by logging its uid in again,
 * ban it, and send peer and channel messages — while their charts move in the inspector.
 * The SDK is the browser bundle the server serves at /inspector/sdk.js.
 */
import type { RtmChannel, RtmClient, Timing } from '../../src/index.js';
import { h } from './dom.js';
import { DemoNetwork } from './network.js';
import { createPageProducer, type PageProducer } from './producer.js';

type Sdk = typeof import('../../src/index.js');

interface DemoConfig {
  rtmUrl: string;
  timing?: Partial<Timing>;
}

let mounted = false;

/**
 * The clients' timing: the server's (when it shares it), then `?timing={"interruptionGraceMs":1000}`
 * (any subset, JSON), then `?scale=0.1` (ten times faster) — to match a demo server started
 * with other timing than the defaults.
 */
function demoTiming(sdk: Sdk, config: DemoConfig): Partial<Timing> {
  const params = new URLSearchParams(location.search);
  let timing: Partial<Timing> = { ...(config.timing ?? {}) };
  const given = params.get('timing');
  if (given) {
    try {
      timing = { ...timing, ...(JSON.parse(given) as Partial<Timing>) };
    } catch {
      console.warn('inspector demo: ignored ?timing=, which is not JSON');
    }
  }
  const scale = Number(params.get('scale'));
  return Number.isFinite(scale) && scale > 0 ? sdk.scaleTiming(scale, timing) : timing;
}
let clientCount = 0;

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = (await res.json()) as T & { message?: string };
  if (!res.ok) throw new Error(data.message ?? `HTTP ${res.status}`);
  return data;
}

export async function mountDemo(slot: HTMLElement): Promise<void> {
  if (mounted) return;
  mounted = true;
  const status = h('p', { class: 'muted' }, 'Loading the client SDK…');
  const panel = h('section', { class: 'panel demo', 'data-demo': 'true' }, h('h2', {}, 'Demo clients'), status);
  slot.replaceChildren(panel);
  let sdk: Sdk;
  let config: DemoConfig;
  try {
    const sdkUrl = '/inspector/sdk.js';
    [sdk, config] = await Promise.all([
      import(/* @vite-ignore */ sdkUrl) as Promise<Sdk>,
      fetch('/inspector/demo/config').then((r) => (r.ok ? (r.json() as Promise<DemoConfig>) : Promise.reject(new Error(`config: HTTP ${r.status}`)))),
    ]);
  } catch (error) {
    status.textContent = `The demo is unavailable: ${(error as Error).message}`;
    return;
  }
  const timing = demoTiming(sdk, config);
  const producer = createPageProducer();
  const uidInput = h('input', { type: 'text', value: 'demo-alice', 'aria-label': 'uid', class: 'demo-uid' });
  const list = h('div', { class: 'demo-clients' });
  const create = (uid: string): DemoClient => {
    const client = new DemoClient(sdk, config, timing, producer, uid);
    list.prepend(client.element);
    // Show the new client's chart as soon as its machine reaches the page.
    location.hash = encodeURIComponent(client.actorId);
    return client;
  };
  const createButton = h('button', { type: 'button', class: 'demo-create', onclick: () => { const uid = uidInput.value.trim(); if (uid) void create(uid).login(); } }, 'Create & log in');
  status.textContent = `Clients connect to ${config.rtmUrl}; their machines appear in the actor list.`;
  panel.append(h('div', { class: 'demo-form' }, uidInput, createButton), list);
  // Kicking: a second client with the same uid logs in; the first is aborted (REMOTE_LOGIN).
  DemoClient.onKick = (uid) => void create(uid).login();
}

class DemoClient {
  static onKick: (uid: string) => void = () => undefined;
  readonly element: HTMLElement;
  readonly actorId: string;
  private readonly client: RtmClient;
  private readonly network = new DemoNetwork();
  private readonly stateBadge: HTMLElement;
  private readonly log: HTMLElement;
  private readonly cutButton: HTMLButtonElement;
  private readonly peerInput: HTMLInputElement;
  private readonly textInput: HTMLInputElement;
  private readonly channelInput: HTMLInputElement;
  private readonly channels = new Map<string, RtmChannel>();

  constructor(sdk: Sdk, config: DemoConfig, timing: Partial<Timing>, producer: PageProducer, readonly uid: string) {
    const index = ++clientCount;
    this.client = new sdk.RtmClient({ url: config.rtmUrl, timing, inspect: producer.inspect, WebSocket: this.network.WebSocket });
    const actorId = producer.idOf(this.client.actor.sessionId);
    this.actorId = actorId;
    this.stateBadge = h('span', { class: 'client-state', 'data-state': this.client.connectionState }, this.client.connectionState);
    this.log = h('ul', { class: 'demo-log' });
    this.cutButton = h('button', { type: 'button', 'data-action': 'cut', 'data-cut': 'false', title: 'black-hole this client\'s network (no close is seen; the heartbeat notices)', onclick: () => this.toggleCut() }, 'Cut network');
    this.peerInput = h('input', { type: 'text', placeholder: 'peer uid', 'aria-label': 'peer uid', value: uid === 'demo-alice' ? 'demo-bob' : 'demo-alice' });
    this.textInput = h('input', { type: 'text', placeholder: 'message', 'aria-label': 'message', value: 'hello' });
    this.channelInput = h('input', { type: 'text', placeholder: 'channel', 'aria-label': 'channel', value: 'lobby' });
    const button = (label: string, action: string, run: () => Promise<unknown> | void, title?: string) =>
      h('button', { type: 'button', 'data-action': action, title, onclick: () => void this.attempt(label, run) }, label);
    this.element = h(
      'div',
      { class: 'demo-client', 'data-client': String(index), 'data-uid': uid, 'data-client-actor': actorId },
      h(
        'div',
        { class: 'demo-client-head' },
        h('strong', {}, `#${index} ${uid}`),
        this.stateBadge,
        h('a', { href: `#${encodeURIComponent(actorId)}`, class: 'muted', title: 'show this client\'s chart', onclick: () => setTimeout(() => window.dispatchEvent(new HashChangeEvent('hashchange')), 0) }, 'chart'),
      ),
      h(
        'div',
        { class: 'demo-actions' },
        button('Log in', 'login', () => this.login()),
        button('Log out', 'logout', () => this.client.logout()),
        this.cutButton,
        button('Drop link', 'drop', () => this.network.drop(), 'close the socket abruptly (reset)'),
        button('Kick (log in elsewhere)', 'kick', () => DemoClient.onKick(uid)),
        button('Ban', 'ban', () => post('/inspector/demo/ban', { uid })),
      ),
      h(
        'div',
        { class: 'demo-actions' },
        this.peerInput,
        button('Send to peer', 'peer', async () => {
          const result = await this.client.sendMessageToPeer({ text: this.textInput.value }, this.peerInput.value.trim(), { enableOfflineMessaging: true });
          this.note(`→ ${this.peerInput.value}: "${this.textInput.value}" (${result.hasPeerReceived ? 'received' : 'stored for later'})`);
        }),
      ),
      h(
        'div',
        { class: 'demo-actions' },
        this.channelInput,
        button('Join', 'join', () => this.join()),
        button('Send to channel', 'channel', async () => {
          const channel = this.channels.get(this.channelInput.value.trim());
          if (!channel) throw new Error('join the channel first');
          await channel.sendMessage({ text: this.textInput.value });
          this.note(`→ #${channel.channelId}: "${this.textInput.value}"`);
        }),
      ),
      h('div', { class: 'demo-actions' }, this.textInput),
      this.log,
    );
    this.client.on('ConnectionStateChanged', (state, reason) => {
      this.stateBadge.textContent = state;
      this.stateBadge.setAttribute('data-state', state);
      this.note(`state ${state} (${reason})`);
    });
    this.client.on('MessageFromPeer', (message, peerId, props) => {
      this.note(`← ${peerId}: "${message.text}"${props.isOfflineMessage ? ' (offline, replayed)' : ''}`);
    });
    this.client.on('TokenExpired', () => this.note('token expired'));
  }

  async login(): Promise<void> {
    await this.attempt('Log in', async () => {
      const { token } = await post<{ token: string }>('/inspector/demo/token', { uid: this.uid });
      await this.client.login({ uid: this.uid, token });
    });
  }

  private async join(): Promise<void> {
    const id = this.channelInput.value.trim();
    const channel = this.channels.get(id) ?? this.client.createChannel(id);
    if (!this.channels.has(id)) {
      this.channels.set(id, channel);
      channel.on('ChannelMessage', (message, memberId, props) => this.note(`← #${id} ${memberId}: "${message.text}"${props.isHistoricalMessage ? ' (replayed)' : ''}`));
      channel.on('MemberJoined', (memberId) => this.note(`#${id}: ${memberId} joined`));
      channel.on('MemberLeft', (memberId) => this.note(`#${id}: ${memberId} left`));
    }
    await channel.join();
    this.note(`joined #${id}: ${(await channel.getMembers()).join(', ')}`);
  }

  private toggleCut(): void {
    const cut = !this.network.isCut;
    this.network.setCut(cut);
    this.cutButton.textContent = cut ? 'Restore network' : 'Cut network';
    this.cutButton.setAttribute('data-cut', String(cut));
    this.note(cut ? 'network cut' : 'network restored');
  }

  private async attempt(label: string, run: () => Promise<unknown> | void): Promise<void> {
    try {
      await run();
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.note(`${label} failed: ${code ? `${code}: ` : ''}${(error as Error).message}`, true);
    }
  }

  private note(text: string, error = false): void {
    const time = new Date().toLocaleTimeString();
    this.log.prepend(h('li', { class: error ? 'error' : '' }, `${time} ${text}`));
    while (this.log.childElementCount > 50) this.log.lastElementChild?.remove();
  }
}
