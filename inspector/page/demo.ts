export function mountDemo(slot: HTMLElement): void { slot.textContent = "demo (soon)"; }
