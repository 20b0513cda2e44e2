import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { PortSpec } from './port-spec.ts';

describe('PortSpec', () => {
  it.each([
    ['80', '80', 1],
    ['1-1000', '1-1000', 1000],
    ['22,80,443,8000-8100', '22,80,443,8000-8100', 104],
    ['443,80,22', '22,80,443', 3],
    ['80,22,20-25', '20-25,80', 7],
    ['20-25,26', '20-26', 7],
    ['10-20,15-30,5', '5,10-30', 22],
    ['80,80,80', '80', 1],
    [' 22 , 80 ', '22,80', 2],
    ['1-65535', '1-65535', 65_535],
    ['65535', '65535', 1],
  ])('normalizes %j to %j', (raw, canonical, count) => {
    const spec = PortSpec.parse(raw);
    expect(spec.toString()).toBe(canonical);
    expect(spec.count).toBe(count);
    expect(PortSpec.parse(spec.toString()).toString()).toBe(canonical);
  });

  it.each(['', ' ', ',', '80,', '0', '65536', '99999', '100-10', '-5', '5-', 'http', '80;443', '1.5', '0x50', '1-2-3', '123456'])(
    'refuses %j naming the ports field',
    (raw) => {
      const attempt = () => PortSpec.parse(raw);
      expect(attempt).toThrow(InvalidInputError);
      try {
        attempt();
      } catch (error) {
        expect((error as InvalidInputError).field).toBe('ports');
      }
    },
  );

  it('lists its ports in order and answers membership', () => {
    const spec = PortSpec.parse('8000-8002,22');
    expect([...spec.ports()]).toEqual([22, 8000, 8001, 8002]);
    expect(spec.has(8001)).toBe(true);
    expect(spec.has(23)).toBe(false);
  });
});
