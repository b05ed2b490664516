import { describe, expect, it } from '@jest/globals';
import { ReferenceBook, seeded, type Level } from '../../../../test/support/reference-book.js';
import { ValueReferenceBook, spellingsOf } from '../../../../test/support/value-reference-book.js';
import { OrderBookSequencer } from './order-book-sequencer.js';

const SYMBOL = 'MIXUSDT';

/** A price from a small pool, so that one value comes often, each time spelled at random. */
function randomLevel(random: () => number, lowCents: number): Level {
  const cents = lowCents + Math.floor(random() * 40);
  const spellings = spellingsOf((cents / 100).toFixed(2));
  const price = spellings[Math.floor(random() * spellings.length)]!;
  const quantity =
    random() < 0.35
      ? ['0', '0.000', '00.0'][Math.floor(random() * 3)]!
      : (random() * 10 + 0.001).toFixed(3);
  return [price, quantity];
}

const levels = (random: () => number, count: number, lowCents: number) =>
  Array.from({ length: count }, () => randomLevel(random, lowCents));

/** A client that follows docs/PROTOCOL.md to the letter: levels keyed by the string received. */
function docClient(snapshot: { bids: Level[]; asks: Level[] }): ReferenceBook {
  const client = new ReferenceBook();
  client.apply('bids', snapshot.bids);
  client.apply('asks', snapshot.asks);
  return client;
}

function expectNoMissingQuantity(sides: { bids: Level[]; asks: Level[] }): void {
  for (const [price, quantity] of [...sides.bids, ...sides.asks]) {
    expect({ price, quantity: typeof quantity }).toEqual({ price, quantity: 'string' });
  }
}

describe('order books with a price written more than one way', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'keep every client that follows the docs on the gateway checksum, replays without null (seed %i)',
    (seed) => {
      const random = seeded(seed);
      const books = new OrderBookSequencer(1000);
      const truth = new ValueReferenceBook();
      const clients: ReferenceBook[] = [];
      let lastUpdateId = 100;

      const snapshot = () => {
        const bids = levels(random, 25, 9000);
        const asks = levels(random, 25, 10000);
        truth.reset(bids, asks);
        const sent = books.snapshot({ symbol: SYMBOL, lastUpdateId, bids, asks });
        expectNoMissingQuantity(sent);
        expect(sent.checksum).toBe(truth.checksum());
        clients.length = 0;
        clients.push(docClient(sent));
      };

      snapshot();
      for (let step = 0; step < 1500; step++) {
        if (step % 400 === 399) snapshot();
        const bids = levels(random, Math.floor(random() * 8), 9000);
        const asks = levels(random, Math.floor(random() * 8), 10000);
        const count = Math.max(1, bids.length + asks.length);
        // Now and then an update that overlaps the book's last ids.
        const overlap = random() < 0.1 ? 1 + Math.floor(random() * 3) : 0;
        const verdict = books.update({
          symbol: SYMBOL,
          firstUpdateId: lastUpdateId + 1 - overlap,
          lastUpdateId: lastUpdateId + count,
          bids,
          asks,
        });
        lastUpdateId += count;
        truth.apply('bids', bids);
        truth.apply('asks', asks);
        if (!('forward' in verdict)) throw new Error(`held back: ${verdict.heldBack}`);
        const sent = verdict.forward;
        expect(sent.firstUpdateId).toBe(lastUpdateId - count + 1);
        expect(sent.checksum).toBe(truth.checksum());
        for (const client of clients) {
          client.apply('bids', sent.bids);
          client.apply('asks', sent.asks);
          expect(client.checksum()).toBe(sent.checksum);
        }

        if (step % 25 === 0) {
          const replay = books.current(SYMBOL)!;
          expectNoMissingQuantity(replay);
          expect(replay.bids).toEqual(truth.sorted('bids'));
          expect(replay.asks).toEqual(truth.sorted('asks'));
          expect(replay.checksum).toBe(truth.checksum());
          // A late subscriber starts from the replay and must stay in step too.
          if (clients.length < 8) clients.push(docClient(replay));
        }
      }
      for (const client of clients) {
        expect(client.sorted('bids')).toEqual(truth.sorted('bids'));
        expect(client.sorted('asks')).toEqual(truth.sorted('asks'));
      }
    },
  );
});
