export { freeLoopbackPort, PG_BIN, startPostgres, type TestServer } from './server.js';
export { TEST_SCHEMA } from './pgts-schema.js';
