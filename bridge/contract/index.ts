// The public MQTT contract in one import, for anything that speaks it (the simulated central, a
// satellite board, tools): topic builders, payload types per topic, and the shipped validators.
export { officeTopics, parseTopic, ROOT, type OfficeTopics, type ParsedTopic, type TopicKind } from './topics.ts';
export type {
  Command,
  CommandError,
  CommandResult,
  CommandType,
  DeviceStatus,
  OutboxStatus,
  SystemStatus,
  TopicPayloads,
} from './types.ts';
export { loadSchemaFiles, SCHEMA_DIR, TOPIC_SCHEMA, validator, validatorFor } from './schemas.ts';
export { COMMAND_TYPES } from '../commands/validate.ts';
