/**
 * A small typed event emitter (`on` / `once` / `off`) that runs in browsers and Node alike.
 * A listener that throws does not stop the others or the SDK; its error is logged.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ListenerMap<Events> = { [K in keyof Events]: (...args: any[]) => void };

export class TypedEmitter<Events extends ListenerMap<Events>> {
  private readonly listeners = new Map<keyof Events, Array<{ listener: Events[keyof Events]; once: boolean }>>();

  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    return this.add(event, listener, false);
  }

  once<K extends keyof Events>(event: K, listener: Events[K]): this {
    return this.add(event, listener, true);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const index = list.findIndex((entry) => entry.listener === listener);
    if (index >= 0) list.splice(index, 1);
    return this;
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return;
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.listener as Events[K]);
      try {
        entry.listener(...args);
      } catch (error) {
        console.error(`rtm-statechart: a ${String(event)} listener threw`, error);
      }
    }
  }

  private add<K extends keyof Events>(event: K, listener: Events[K], once: boolean): this {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const list = this.listeners.get(event) ?? [];
    list.push({ listener, once });
    this.listeners.set(event, list);
    return this;
  }
}
