// CAS for apps that only speak CAS: what the rest of yihao wires in (see docs/cas.md).
export { casRoutes, type CasDeps } from './routes.ts';
export { withCasClients, casAwareMetadata } from './internal-client.ts';
export { isCasRegistration, parseCasRegistration, type CasRegistration } from './registration.ts';
