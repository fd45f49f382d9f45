// A priority (교통약자) button's ticket says `교통약자 우선` only when the queue puts it ahead: on a
// service with `priority: false`, or with `policy.priority: off`, it waits in issue order, and a
// slip promising priority sent a citizen who needs it to wait believing they would be called first.
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../device/config/schema.ts';
import { prepareRenderer } from '../display/board/render.ts';
import { ticketJob } from '../display/ticket/ticket-job.ts';

function office(policy: 'first' | 'off', servicePriority: boolean) {
  return configSchema.parse({
    office: { id: 'yeoksam1', name: '역삼1동 행정복지센터' },
    policy: { priority: policy },
    services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 }, priority: servicePriority }],
    counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
    dispenser: {
      buttons: [
        { id: 'resident', service: 'resident' },
        { id: 'priority', service: 'resident', priority: true },
      ],
    },
  });
}

const at = '2026-11-26T10:42:05.123+09:00';
const pixels = (config: ReturnType<typeof office>, priority: boolean) =>
  Buffer.from(
    ticketJob(
      config,
      { number: '1007', service: 'resident', priority, ahead: 3, estimatedWaitMin: 9 },
      '2026-11-26',
      at,
    ).image.data,
  );

describe('the priority marker on a printed ticket', () => {
  beforeAll(() => prepareRenderer());

  it('is printed when the queue gives the ticket priority', () => {
    const config = office('first', true);
    expect(pixels(config, true).equals(pixels(config, false))).toBe(false);
  });

  it('is not printed on a service whose priority is off, nor with policy.priority off', () => {
    for (const config of [office('first', false), office('off', true)]) {
      expect(pixels(config, true).equals(pixels(config, false))).toBe(true);
    }
  });
});
