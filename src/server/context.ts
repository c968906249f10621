/** What every service of one server node shares: configuration, store, logger and the local registry. */
import type { NodeBus } from './bus/node-bus.js';
import type { Connection } from './connection.js';
import type { LocalSession, SessionHost } from './local-session.js';
import type { RtmLogger } from './logger.js';
import type { ServerConfig } from './options.js';
import type { RtmStore, SendOutcome } from './store/store.js';

export interface ServerContext {
  readonly config: ServerConfig;
  readonly store: RtmStore;
  /** What this node tells the other nodes (LocalBus when alone). */
  readonly bus: NodeBus;
  readonly logger: RtmLogger;
  /** Sessions held by this node, by uid. */
  readonly sessions: Map<string, LocalSession>;
  /** Open sockets of this node. */
  readonly connections: Set<Connection>;
  /** The parent of every session actor of this node (see LocalSession). */
  readonly sessionHost: SessionHost;
  /** Sends being processed, by de-duplication key, so that a retry racing its original waits for it. */
  readonly inflightSends: Map<string, Promise<SendOutcome>>;
  /** The store's history epoch (see RtmStore.epoch) at start; answers ask the store again, as a shared store may be emptied under the node. */
  readonly epoch: string;
}

/** Runs `task` after every earlier task for the same key has settled (per-uid login/resume/ban ordering). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
