/**
 * Packets all `trafficEvents` subscribers of one process may be sent per
 * second, together: a token bucket that refills continuously and holds at most
 * a fifth of a second's worth. Delivering a packet to a subscriber costs far
 * more than decoding it (a GraphQL execution and JSON per subscriber), and a
 * worker in the same process shares its CPU: past the budget, packets wait in
 * each subscriber's bounded queue and are dropped there (counted), so watching
 * never starves capturing.
 */
export class DeliveryBudget {
  readonly perSecond: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(perSecond: number, now: () => number = () => performance.now()) {
    this.perSecond = perSecond;
    this.#capacity = Math.max(1, perSecond / 5);
    this.#tokens = this.#capacity;
    this.#now = now;
    this.#at = now();
  }

  /** Takes up to `wanted` packets' worth; returns how many may go now. */
  take(wanted: number): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    const granted = Math.min(wanted, Math.floor(this.#tokens));
    this.#tokens -= granted;
    return granted;
  }
}
