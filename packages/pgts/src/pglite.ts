// @tsvirt/pgts/pglite: the PGlite driver (needs `@electric-sql/pglite`).
export { pgliteDatabase } from './runtime/pglite-driver.js';
