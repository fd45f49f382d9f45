// The public MQTT contract in one import, for anything that speaks it (the simulated central, a
// satellite board, tools): topic builders, payload types per topic, and the shipped validators.
// The contract is a leaf: it imports the queue's data types and nothing of the bridge.
export {
  officeTopics,
  parseTopic,
  responseTopic,
  ROOT,
  type OfficeTopics,
  type ParsedTopic,
  type Topic,
  type TopicKind,
} from './topics.ts';
export {
  COMMAND_TYPES,
  type Command,
  type CommandError,
  type CommandErrorCode,
  type CommandResult,
  type CommandResultCode,
  type CommandType,
  type DeviceStatus,
  type OutboxStatus,
  type PayloadOf,
  type SystemStatus,
  type TopicPayloads,
} from './types.ts';
export { encodePayload } from './payload.ts';
export { loadSchemaFiles, SCHEMA_DIR, TOPIC_SCHEMA, validator, validatorFor } from './schemas.ts';
