import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkajs } from '../../../src/sinks/kafka/kafkajs_client.js';

// kafkajs's request queue, as the Kafka sink loads it (src/sinks/kafka/kafkajs_client.ts corrects its
// idle timer). Driven directly: the queue is what each broker connection holds.

const require = createRequire(import.meta.url);

interface Queue {
  pending: { correlationId: number; expectResponse: boolean; send(): void; completed(r: unknown): void }[];
  inflight: Map<number, unknown>;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  destroy(): void;
}

function queue(): Queue {
  kafkajs();
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => Queue;
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  return new RequestQueue({ clientId: 't', broker: 'b:9092', logger, maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false });
}

describe('kafkajs client', () => {
  it('an idle request queue arms no timer: no TimeoutNegativeWarning, no 1 ms loop for the life of a connection', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const q = queue();
    try {
      q.checkPendingRequests(); // what every fulfilled request does
      assert.equal(q.throttleCheckTimeoutId, null, 'a timer was armed with nothing waiting');
      await sleep(20);
      assert.deepEqual(warnings.filter((w) => w === 'TimeoutNegativeWarning'), []);
    } finally {
      q.destroy(); // kafkajs's own loop would otherwise keep this process alive
      process.off('warning', onWarning);
    }
  });

  it('a request waiting behind a broker throttle is sent when the throttle ends', async () => {
    const q = queue();
    try {
      let sent = 0;
      q.throttledUntil = Date.now() + 40;
      q.pending.push({ correlationId: 1, expectResponse: false, send: () => void sent++, completed: () => {} });
      q.checkPendingRequests();
      assert.equal(sent, 0, 'sent while throttled');
      assert.notEqual(q.throttleCheckTimeoutId, null, 'no check armed for the waiting request');
      await sleep(120);
      assert.equal(sent, 1);
      assert.equal(q.pending.length, 0);
      assert.equal(q.throttleCheckTimeoutId, null, 'a timer stayed armed after the queue emptied');
    } finally {
      q.destroy();
    }
  });
});
