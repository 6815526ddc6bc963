// @tsvirt/pgts/pg: the node-postgres driver (needs `pg`).
export { pgDatabase } from './runtime/pg-driver.js';
