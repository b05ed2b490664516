import { describe, expect, it } from '@jest/globals';
import { depthCurves, spreadAndMid } from './book-figures.js';

describe('spreadAndMid', () => {
  it('is exact in the market decimals, the mid one more (half a tick)', () => {
    expect(spreadAndMid('65000.0', '65000.5', 0.5, 1)).toEqual({
      spread: '0.5',
      mid: '65000.25',
      bps: '0.08',
    });
    expect(spreadAndMid('3500.05', '3500.10', 0.05, 2)).toEqual({
      spread: '0.05',
      mid: '3500.075',
      bps: '0.14',
    });
  });
});

describe('depthCurves', () => {
  const values = (points: Array<{ time: number; value?: number }>) =>
    points.map((p) => [p.time, p.value ?? null]);

  it('accumulates bids downwards and asks upwards, one point per tick, blank on the other side', () => {
    const bids: Array<[string, string]> = [
      ['10.0', '1'],
      ['9.5', '2'],
      ['8.5', '4'],
    ];
    const asks: Array<[string, string]> = [
      ['11.0', '3'],
      ['12.0', '1'],
    ];
    const curves = depthCurves(bids, asks, 0.5, 1);
    expect(values(curves.bids)).toEqual([
      [8.5, 7],
      [9, 3],
      [9.5, 3],
      [10, 1],
      [10.5, null],
      [11, null],
      [11.5, null],
      [12, null],
    ]);
    expect(values(curves.asks)).toEqual([
      [8.5, null],
      [9, null],
      [9.5, null],
      [10, null],
      [10.5, null],
      [11, 3],
      [11.5, 3],
      [12, 4],
    ]);
  });

  it('is empty while a side is', () => {
    expect(depthCurves([], [['1.00', '1']], 0.01, 2)).toEqual({ bids: [], asks: [] });
  });
});
