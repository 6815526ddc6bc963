export { FileHoles } from './file-holes.js';
