// Anomaly signals from login outcomes: what the rest of yihao wires in (docs/console.md).
export { anomalyDetectorFor, createAnomalyDetector, startAnomalySweeper, type AnomalyDetector, type AnomalySink, type Anomaly } from './detector.ts';
export { ANOMALY_TYPES, DEFAULT_THRESHOLDS, SIGNALS, type LoginObservation, type Signal, type Thresholds } from './signals.ts';
export { createDbAnomalyStore, createRedisAnomalyStore, type AnomalyStore } from './store.ts';
