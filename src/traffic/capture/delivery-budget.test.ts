import { describe, expect, it } from 'vitest';
import { DeliveryBudget } from './delivery-budget.ts';

describe('the delivery budget', () => {
  it('grants a fifth of a second at once, then refills at its rate, never beyond that', () => {
    let now = 0;
    const budget = new DeliveryBudget(1_000, () => now);
    expect(budget.take(500)).toBe(200);
    expect(budget.take(10)).toBe(0);
    now += 100;
    expect(budget.take(500)).toBe(100);
    now += 10_000;
    expect(budget.take(5_000)).toBe(200);
  });

  it('shares one rate between its takers', () => {
    let now = 0;
    const budget = new DeliveryBudget(10_000, () => now);
    budget.take(Number.POSITIVE_INFINITY);
    let granted = 0;
    for (let tick = 0; tick < 100; tick++) {
      now += 10;
      for (let subscriber = 0; subscriber < 100; subscriber++) granted += budget.take(1_000);
    }
    expect(granted).toBe(10_000);
  });
});
