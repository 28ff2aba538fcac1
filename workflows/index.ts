// The workflow bundle's entry point: every workflow type the worker registers.
export { indicatorWorkflow } from './indicator';
export { quarantineWorkflow } from './quarantine';
