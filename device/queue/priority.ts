// Whether a priority (교통약자) ticket of a service goes ahead of its ordinary ones. One rule for the
// queue, which orders by it, and for the printed ticket, which must not promise a priority the
// queue does not give (a priority button on a service with `priority: false`, or
// `policy.priority: off`).
import type { Config, ServiceConfig } from '../config/schema.ts';

export function priorityHonoured(policy: Config['policy'], service: Pick<ServiceConfig, 'priority'>): boolean {
  return policy.priority === 'first' && service.priority;
}
