export { startFileServer, type FileServer, type FileServerOptions } from './file-server.js';
