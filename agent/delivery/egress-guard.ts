// The guard is shared by delivery and the cloud metrics clients; it lives in collectors/core.
export * from '../../collectors/core/egress-guard.js';
