export * from './protocol/procedures.generated.js';
