// The administration console at /admin (docs/console.md): what the rest of yihao wires in.
export { consoleRoutes, type ConsoleDeps } from './routes.ts';
export { consoleClientMetadata, CONSOLE_CLIENT_ID, CONSOLE_PATHS } from './client.ts';
